"""BusPublisher: a handler that puts every event on a bus without ever holding
up the model.

The model's thread only appends to a bounded buffer; one writer thread drains
it in batches (one pipeline of ``XADD``s per batch on Redis). The policy is
:class:`~streamllm.callbacks.background.BackgroundHandler`'s, with one
difference: the model never waits for room.

- Only deltas (event classes with ``droppable = True``: ``NewToken``) are
  ever dropped, when the buffer is full: the new one
  (``overflow="drop_newest"``, the default) or the oldest queued one
  (``"drop_oldest"``). Each is counted in ``dropped``, and the trace's stream
  gets a notice (:class:`EntriesLost`, ``why="dropped"``) of how many deltas
  of which run are missing, so readers in other processes are told too.
- Every other event (starts, ends, errors, block events) goes into the buffer
  even past its bound, and a batch that Redis did not take is sent again,
  with backoff, until Redis answers: such events are delayed, never lost,
  while the process lives. ``close(timeout)`` is the one place they can be
  given up (it says so, with the count, in an error record).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import deque
from typing import Literal, final
from uuid import UUID

from streamllm._log import get_logger
from streamllm.bus.base import Bus
from streamllm.bus.entries import EntriesLost
from streamllm.callbacks.base import CallbackHandler
from streamllm.errors import ConfigurationError
from streamllm.events import BaseEvent

__all__ = ["BusPublisher", "Overflow", "publisher_for_url"]

Overflow = Literal["drop_newest", "drop_oldest"]
_log = get_logger("streamllm.bus")
_LINGER = 0.0005  # the writer looks again this soon before it sleeps until woken
#: How long events may wait for a writer that wants the GIL before the model's
#: thread lets go of it once (see ``on_event``).
_NUDGE_AFTER = 0.00025
_clock = time.monotonic
# Releases the GIL around the call. time.sleep(0) would too, but it sleeps the
# timer slack (about 70 µs on Linux); sched_yield returns in about a microsecond.
_let_go = getattr(os, "sched_yield", None) or (lambda: time.sleep(0))


@final
class BusPublisher(CallbackHandler):
    """Publish every event of the runs it is attached to on ``bus``.

    >>> bus = RedisBus("redis://127.0.0.1:6379/0")            # doctest: +SKIP
    >>> publisher = BusPublisher(bus)                           # doctest: +SKIP
    >>> model.invoke("hi", callbacks=[publisher])               # doctest: +SKIP
    >>> publisher.flush(5.0)                                    # doctest: +SKIP
    True
    """

    def __init__(
        self,
        bus: Bus,
        maxsize: int = 10_000,
        overflow: Overflow = "drop_newest",
        *,
        batch: int = 512,
        max_backoff: float = 1.0,
        nudge: float | None = _NUDGE_AFTER,
    ) -> None:
        if maxsize < 1 or batch < 1:
            raise ConfigurationError(f"maxsize and batch must be at least 1 ({maxsize}, {batch})")
        if overflow not in ("drop_newest", "drop_oldest"):
            raise ConfigurationError(
                f"overflow must be 'drop_newest' or 'drop_oldest', not {overflow!r}"
            )
        self.bus = bus
        self.maxsize, self.overflow, self.batch = maxsize, overflow, batch
        self.max_backoff = max_backoff
        #: Seconds events may wait for the writer before the model's thread lets
        #: go of the GIL once (None: never; lower latency for some model-thread CPU).
        self.nudge = float("inf") if nudge is None else nudge
        #: Deltas dropped because the buffer was full.
        self.dropped = 0
        #: Batches the bus refused at least once (each was retried).
        self.failures = 0
        self._queue: deque[BaseEvent] = deque()
        self._lost: dict[tuple[UUID, UUID], int] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._sleeping = False
        self._since = 0.0  # when the oldest event the writer has not taken was queued
        self._busy = False
        self._closing = False
        self._abandon = threading.Event()
        self._exit_hook = False
        self._writer: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"BusPublisher({self.bus!r}, maxsize={self.maxsize}, overflow={self.overflow!r})"

    def on_event(self, event: BaseEvent) -> None:
        nudge = False
        with self._lock:
            if self._writer is None:
                self._start()
            queue = self._queue
            if not queue:
                self._since = _clock()
            elif len(queue) <= self.batch and _clock() - self._since >= self.nudge:
                self._since, nudge = _clock(), True
            if len(queue) >= self.maxsize and type(event).droppable:
                self._overflow(event)
            else:
                queue.append(event)
            if self._sleeping:
                self._sleeping = False
                self._wake.set()
        if nudge:
            # The writer was woken but has not run: it waits for the GIL, which
            # a busy model thread (an event loop streaming many runs) hands over
            # only every switch interval (5 ms by default). Letting go once here
            # (about a microsecond when nobody takes it) lets the writer send
            # now. Not past one batch: a writer that is behind on throughput
            # shares the GIL the interpreter's usual way, so it never paces the
            # model (the buffer drops deltas instead).
            _let_go()

    def _overflow(self, event: BaseEvent) -> None:
        """Under the lock, the buffer full and ``event`` a delta: drop one delta."""
        if self.overflow == "drop_oldest":
            for i, queued in enumerate(self._queue):
                if type(queued).droppable:
                    del self._queue[i]
                    self._queue.append(event)
                    event = queued
                    break
        self.dropped += 1
        key = (event.trace_id, event.run_id)
        self._lost[key] = self._lost.get(key, 0) + 1

    def _start(self) -> None:
        if not self._exit_hook:
            # A short program's last events are still in the buffer when it ends.
            self._exit_hook = True
            atexit.register(self.close, 5.0)
        self._closing = False
        self._writer = threading.Thread(
            target=self._work, name="streamllm-bus-publisher", daemon=True
        )
        self._writer.start()

    # -- the writer ----------------------------------------------------------

    def _take(self) -> tuple[list[BaseEvent], list[EntriesLost]] | None:
        """The next batch (None: closing and nothing left)."""
        while True:
            with self._lock:
                if self._queue or self._lost:
                    n = min(len(self._queue), self.batch)
                    events = [self._queue.popleft() for _ in range(n)]
                    lost, self._lost = self._lost, {}
                    self._busy = True
                    notices = [
                        EntriesLost(trace_id=t, run_id=r, count=c, why="dropped")
                        for (t, r), c in lost.items()
                    ]
                    return events, notices
                self._busy = False
                self._idle.notify_all()
                if self._closing or self._abandon.is_set():
                    return None
            time.sleep(_LINGER)
            with self._lock:
                if self._queue or self._closing:
                    continue
                self._sleeping = True
                self._wake.clear()
            self._wake.wait()

    def _work(self) -> None:
        while (taken := self._take()) is not None:
            if not self._send(*taken):
                self._give_up(taken[0])
                return

    def _give_up(self, events: list[BaseEvent]) -> None:
        with self._lock:
            left = [*events, *self._queue]
            self._queue.clear()
            self._lost.clear()
            self._busy = False
            self._idle.notify_all()
        kept = sum(1 for e in left if not type(e).droppable)
        _log.error(
            "bus publisher closed before the bus took these events",
            bus=repr(self.bus),
            events=len(left),
            lifecycle=kept,
        )

    def _send(self, events: list[BaseEvent], notices: list[EntriesLost]) -> bool:
        """Write one batch, retrying until the bus takes it; False if told to give up."""
        backoff, down_since = 0.05, None
        try:
            batch = self.bus.prepared(events, notices)
        except Exception as exc:  # an event that cannot be encoded: a bug, not an outage
            self.failures += 1
            _log.error("bus publisher could not encode a batch", error=repr(exc), exc_info=exc)
            return True
        while True:
            try:
                self.bus.send(batch)
            except Exception as exc:  # the bus is away or refused: keep the events
                if down_since is None:
                    down_since = time.monotonic()
                    self.failures += 1
                    _log.warning(
                        "bus write failed, retrying (deltas are dropped while the buffer is full)",
                        bus=repr(self.bus),
                        error=str(exc),
                    )
                if self._abandon.wait(backoff):
                    return False
                backoff = min(backoff * 2, self.max_backoff)
                continue
            if down_since is not None:
                _log.info(
                    "bus write succeeded again",
                    bus=repr(self.bus),
                    after_s=round(time.monotonic() - down_since, 3),
                    dropped=self.dropped,
                )
            return True

    # -- flushing ------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything buffered is on the bus; False on timeout."""
        with self._lock:
            if self._writer is None:
                return not self._queue
            if self._sleeping and self._queue:
                self._sleeping = False
                self._wake.set()
            return self._idle.wait_for(
                lambda: not self._queue and not self._lost and not self._busy, timeout
            )

    def close(self, timeout: float | None = 10.0) -> bool:
        """Flush, then stop the writer (a later event starts a new one). Safe to
        call twice.

        Returns False when the bus did not take everything within ``timeout``:
        the writer then gives up, and what it still held is logged as an error
        with its count (this is the one way lifecycle events can be lost).
        """
        flushed = self.flush(timeout)
        with self._lock:
            writer, self._writer = self._writer, None
            self._closing = True
            self._sleeping = False
            self._wake.set()
        if writer is not None:
            if not flushed:
                self._abandon.set()
            writer.join(None if flushed else 5.0)
        self._abandon.clear()
        return flushed


def publisher_for_url(url: str, where: str = "bus") -> BusPublisher:
    """A :class:`BusPublisher` on ``RedisBus(url)`` (``STREAMLLM_TRACING="redis:URL"``).

    Nothing connects yet: an unreachable Redis is logged by the writer and
    never fails a run; a URL that is not a Redis URL, or redis-py missing, is
    a :class:`ConfigurationError` naming ``where``.
    """
    from streamllm.bus.errors import BusError

    try:
        import redis  # noqa: F401 - fail here, not on the first write

        from streamllm.bus.redis_bus import RedisBus
    except ImportError:
        raise ConfigurationError(
            f"{where}: redis:URL needs redis-py: pip install 'streamllm[redis]'"
        ) from None
    try:
        return BusPublisher(RedisBus(url))
    except BusError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None
