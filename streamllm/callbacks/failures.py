"""The failure policy of DESIGN.md section 3, in one place.

A handler that raises is logged once per handler and run (with the traceback),
counted in :data:`handler_failures`, and the event goes on to the others. A
handler with ``raise_error = True`` additionally leaves a :class:`HandlerError`
for whoever drives the run to raise once every handler has seen the event.
Every place where an event meets a handler (the run manager, the background
loop, :class:`~streamllm.callbacks.background.BackgroundHandler`, ``replay``)
records failures through a :class:`Failures`.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING, Any, final

from streamllm._log import get_logger
from streamllm.errors import HandlerError

if TYPE_CHECKING:
    from streamllm.callbacks.registry import Entry

__all__ = ["Failures", "HandlerFailures", "handler_failures", "log_hung"]

_log = get_logger("streamllm.callbacks")


@final
class HandlerFailures:
    """Counts handler failures, by handler name; thread-safe.

    >>> from streamllm import handler_failures
    >>> handler_failures.total                  # doctest: +SKIP
    0
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def record(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    @property
    def total(self) -> int:
        """Failures counted since start (or the last :meth:`reset`)."""
        with self._lock:
            return sum(self._counts.values())

    @property
    def by_handler(self) -> dict[str, int]:
        """Failures per handler name."""
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


#: The process-wide counter of handler failures.
handler_failures = HandlerFailures()


@final
class Failures:
    """Handler failures of one run, or of the runs one consumer sees (a replay,
    a background worker): logs once per handler and run, counts every failure,
    and keeps the first ``raise_error`` failure for the driver to raise.

    ``error`` is a failure of an inline hook; ``deferred`` one of an async hook
    run from sync code, which cannot stop the run where it failed.
    """

    __slots__ = ("_logged", "deferred", "error", "where")

    def __init__(self, where: str = "") -> None:
        self._logged: dict[Any, set[int]] = {}
        self.error: HandlerError | None = None
        self.deferred: HandlerError | None = None
        #: Said in the HandlerError's message, e.g. " while replaying".
        self.where = where

    def record(
        self, entry: Entry, event: Any, exc: BaseException, *, deferred: bool = False
    ) -> None:
        """One handler failed on ``event``."""
        if isinstance(exc, HandlerError) and entry.wraps is not None:
            # A wrapper re-raising its inner handler's failure: that one was
            # logged and counted where it happened.
            error: HandlerError | None = exc
        else:
            handler_failures.record(entry.name)
            seen = self._logged.setdefault(event.run_id, set())
            if id(entry.handler) not in seen:
                seen.add(id(entry.handler))
                _log.error(
                    "handler failed",
                    handler=entry.name,
                    hook_event=event.type,
                    run_id=str(event.run_id),
                    error=type(exc).__name__,
                    exc_info=exc,
                )
            error = self._error(entry, event, exc) if entry.raise_error else None
        if error is None:
            return
        if deferred:
            if self.deferred is None:
                self.deferred = error
        elif self.error is None:
            self.error = error

    def _error(self, entry: Entry, event: Any, exc: BaseException) -> HandlerError:
        error = HandlerError(
            f"handler {entry.name} failed on {event.type}{self.where}: {type(exc).__name__}: {exc}",
            handler=entry.handler,
            event=event,
        )
        error.__cause__ = exc
        return error

    def take(self) -> HandlerError | None:
        """The pending inline failure, forgotten (it is being raised now)."""
        error, self.error = self.error, None
        return error

    def forget(self, run_id: Any) -> None:
        """A run ended: its handlers may be logged again in another run."""
        self._logged.pop(run_id, None)


def log_hung(handler: str, run_id: object) -> None:
    """One error record when an async handler is first found hung."""
    _log.error(
        "handler hung: later runs do not wait for it until it returns",
        handler=handler,
        run_id=str(run_id),
    )
