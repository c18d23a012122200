"""MemoryBus: the bus inside one process (the embedded default).

The same layout as Redis, in dictionaries: one capped stream per trace, an
index of run starts and terminals, entry ids ``<ms>-<n>``, expiry ``ttl``
seconds after the root's terminal event. Thread-safe; async subscribers are
woken on their own loop.
"""

from __future__ import annotations

import asyncio
import bisect
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import final
from uuid import UUID

from streamllm.bus.base import Bus, LostCallback, as_uuid
from streamllm.bus.cursor import Cursor
from streamllm.bus.dispatch import Dispatcher
from streamllm.bus.entries import EntriesLost, Item, Numbering, is_root_terminal, split
from streamllm.bus.runs import RunInfo, fold, index_fields
from streamllm.events import BaseEvent

__all__ = ["MemoryBus"]


@final
class _Stream:
    __slots__ = ("expires", "ids", "items", "keys")

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.keys: list[tuple[int, int]] = []
        self.items: list[Item] = []
        self.expires: float | None = None

    def after(self, entry_id: str) -> list[tuple[str, Item]]:
        start = bisect.bisect_right(self.keys, split(entry_id))
        return list(zip(self.ids[start:], self.items[start:], strict=True))


_Waiter = tuple[asyncio.AbstractEventLoop, asyncio.Event]


@final
class _Taken:
    """One trace in one consumer group: who has it, how far it is handled."""

    __slots__ = ("checkpoint", "done", "owner")

    def __init__(self, owner: str | None, checkpoint: str, done: bool) -> None:
        self.owner, self.checkpoint, self.done = owner, checkpoint, done


