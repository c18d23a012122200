"""What happens when a handler raises: log once per handler and run, count, go on."""

from __future__ import annotations

import threading
from collections import Counter
from typing import final

from streamllm._log import get_logger

__all__ = ["HandlerFailures", "handler_failures"]

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


def log_failure(
    handler: str, event_type: str, run_id: object, exc: BaseException, *, hung: bool = False
) -> None:
    """One error record, with the traceback, for a handler's first failure in a run."""
    if hung:
        _log.error("handler hung", handler=handler, hook_event=event_type, run_id=str(run_id))
        return
    _log.error(
        "handler failed",
        handler=handler,
        hook_event=event_type,
        run_id=str(run_id),
        error=type(exc).__name__,
        exc_info=exc,
    )
