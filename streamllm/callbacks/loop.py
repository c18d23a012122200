"""The library-owned background loop that runs async handlers for sync code.

One daemon thread, started lazily on first need, stopped by
:func:`streamllm.shutdown`. Each run that has async handlers gets an
:class:`AsyncDrain`: an ordered queue drained by one task on that loop. The
producer wakes the loop only when the drain is idle, so a fast stream costs one
cross-thread wake-up per burst, not one per token.

A handler whose hook is still running when a call's drain timeout passes is
*hung*: it is logged once, and until that hook returns later runs hand its
events to a drain of their own that nobody waits for, so one hung handler does
not add the drain timeout to every call.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar, final

from streamllm.callbacks.deliver import Target, adeliver
from streamllm.callbacks.failures import log_hung

if TYPE_CHECKING:
    from streamllm.callbacks.failures import Failures
    from streamllm.callbacks.registry import Entry

__all__ = ["DRAIN_TIMEOUT", "AsyncDrain", "background_loop", "is_hung", "run_on_loop", "shutdown"]

T = TypeVar("T")

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
        _hung.clear()


background_loop = _BackgroundLoop()


def shutdown(timeout: float = 5.0) -> None:
    """Stop the library's background loop (it restarts lazily when needed again)."""
    background_loop.shutdown(timeout)


def run_on_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the background loop and wait for it, from any other thread."""
    return asyncio.run_coroutine_threadsafe(coro, background_loop.get()).result()


# Handlers (by id) whose hook outlived a drain timeout and has not returned yet.
_hung: dict[int, object] = {}


def is_hung(entry: Entry) -> bool:
    """Whether ``entry``'s handler is known hung (see the module docstring)."""
    return id(entry.handler) in _hung


@final
class _Mark:
    """A place in a drain's queue; set once everything before it was delivered."""

    __slots__ = ("reached",)

    def __init__(self) -> None:
        self.reached = threading.Event()


@final
class AsyncDrain:
    """Runs one run's async hooks, in order, on the background loop."""

    __slots__ = (
        "_current",
        "_done",
        "_failures",
        "_loop",
        "_queue",
        "_scheduled",
        "_targets",
        "_task",
        "wanted",
    )

    def __init__(self, targets: tuple[tuple[Target, ...], ...], failures: Failures) -> None:
        self._targets = targets
        #: Per event kind, whether any hook here wants it.
        self.wanted = tuple(bool(t) for t in targets)
        self._failures = failures
        self._queue: deque[tuple[Any, tuple[Target, ...] | None]] = deque()
        self._scheduled = False
        self._done: _Mark | None = None
        self._loop = background_loop.get()
        self._task: asyncio.Task[None] | None = None
        self._current: Entry | None = None

    def put(self, event: Any, targets: tuple[Target, ...] | None = None) -> None:
        """Queue ``event`` for its kind's hooks (or for ``targets`` alone)."""
        if targets is None and not self._targets[event.slot]:
            return
        self._queue.append((event, targets))
        self._wake()

    def _wake(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon_threadsafe(self._start)

    def catch_up(self, timeout: float | None = None) -> bool:
        """Wait until every event queued so far was delivered; False on timeout."""
        mark = _Mark()
        self._queue.append((mark, None))
        self._wake()
        return self._wait(mark, timeout)

    def finish(self) -> None:
        """No more events (a second call does nothing)."""
        if self._done is None:
            self._done = _Mark()
            self._queue.append((self._done, None))
            self._wake()

    def wait(self, run_id: object, timeout: float | None = None) -> bool:
        """Wait for the queue to drain after :meth:`finish`; False on timeout."""
        return self._done is None or self._wait(self._done, timeout, run_id)

    def _wait(self, mark: _Mark, timeout: float | None, run_id: object = None) -> bool:
        if mark.reached.wait(DRAIN_TIMEOUT if timeout is None else timeout):
            return True
        current = self._current
        if current is not None and id(current.handler) not in _hung:
            _hung[id(current.handler)] = current.handler
            log_hung(current.name, run_id)
        return False

    def _start(self) -> None:
        self._task = self._loop.create_task(self._drain())

    async def _drain(self) -> None:
        queue, failures = self._queue, self._failures
        while True:
            while queue:
                event, only = queue.popleft()
                if type(event) is _Mark:
                    event.reached.set()
                    continue
                for target in only if only is not None else self._targets[event.slot]:
                    self._current = entry = target[0]
                    await adeliver((target,), event, failures, deferred=True)
                    # Returned after all: not hung (any more).
                    _hung.pop(id(entry.handler), None)
                self._current = None
            # See the module docstring: only an idle drain lets the producer re-arm it.
            self._scheduled = False
            if not queue or self._scheduled:
                return
            self._scheduled = True
