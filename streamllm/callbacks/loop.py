"""The library-owned background loop that runs async handlers for sync code.

One daemon thread, started lazily on first need, stopped by
:func:`streamllm.shutdown`. Each run that has async handlers gets an
:class:`AsyncDrain`: an ordered queue drained by one task on that loop. The
producer wakes the loop only when the drain is idle, so a fast stream costs one
cross-thread wake-up per burst, not one per token.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, final

if TYPE_CHECKING:
    from streamllm.callbacks.registry import Entry
    from streamllm.events import BaseEvent

__all__ = ["DRAIN_TIMEOUT", "AsyncDrain", "background_loop", "shutdown"]

#: Seconds a sync call waits, after its terminal event, for async handlers to see it.
DRAIN_TIMEOUT = 10.0


@final
class _BackgroundLoop:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def get(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is not None:
            return loop
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(
                    target=self._run, args=(loop, ready), name="streamllm-loop", daemon=True
                )
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def shutdown(self, timeout: float = 5.0) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)


background_loop = _BackgroundLoop()


def shutdown(timeout: float = 5.0) -> None:
    """Stop the library's background loop (it restarts lazily when needed again)."""
    background_loop.shutdown(timeout)


FailureCallback = Callable[["Entry", "BaseEvent", BaseException], None]


@final
class AsyncDrain:
    """Runs one run's async hooks, in order, on the background loop."""

    __slots__ = (
        "_current",
        "_done",
        "_loop",
        "_on_failure",
        "_queue",
        "_scheduled",
        "_targets",
        "_task",
    )

    def __init__(
        self,
        targets: tuple[tuple[tuple[Entry, Callable[[Any], Any]], ...], ...],
        on_failure: FailureCallback,
    ) -> None:
        self._targets = targets
        self._on_failure = on_failure
        self._queue: deque[BaseEvent] = deque()
        self._scheduled = False
        self._done = threading.Event()
        self._loop = background_loop.get()
        self._task: asyncio.Task[None] | None = None
        self._current: Entry | None = None

    def put(self, event: BaseEvent) -> None:
        if not self._targets[event.kind]:
            return
        self._queue.append(event)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon_threadsafe(self._start)

    def finish(self) -> None:
        """No more events: mark done once the queue is empty."""
        self._queue.append(_END)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon_threadsafe(self._start)

    def wait(self, timeout: float | None = None) -> Entry | None:
        """Wait for the queue to drain; return the hook still running on timeout."""
        if self._done.wait(DRAIN_TIMEOUT if timeout is None else timeout):
            return None
        return self._current

    def _start(self) -> None:
        self._task = self._loop.create_task(self._drain())

    async def _drain(self) -> None:
        queue = self._queue
        while True:
            while queue:
                event = queue.popleft()
                if event is _END:
                    self._done.set()
                    continue
                for entry, fn in self._targets[event.kind]:
                    self._current = entry
                    try:
                        await fn(event)
                    except Exception as exc:
                        self._on_failure(entry, event, exc)
                self._current = None
            # See the module docstring: only an idle drain lets the producer re-arm it.
            self._scheduled = False
            if not queue or self._scheduled:
                return
            self._scheduled = True


_END: Any = object()
