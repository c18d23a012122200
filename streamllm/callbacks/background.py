"""BackgroundHandler: move a slow handler off the hot path.

Events go into a bounded FIFO drained by one worker thread, so the stream never
waits for the handler. What happens when the queue is full is a stated policy:

- ``"block"``: the producer waits for room, at most ``timeout`` seconds; a
  token that still finds no room is dropped and counted, and while the worker
  stays stuck, later tokens are dropped without waiting.
- ``"drop_oldest"``: the oldest queued token makes room for the new one.
- ``"drop_newest"``: the new token is dropped.

Only :class:`NewToken` events are ever dropped. Lifecycle events (start, end,
error, chain events) wait for room up to ``timeout`` and are then queued past
the bound, so a handler blocked forever does not stop a stream from completing
and never loses a run's start or end.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Literal, final

from streamllm.callbacks.base import HandlerWrapper
from streamllm.callbacks.deliver import Target, adeliver, deliver
from streamllm.callbacks.failures import Failures
from streamllm.callbacks.kinds import DROPPABLE, TERMINAL
from streamllm.callbacks.loop import run_on_loop
from streamllm.callbacks.registry import Handler, resolve
from streamllm.errors import ConfigurationError, HandlerError
from streamllm.events import BaseEvent

__all__ = ["BackgroundHandler", "Overflow"]

Overflow = Literal["block", "drop_oldest", "drop_newest"]


@final
class BackgroundHandler(HandlerWrapper):
    """Run ``handler`` on a worker thread behind a bounded queue.

    Failures of ``handler`` follow the usual policy (logged once per run,
    counted). With ``raise_error`` on ``handler``, its failure cannot stop the
    run where it happened (the worker is behind): it is raised to the caller
    when the run's terminal event is handed over if the worker has reached it
    by then (the other handlers then see the run end failed), else by the next
    :meth:`flush` or :meth:`close`. Async hooks of ``handler`` run on the
    library's background loop; the worker waits for each.

    >>> slow = BackgroundHandler(MySlowExporter(), maxsize=1000, overflow="drop_oldest")
    ... # doctest: +SKIP
    >>> model.invoke("hi", callbacks=[slow]); slow.flush(5.0)   # doctest: +SKIP
    """

    def __init__(
        self,
        handler: Handler,
        maxsize: int = 1000,
        overflow: Overflow = "block",
        *,
        timeout: float = 1.0,
    ) -> None:
        if maxsize < 1:
            raise ConfigurationError(f"maxsize must be at least 1, not {maxsize}")
        if overflow not in ("block", "drop_oldest", "drop_newest"):
            raise ConfigurationError(
                f"overflow must be 'block', 'drop_oldest' or 'drop_newest', not {overflow!r}"
            )
        self._entry = entry = resolve(handler)
        self.wrapped = self.handler = handler
        self.maxsize = maxsize
        self.overflow: Overflow = overflow
        self.timeout = timeout
        #: Tokens dropped because the queue was full.
        self.dropped = 0
        self._targets: tuple[tuple[Target, ...], ...] = tuple(
            ((entry, fn, entry.is_async[slot]),) if fn is not None else ()
            for slot, fn in enumerate(entry.hooks)
        )
        self._queue: deque[BaseEvent] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._stalled = False
        self._closing = False
        self._worker: threading.Thread | None = None
        self._failures = Failures(" in a BackgroundHandler")
        # raise_error failures by run id, until that run's terminal event is
        # handed over; then those of runs already over, for flush()/close().
        self._errors: dict[Any, HandlerError] = {}
        self._late: list[HandlerError] = []

    def __repr__(self) -> str:
        name, size = self._entry.name, self.maxsize
        return f"BackgroundHandler({name}, maxsize={size}, overflow={self.overflow!r})"

    def on_event(self, event: BaseEvent) -> None:
        """Queue ``event`` (the registry sends only the kinds ``handler`` wants)."""
        queue = self._queue
        with self._cond:
            if self._worker is None:
                self._start()
            if len(queue) >= self.maxsize and not self._make_room(event):
                self.dropped += 1
                return
            queue.append(event)
            self._cond.notify_all()
            error = self._errors.pop(event.run_id, None) if event.slot in TERMINAL else None
        if error is not None:
            raise error

    def _make_room(self, event: BaseEvent) -> bool:
        """Called full, under the lock: False means drop ``event``."""
        droppable = event.slot in DROPPABLE
        if droppable and self.overflow == "drop_newest":
            return False
        if droppable and self.overflow == "drop_oldest":
            for i, queued in enumerate(self._queue):
                if queued.slot in DROPPABLE:
                    del self._queue[i]
                    self.dropped += 1
                    return True
            return False
        if not self._stalled:
            deadline = time.monotonic() + self.timeout
            while len(self._queue) >= self.maxsize:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._stalled = True
                    break
                self._cond.wait(left)
        # Lifecycle events are never dropped: past the wait they go over the bound.
        return len(self._queue) < self.maxsize or not droppable

    def _start(self) -> None:
        self._closing = False
        self._worker = threading.Thread(
            target=self._work, name=f"streamllm-background-{self._entry.name}", daemon=True
        )
        self._worker.start()

    def _work(self) -> None:
        cond, queue, failures = self._cond, self._queue, self._failures
        while True:
            with cond:
                while not queue and not self._closing:
                    cond.wait()
                if not queue:
                    return
                event = queue.popleft()
                self._busy = True
                cond.notify_all()
            targets = self._targets[event.slot]
            if targets and targets[0][2]:
                # On the library's loop rather than a loop of this thread's own.
                run_on_loop(adeliver(targets, event, failures))
            else:
                deliver(targets, event, failures)
            terminal = event.slot in TERMINAL
            if terminal:
                failures.forget(event.run_id)
            with cond:
                error = failures.take()
                if error is not None:
                    self._errors.setdefault(event.run_id, error)
                if terminal and event.run_id in self._errors:
                    # The run is over for the caller already: keep it for flush().
                    self._late.append(self._errors.pop(event.run_id))
                self._busy = False
                self._stalled = False
                cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event has been handled; False on timeout.

        Raises the first ``raise_error`` failure of ``handler`` that no run's
        caller got yet.
        """
        with self._cond:
            done = self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)
            late = self._late.pop(0) if self._late else None
        if late is not None:
            raise late
        return done

    def close(self, timeout: float | None = None) -> bool:
        """Flush and stop the worker (a later event starts a new one).

        Safe to call twice. Returns False when the handler did not finish in time
        (the worker is a daemon thread and is left to finish on its own).
        """
        try:
            flushed = self.flush(timeout)
        finally:
            with self._cond:
                worker, self._worker = self._worker, None
                self._closing = True
                self._cond.notify_all()
        if worker is not None and flushed:
            worker.join(timeout)
        return flushed
