"""What the web app needs of a bus, the same for ``MemoryBus`` and ``RedisBus``.

The app subscribes to one trace per client, asks which runs exist, and attaches
one publishing handler to every run it starts. In one process the
``MemoryBus`` is written inline (it never blocks and never drops, so every
client sees every token); any other bus goes through ``BusPublisher``, whose
bounded buffer keeps a slow Redis off the model's path.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncGenerator
from typing import Any, Final, final

__all__ = ["BusView", "publisher_for"]

_ENTRY_ID: Final = re.compile(r"0|\$|\d{1,20}-\d{1,20}")
_WHOLE_INDEX: Final = 1_000_000
_GRACE: Final = 2.0


def publisher_for(bus: Any) -> object:
    """The handler that publishes a run's events to ``bus``."""
    from streamllm.bus import BusPublisher, MemoryBus

    if isinstance(bus, MemoryBus):
        return bus.publish
    return BusPublisher(bus)


@final
class BusView:
    """The bus as the web app reads it: runs by id string, entries of one run."""

    __slots__ = ("_bus", "_local")

    def __init__(self, bus: Any) -> None:
        from streamllm.bus import MemoryBus

        self._bus = bus
        # In one process every run is written before anyone can ask for it.
        self._local = isinstance(bus, MemoryBus)

    @staticmethod
    def valid_entry_id(after: str) -> bool:
        """``0`` (from the start), ``$`` (only what comes next) or an entry id ``<ms>-<n>``."""
        return _ENTRY_ID.fullmatch(after) is not None

    def subscribe(self, run_id: str, after: str) -> AsyncGenerator[tuple[str, Any], None]:
        """The run's entries after ``after``, then live, until its terminal event."""
        entries: AsyncGenerator[tuple[str, Any], None] = self._bus.asubscribe(
            trace_id=uuid.UUID(run_id), after=after
        )
        return entries

    async def runs(self) -> list[dict[str, Any]]:
        """The root runs the bus knows of, newest first, as the page lists them."""
        return [
            {
                "run_id": str(info.run_id),
                "trace_id": str(info.trace_id),
                "title": info.name,
                "state": "done" if info.state == "ended" else info.state,
                "started": info.started,
                "events_url": f"/runs/{info.run_id}/events",
            }
            for info in await self._infos()
            if info.parent_run_id is None
        ]

    async def has_run(self, run_id: str) -> bool:
        """Whether the bus knows the run. On a shared bus, a run another server
        started a moment ago may still be in its publisher's buffer: it gets
        ``_GRACE`` seconds to show up before it is unknown."""
        deadline = asyncio.get_running_loop().time() + (0.0 if self._local else _GRACE)
        while True:
            # The whole index, not the page's 100: an older run is still replayable.
            if any(str(i.run_id) == run_id for i in await self._infos(_WHOLE_INDEX)):
                return True
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.05)

    async def run_state(self, run_id: str) -> str | None:
        """The run's state in the bus's index (``running``, ``ended``, ``cancelled`` ...)."""
        info = next((i for i in await self._infos(_WHOLE_INDEX) if str(i.run_id) == run_id), None)
        return None if info is None else str(info.state)

    async def _infos(self, limit: int = 100) -> list[Any]:
        aruns = getattr(self._bus, "aruns", None)
        if aruns is not None:
            infos: list[Any] = await aruns(limit)
            return infos
        # A bus with only a sync runs() (MemoryBus answers at once).
        return list(self._bus.runs(limit))

    async def aclose(self, publisher: object) -> None:
        """Flush what the publisher still holds (server shutdown)."""
        flush = getattr(publisher, "flush", None)
        if flush is not None:
            await asyncio.to_thread(flush, 5.0)
        close = getattr(publisher, "close", None)
        if close is not None:
            await asyncio.to_thread(close)
