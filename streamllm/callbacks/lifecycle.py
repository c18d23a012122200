"""What a chain run and a tool run share: the terminal rule around their body.

A run opened around user code (``traced``, a tool) sends its start event, runs
the body, then exactly one of its end or error event. The decisions are made
here, once, for both: a ``raise_error`` handler failing on the start event
ends the run failed; a handler failing on the error event replaces the body's
exception for the caller only when the run failed (never in place of a
cancellation); a run already ended is not ended again. Subclasses say which
events they send (``_start_event``, ``_error_event``).
"""

from __future__ import annotations

import contextlib
from contextvars import Token
from typing import TYPE_CHECKING, Any

from streamllm.callbacks.context import ParentRun, reset_parent
from streamllm.callbacks.manager import reason_for
from streamllm.errors import HandlerError

if TYPE_CHECKING:
    from streamllm.callbacks.run import RunManager
    from streamllm.events import Reason

__all__ = ["RunLifecycle"]


class RunLifecycle:
    """The sync and async shells of a run around user code (see the module doc)."""

    __slots__ = ("_token", "run")

    run: RunManager
    _token: Token[ParentRun | None] | None

    def _start_event(self) -> Any:
        """The run's start event (None when no handler wants it)."""
        raise NotImplementedError

    def _error_event(self, exc: BaseException, reason: Reason) -> Any:
        """The run's error event for ``exc`` (None when no handler wants it)."""
        raise NotImplementedError

    def exit(self) -> None:
        """Restore the parent run the body was entered from."""
        token, self._token = self._token, None
        if token is not None:
            reset_parent(token)

    # -- the decisions, shared by both shells --------------------------------

    def _failure(self, exc: BaseException) -> tuple[Any, bool]:
        """The error event for ``exc`` and whether a handler failing on it may
        replace ``exc`` for the caller (never in place of cancellation)."""
        if isinstance(exc, HandlerError):
            self.run.clear_failure()
        reason = reason_for(exc)
        return self._error_event(exc, reason), reason == "failed"

    def _start_failed(self, exc: HandlerError) -> Any:
        """A strict handler failed on the start event: the run ends failed."""
        self.run.clear_failure()
        return self._error_event(exc, "failed")

    # -- sync shell -------------------------------------------------------------

    def start(self) -> None:
        """Send the start event; a ``raise_error`` handler failing on it ends the run."""
        run = self.run
        try:
            run.emit(self._start_event())
        except HandlerError as exc:
            with contextlib.suppress(HandlerError):  # the first failure is the one raised
                run.finish(self._start_failed(exc))
            raise

    def fail(self, exc: BaseException) -> None:
        """Send the error event for ``exc``; raises a handler's failure in place
        of a plain failure (never in place of cancellation)."""
        if self.run.done:
            return
        event, may_replace = self._failure(exc)
        try:
            # A garbage collector closing an abandoned generator must not wait.
            self.run.finish(event, wait=not isinstance(exc, GeneratorExit))
        except HandlerError as handler_exc:
            if may_replace:
                raise handler_exc from exc

    # -- async shell --------------------------------------------------------------

    async def astart(self) -> None:
        run = self.run
        try:
            await run.aemit(self._start_event())
        except HandlerError as exc:
            with contextlib.suppress(HandlerError):
                await run.afinish(self._start_failed(exc))
            raise

    async def afail(self, exc: BaseException) -> None:
        if self.run.done:
            return
        event, may_replace = self._failure(exc)
        try:
            await self.run.afinish(event)
        except HandlerError as handler_exc:
            if may_replace:
                raise handler_exc from exc
