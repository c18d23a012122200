"""Control messages between the processes that share a bus: "cancel run X".

A run is executed by the process that started it; another process serving the
same bus (a second ``streamllm serve`` behind one address) can only ask. It
puts a cancel request on the bus's control channel; every process listens on
it and cancels the run if it is one of its own (the others ignore it). The run
then ends as any cancelled run does, with its terminal ``LLMError`` on the bus.

- :class:`RedisControl`: the stream ``streamllm:control`` on the bus's Redis
  (its connection and URL handling, capped at ``MAXLEN`` entries). A listener
  reads from the newest entry when it starts: requests older than it are not
  for its runs.
- :class:`MemoryControl`: the same between apps sharing one ``MemoryBus``.

>>> from streamllm.bus import MemoryBus
>>> control = control_for(MemoryBus())
>>> type(control).__name__
'MemoryControl'
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final, Protocol, final
from uuid import UUID

from streamllm.bus.errors import translated
from streamllm.bus.memory import MemoryBus

__all__ = ["CONTROL_KEY", "Control", "MemoryControl", "RedisControl", "control_for"]

log = logging.getLogger(__name__)

CONTROL_KEY: Final = "streamllm:control"
MAXLEN: Final = 1000
_BLOCK_MS: Final = 1000
_RETRY_S: Final = 1.0


class Control(Protocol):
    """A channel of cancel requests shared by the processes of one bus."""

    async def request_cancel(self, run_id: UUID) -> None:
        """Ask whichever process runs ``run_id`` to cancel it."""
        ...

    def cancels(self) -> AsyncIterator[UUID]:
        """The run ids other processes (or this one) asked to cancel, from now on."""
        ...


def control_for(bus: Any) -> Control | None:
    """The control channel of ``bus``; None for a bus that has none."""
    if isinstance(bus, MemoryBus):
        return MemoryControl(bus)
    from streamllm.bus.redis_bus import RedisBus

    if isinstance(bus, RedisBus):
        return RedisControl(bus)
    return None


# Listeners per MemoryBus: (their loop, their queue), so apps on other loops hear too.
_Listeners = set[tuple[asyncio.AbstractEventLoop, "asyncio.Queue[UUID]"]]
_MEMORY: weakref.WeakKeyDictionary[MemoryBus, _Listeners] = weakref.WeakKeyDictionary()


@final
class MemoryControl:
    """Cancel requests between the apps of one process that share a ``MemoryBus``."""

    __slots__ = ("_listeners",)

    def __init__(self, bus: MemoryBus) -> None:
        self._listeners = _MEMORY.setdefault(bus, set())

    async def request_cancel(self, run_id: UUID) -> None:
        for loop, queue in tuple(self._listeners):
            try:
                loop.call_soon_threadsafe(queue.put_nowait, run_id)
            except RuntimeError:  # that loop is closed: its listener is gone
                self._listeners.discard((loop, queue))

    async def cancels(self) -> AsyncIterator[UUID]:
        queue: asyncio.Queue[UUID] = asyncio.Queue()
        listener = (asyncio.get_running_loop(), queue)
        self._listeners.add(listener)
        try:
            while True:
                yield await queue.get()
        finally:
            self._listeners.discard(listener)


@final
class RedisControl:
    """Cancel requests on the stream ``streamllm:control`` of a ``RedisBus``."""

    __slots__ = ("_bus",)

    def __init__(self, bus: Any) -> None:
        self._bus = bus

    async def request_cancel(self, run_id: UUID) -> None:
        """Raises :class:`~streamllm.bus.BusError` when Redis does not take it."""
        bus = self._bus
        client = await bus._aclient()
        with translated(bus._url, "sending a cancel request"):
            await client.execute_command(
                "XADD", CONTROL_KEY, "MAXLEN", "~", MAXLEN, "*",
                "op", "cancel", "run_id", str(run_id),
            )  # fmt: skip

    async def cancels(self) -> AsyncIterator[UUID]:
        """Requests from now on. Redis going away is logged and waited out
        (requests made meanwhile are read when it is back, if still kept)."""
        bus = self._bus
        last: str | None = None
        while True:
            try:
                client = await bus._aclient()
                with translated(bus._url, "reading cancel requests"):
                    if last is None:
                        newest = await client.execute_command(
                            "XREVRANGE", CONTROL_KEY, "+", "-", "COUNT", 1
                        )
                        last = newest[0][0] if newest else "0-0"
                    reply = await client.execute_command(
                        "XREAD", "BLOCK", _BLOCK_MS, "STREAMS", CONTROL_KEY, last
                    )
            except Exception as exc:  # BusError, or a loop shutting down under us
                log.warning("cancel requests: %s", exc)
                await asyncio.sleep(_RETRY_S)
                continue
            for entry_id, fields in _entries(reply):
                last = entry_id
                run_id = _cancelled(fields)
                if run_id is not None:
                    yield run_id


def _entries(reply: Any) -> list[tuple[str, Any]]:
    """XREAD's entries of the one stream read."""
    from streamllm.bus.follow import pairs

    return [(entry_id, fields) for _, entries in pairs(reply) for entry_id, fields in entries]


def _cancelled(fields: Any) -> UUID | None:
    """The run id of a well-formed cancel request; None for anything else."""
    if not isinstance(fields, Mapping) or fields.get("op") != "cancel":
        return None
    try:
        return UUID(str(fields.get("run_id")))
    except ValueError:
        return None