@final
class MemoryBus(Bus):
    """An in-process bus: the same interface and promises as ``RedisBus``.

    >>> bus = MemoryBus()
    >>> bus.runs()
    []
    """

    def __init__(
        self, *, maxlen: int = 10_000, ttl: float = 86_400.0, index_maxlen: int = 10_000
    ) -> None:
        self.maxlen, self.ttl, self.index_maxlen = maxlen, ttl, index_maxlen
        self._cond = threading.Condition()
        self._streams: dict[UUID, _Stream] = {}
        self._index: list[dict[str, str]] = []
        self._numbering = Numbering()
        # Async subscribers by the trace they follow (None: every trace), so a
        # write wakes only those who read it.
        self._waiters: dict[UUID | None, set[_Waiter]] = {}
        self._groups: dict[str, dict[UUID, _Taken]] = {}
        self._closed = False
        self._next_purge = 0.0

    def __repr__(self) -> str:
        return f"MemoryBus(traces={len(self._streams)})"

    # -- writing -------------------------------------------------------------

    def publish(self, event: BaseEvent) -> str:
        with self._cond:
            entry_id = self._append(event)
            self._wake((event.trace_id,))
        return entry_id

    async def apublish(self, event: BaseEvent) -> str:
        return self.publish(event)

    def prepared(
        self, events: Sequence[BaseEvent], notices: Sequence[EntriesLost] = ()
    ) -> tuple[BaseEvent | EntriesLost, ...]:
        return (*notices, *events)

    def send(self, batch: tuple[BaseEvent | EntriesLost, ...]) -> None:
        with self._cond:
            for item in batch:
                self._append(item)
            self._wake({item.trace_id: None for item in batch})

    def _append(self, event: BaseEvent | EntriesLost) -> str:
        now = time.monotonic()
        if now >= self._next_purge:
            self._purge(now)
        stream = self._streams.get(event.trace_id)
        if stream is None:
            stream = self._streams[event.trace_id] = _Stream()
        entry_id = self._numbering.next(event.trace_id)
        stream.ids.append(entry_id)
        stream.keys.append(split(entry_id))
        stream.items.append(event)  # type: ignore[arg-type]
        if len(stream.ids) > self.maxlen:
            cut = len(stream.ids) - self.maxlen
            del stream.ids[:cut], stream.keys[:cut], stream.items[:cut]
        if isinstance(event, EntriesLost):
            return entry_id
        fields = index_fields(event, entry_id)
        if fields is not None:
            self._index.append(fields)
            if len(self._index) > self.index_maxlen:
                del self._index[: len(self._index) - self.index_maxlen]
        if is_root_terminal(event):
            stream.expires = now + self.ttl
            self._numbering.forget(event.trace_id)
        return entry_id

    def _purge(self, now: float) -> None:
        self._next_purge = now + 1.0
        gone = [t for t, s in self._streams.items() if s.expires is not None and s.expires <= now]
        for trace in gone:
            del self._streams[trace]

    def _wake(self, traces: Iterable[UUID | None]) -> None:
        """Under the lock: wake the subscribers of ``traces`` (and of every trace)."""
        self._cond.notify_all()
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        for trace in (*traces, None):
            for waiter in list(self._waiters.get(trace, ())):
                loop, ready = waiter
                if loop is here:
                    ready.set()  # the writer runs on the subscriber's own loop
                    continue
                try:
                    loop.call_soon_threadsafe(ready.set)
                except RuntimeError:  # that loop is closed: its subscriber is gone
                    self._waiters[trace].discard(waiter)

    # -- reading -------------------------------------------------------------

    def read(self, trace_id: UUID | str, after: str = "0") -> list[tuple[str, Item]]:
        with self._cond:
            self._purge(time.monotonic())
            stream = self._streams.get(as_uuid(trace_id))
            return [] if stream is None else stream.after(Cursor(as_uuid(trace_id), after).last)

    def _cursors(self, trace_id: UUID | str | None, after: str) -> dict[UUID, Cursor]:
        """Under the lock: where each followed trace's reading starts."""
        traces = [as_uuid(trace_id)] if trace_id is not None else list(self._streams)
        cursors = {}
        for trace in traces:
            stream = self._streams.get(trace)
            if after == "$":
                cursor = Cursor(trace, stream.ids[-1] if stream and stream.ids else "0")
            else:
                foreign = trace_id is None and after not in ("0", "0-0")
                cursor = Cursor(trace, after, expect=None if foreign else -1)
            if stream is not None and stream.ids:
                cursor.check_over((stream.ids[-1], stream.items[-1]))
            cursors[trace] = cursor
        return cursors

    def _poll(self, cursors: dict[UUID, Cursor], follow_new: bool) -> list[tuple[str, Item]]:
        """Under the lock: what is new for the cursors (adding cursors for new traces)."""
        if follow_new:
            for trace in self._streams:
                if trace not in cursors:
                    cursors[trace] = Cursor(trace, "0")
        now = time.monotonic()
        if now >= self._next_purge:
            self._purge(now)
        out: list[tuple[str, Item]] = []
        for trace, cursor in cursors.items():
            stream = self._streams.get(trace)
            if cursor.ended:
                continue
            if stream is not None:
                out.extend(cursor.feed(stream.after(cursor.last)))
            elif not follow_new and self._root_ended(trace):
                out.append(cursor.expired())  # gone: waiting for it would never end
        return out

    def _root_ended(self, trace: UUID) -> bool:
        key = str(trace)
        for fields in reversed(self._index):
            if fields["trace"] == fields["run"] == key:
                return fields["phase"] != "start"
        return False

    def subscribe(
        self, trace_id: UUID | str | None = None, after: str = "0"
    ) -> Iterator[tuple[str, Item]]:
        with self._cond:
            cursors = self._cursors(trace_id, after)
        while True:
            with self._cond:
                batch = self._poll(cursors, trace_id is None)
                if not batch and not self._done(cursors, trace_id):
                    self._cond.wait(0.5)
                    continue
            yield from batch
            if self._done(cursors, trace_id):
                return

    async def asubscribe(
        self, trace_id: UUID | str | None = None, after: str = "0"
    ) -> AsyncIterator[tuple[str, Item]]:
        ready = asyncio.Event()
        waiter = (asyncio.get_running_loop(), ready)
        key = None if trace_id is None else as_uuid(trace_id)
        with self._cond:
            cursors = self._cursors(trace_id, after)
            self._waiters.setdefault(key, set()).add(waiter)
        try:
            while True:
                ready.clear()
                with self._cond:
                    batch = self._poll(cursors, trace_id is None)
                for item in batch:
                    yield item
                if self._done(cursors, trace_id):
                    return
                if not batch:
                    await ready.wait()
        finally:
            with self._cond:
                waiters = self._waiters.get(key, set())
                waiters.discard(waiter)
                if not waiters:
                    self._waiters.pop(key, None)

    def _done(self, cursors: dict[UUID, Cursor], trace_id: UUID | str | None) -> bool:
        if self._closed:
            return True
        return trace_id is not None and all(c.ended for c in cursors.values())

    def runs(self, limit: int = 100) -> list[RunInfo]:
        with self._cond:
            return fold(list(self._index), limit)

    # -- consumer groups -----------------------------------------------------

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
        """In-process consumer groups: each trace is taken by one consumer at a
        time, which hands its events to ``handlers`` in order; the group's
        checkpoint per trace means no event is handled twice by the group.
        A new group starts with the traces that start after it (``start="$"``)
        or with every trace the bus holds (``start="0"``)."""
        dispatch = Dispatcher(handlers)
        stop = stop or threading.Event()
        mine: dict[UUID, Cursor] = {}
        with self._cond:
            if group not in self._groups:
                self._groups[group] = {
                    t: _Taken(None, "$", True) for t in (self._streams if start == "$" else ())
                }
            state = self._groups[group]
        try:
            while not stop.is_set() and not self._closed:
                with self._cond:
                    for trace in self._streams:
                        taken = state.setdefault(trace, _Taken(None, "0", False))
                        if taken.owner is None and not taken.done:
                            taken.owner = consumer
                            mine[trace] = Cursor(trace, taken.checkpoint)
                    work = self._poll(mine, False)
                    if not work:
                        self._cond.wait(0.2)
                        continue
                for entry_id, item in work:
                    if isinstance(item, EntriesLost):
                        if on_lost is not None:
                            on_lost(item)
                    else:
                        dispatch(item)
                    with self._cond:
                        state[item.trace_id].checkpoint = entry_id
                with self._cond:
                    for trace, cursor in list(mine.items()):
                        if cursor.ended:
                            state[trace].done = True
                            del mine[trace]
        finally:
            dispatch.close()
            with self._cond:
                for trace in mine:  # another consumer of the group goes on from the checkpoint
                    state[trace].owner = None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._wake(list(self._waiters))
