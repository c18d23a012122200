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

import asyncio
import threading
import time
from collections import deque
from typing import Any, Literal, final

from streamllm.callbacks.base import CallbackHandler
from streamllm.callbacks.failures import handler_failures, log_failure
from streamllm.callbacks.registry import Handler, resolve
from streamllm.errors import ConfigurationError
from streamllm.events import (
    BaseEvent,
    ChainEnd,
    ChainError,
    ChainStart,
    LLMEnd,
    LLMError,
    LLMStart,
    NewToken,
)

__all__ = ["BackgroundHandler", "Overflow"]

Overflow = Literal["block", "drop_oldest", "drop_newest"]
_TOKEN = NewToken.kind


@final
class BackgroundHandler(CallbackHandler):
    """Run ``handler`` on a worker thread behind a bounded queue.

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
        self._entry = resolve(handler)
        self.handler = handler
        self.maxsize = maxsize
        self.overflow: Overflow = overflow
        self.timeout = timeout
        #: Tokens dropped because the queue was full.
        self.dropped = 0
        self._queue: deque[BaseEvent] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._stalled = False
        self._closing = False
        self._worker: threading.Thread | None = None
        self._failed_runs: set[Any] = set()

    def _streamllm_wants_(self, kind: int) -> bool:
        return self._entry.hooks[kind] is not None

    def __repr__(self) -> str:
        name, size = self._entry.name, self.maxsize
        return f"BackgroundHandler({name}, maxsize={size}, overflow={self.overflow!r})"

    # Every hook only enqueues; the registry filters to the kinds the inner handler wants.
    def on_llm_start(self, event: LLMStart) -> None:
        self._put(event)

    def on_llm_new_token(self, event: NewToken) -> None:
        self._put(event)

    def on_llm_end(self, event: LLMEnd) -> None:
        self._put(event)

    def on_llm_error(self, event: LLMError) -> None:
        self._put(event)

    def on_chain_start(self, event: ChainStart) -> None:
        self._put(event)

    def on_chain_end(self, event: ChainEnd) -> None:
        self._put(event)

    def on_chain_error(self, event: ChainError) -> None:
        self._put(event)

    def _put(self, event: BaseEvent) -> None:
        queue = self._queue
        with self._cond:
            if self._worker is None:
                self._start()
            if len(queue) >= self.maxsize and not self._make_room(event):
                self.dropped += 1
                return
            queue.append(event)
            self._cond.notify_all()

    def _make_room(self, event: BaseEvent) -> bool:
        """Called full, under the lock: False means drop ``event``."""
        token = event.kind == _TOKEN
        if token and self.overflow == "drop_newest":
            return False
        if token and self.overflow == "drop_oldest":
            for i, queued in enumerate(self._queue):
                if queued.kind == _TOKEN:
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
        return len(self._queue) < self.maxsize or not token

    def _start(self) -> None:
        self._closing = False
        self._worker = threading.Thread(
            target=self._work, name=f"streamllm-background-{self._entry.name}", daemon=True
        )
        self._worker.start()

    def _work(self) -> None:
        loop: asyncio.AbstractEventLoop | None = None
        cond, queue, entry = self._cond, self._queue, self._entry
        try:
            while True:
                with cond:
                    while not queue and not self._closing:
                        cond.wait()
                    if not queue:
                        return
                    event = queue.popleft()
                    self._busy = True
                    cond.notify_all()
                fn = entry.hooks[event.kind]
                try:
                    if fn is not None:
                        if entry.is_async[event.kind]:
                            if loop is None:
                                loop = asyncio.new_event_loop()
                            loop.run_until_complete(fn(event))
                        else:
                            fn(event)
                except Exception as exc:
                    self._failed(event, exc)
                with cond:
                    self._busy = False
                    self._stalled = False
                    cond.notify_all()
        finally:
            if loop is not None:
                loop.close()

    def _failed(self, event: BaseEvent, exc: BaseException) -> None:
        handler_failures.record(self._entry.name)
        if event.run_id not in self._failed_runs:
            self._failed_runs.add(event.run_id)
            log_failure(self._entry.name, event.type, event.run_id, exc)  # type: ignore[attr-defined]

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event has been handled; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Flush and stop the worker (a later event starts a new one).

        Safe to call twice. Returns False when the handler did not finish in time
        (the worker is a daemon thread and is left to finish on its own).
        """
        flushed = self.flush(timeout)
        with self._cond:
            worker, self._worker = self._worker, None
            self._closing = True
            self._cond.notify_all()
        if worker is not None and flushed:
            worker.join(timeout)
        return flushed
