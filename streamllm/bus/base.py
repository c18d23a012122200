"""The interface every bus has: :class:`Bus`.

``MemoryBus`` (in-process) and ``RedisBus`` (across processes) implement it;
code written against a ``Bus`` runs on either.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any
from uuid import UUID

from streamllm.bus.entries import EntriesLost, Item
from streamllm.bus.runs import RunInfo
from streamllm.events import BaseEvent, Event

__all__ = ["Bus", "LostCallback", "as_uuid"]

#: Told about entries a consumer will never see (trimmed, dropped, expired).
LostCallback = Callable[[EntriesLost], object]


def as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


class Bus(ABC):
    """Events across processes: publish, subscribe (replay then live), consume.

    >>> bus = MemoryBus()                                   # doctest: +SKIP
    >>> model.invoke("hi", callbacks=[BusPublisher(bus)])   # doctest: +SKIP
    >>> for entry_id, event in bus.subscribe(trace_id):     # doctest: +SKIP
    ...     print(entry_id, event.type)
    """

    @abstractmethod
    def publish(self, event: BaseEvent) -> str:
        """Write one event now (raising :class:`BusError` when that fails); its entry id."""

    @abstractmethod
    async def apublish(self, event: BaseEvent) -> str:
        """:meth:`publish` for async code."""

    @abstractmethod
    def prepared(self, events: Sequence[BaseEvent], notices: Sequence[EntriesLost] = ()) -> Any:
        """A batch for :meth:`send`: ``notices`` (deltas the caller dropped) first,
        then ``events``, each given its entry id now."""

    @abstractmethod
    def send(self, batch: Any) -> None:
        """Write what of ``batch`` is not written yet (raising :class:`BusError`).

        Safe to call again with the same batch after a failure: entries that
        made it are not written twice. This is what :class:`BusPublisher`'s
        writer calls.
        """

    def write(self, events: Sequence[BaseEvent], notices: Sequence[EntriesLost] = ()) -> None:
        """Write a batch of events in order, now."""
        self.send(self.prepared(events, notices))

    @abstractmethod
    def read(self, trace_id: UUID | str, after: str = "0") -> list[tuple[str, Item]]:
        """What the trace's stream holds after ``after`` now, without waiting."""

    @abstractmethod
    def subscribe(
        self, trace_id: UUID | str | None = None, after: str = "0"
    ) -> Iterator[tuple[str, Item]]:
        """Yield ``(entry_id, event)``: the entries after ``after`` (``"0"`` all,
        ``"$"`` only new ones, or an entry id), then new ones as they come.

        With a ``trace_id`` the iterator ends after the root's terminal event;
        without, it follows every trace until closed. A gap (entries trimmed
        away before they were read) shows as an :class:`EntriesLost` notice.
        """

    @abstractmethod
    def asubscribe(
        self, trace_id: UUID | str | None = None, after: str = "0"
    ) -> AsyncIterator[tuple[str, Item]]:
        """:meth:`subscribe` for async code."""

    @abstractmethod
    def runs(self, limit: int = 100) -> list[RunInfo]:
        """Recent runs, newest first, with their state."""

    async def aruns(self, limit: int = 100) -> list[RunInfo]:
        """:meth:`runs` for async code."""
        return self.runs(limit)

    @abstractmethod
    def consume(
        self,
        group: str,
        consumer: str,
        handlers: Iterable[object],
        *,
        stop: threading.Event | None = None,
        on_lost: LostCallback | None = None,
        start: str = "$",
    ) -> None:
        """Hand every trace's events to ``handlers``, as one member of ``group``.

        Each trace goes to one consumer of the group at a time, in order; every
        event is handled once by the group. Entries the group can no longer
        read (trimmed, expired) go to ``on_lost`` as :class:`EntriesLost`. A
        new group starts with the traces that start after it (``start="$"``)
        or with every trace the bus holds (``"0"``). Runs until ``stop`` is set.
        """

    async def aconsume(
        self,
        group: str,
        consumer: str,
        handlers: Iterable[object],
        *,
        on_lost: LostCallback | None = None,
    ) -> None:
        """:meth:`consume` for async code: runs until cancelled (or the bus fails).

        The consumer runs on a thread of its own (async handlers on that
        thread's loop), so a slow handler never holds up the caller's loop;
        cancelling stops it after the read in progress.
        """
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()
        stop = threading.Event()

        def settle(error: BaseException | None) -> None:
            if finished.done():
                return
            if error is None:
                finished.set_result(None)
            else:
                finished.set_exception(error)

        def work() -> None:
            error: BaseException | None = None
            try:
                self.consume(group, consumer, handlers, stop=stop, on_lost=on_lost)
            except BaseException as exc:  # handed to the awaiting task
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(settle, error)

        threading.Thread(target=work, name=f"streamllm-bus-{consumer}", daemon=True).start()
        try:
            await finished
        finally:
            stop.set()

    def replay_events(self, trace_id: UUID | str | None = None) -> Iterator[Event]:
        """The events the bus holds now, for ``replay(bus, handlers)``: one trace,
        or every trace of :meth:`runs`, oldest first."""
        traces = (
            [as_uuid(trace_id)]
            if trace_id is not None
            else [
                r.trace_id for r in reversed(self.runs(limit=1_000_000)) if r.parent_run_id is None
            ]
        )
        for trace in traces:
            for _, item in self.read(trace):
                if not isinstance(item, EntriesLost):
                    yield item

    def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Release connections (safe to call twice)."""

    async def aclose(self) -> None:
        """Release the async connections (safe to call twice)."""
        self.close()

    def __enter__(self) -> Bus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
