"""A tool run's lifecycle: ``ToolStart``, then exactly one of ``ToolEnd`` or
``ToolError``, whatever the function does (returns, raises, is cancelled, or
is interrupted with Ctrl-C).

While the function runs, the tool run is the parent run of the context, so a
model called inside a tool is a child of the tool run, in the same trace. As
for ``traced``, the children get from it only the handlers that did not come
from the global and scoped lists (they merge those themselves).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from contextvars import Token
from typing import Any, final

from streamllm.callbacks.context import (
    ParentRun,
    global_entries,
    reset_parent,
    scoped_entries,
    set_parent,
)
from streamllm.callbacks.manager import CallbackManager, reason_for
from streamllm.callbacks.run import Mode
from streamllm.errors import HandlerError
from streamllm.tools._events import end_event, error_event, start_event

__all__ = ["ToolRun"]


@final
class ToolRun:
    """One tool run: its run manager, the parent it sets around the function,
    and the decisions the sync and async shells share."""

    __slots__ = ("_args", "_call_id", "_manager", "_token", "run")

    def __init__(
        self,
        manager: CallbackManager,
        name: str,
        sender: object,
        run_id: Any,
        mode: Mode,
        call_id: str | None,
        args: Mapping[str, Any],
    ) -> None:
        self.run = manager.start_run(name=name, sender=sender, run_id=run_id, mode=mode)
        self._manager = manager
        self._call_id = call_id
        self._args = args
        self._token: Token[ParentRun | None] | None = None

    # -- the parent contextvar, around the function only --------------------

    def enter(self) -> None:
        manager, run = self._manager, self.run
        entries = manager.entries
        if entries:
            outer = global_entries() + scoped_entries()
            if outer:  # entries are compared by identity (Entry has no __eq__)
                entries = tuple(e for e in entries if e not in outer)
        parent = ParentRun(run.run_id, run.trace_id, entries, manager.tags, manager.metadata)
        self._token = set_parent(parent)

    def exit(self) -> None:
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
        return error_event(self.run, exc, reason), reason == "failed"

    def _start_failed(self, exc: HandlerError) -> Any:
        self.run.clear_failure()
        return error_event(self.run, exc, "failed")

    # -- sync shell -----------------------------------------------------------

    def start(self) -> None:
        """Send ``ToolStart``; a ``raise_error`` handler failing on it ends the run."""
        run = self.run
        try:
            run.emit(start_event(run, self._call_id, self._args))
        except HandlerError as exc:
            with contextlib.suppress(HandlerError):  # the first failure is the one raised
                run.finish(self._start_failed(exc))
            raise

    def end(self, output: Any) -> None:
        self.run.finish(end_event(self.run, output))

    def fail(self, exc: BaseException) -> None:
        if self.run.done:
            return
        event, may_replace = self._failure(exc)
        try:
            self.run.finish(event)
        except HandlerError as handler_exc:
            if may_replace:
                raise handler_exc from exc

    # -- async shell ----------------------------------------------------------

    async def astart(self) -> None:
        run = self.run
        try:
            await run.aemit(start_event(run, self._call_id, self._args))
        except HandlerError as exc:
            with contextlib.suppress(HandlerError):
                await run.afinish(self._start_failed(exc))
            raise

    async def aend(self, output: Any) -> None:
        await self.run.afinish(end_event(self.run, output))

    async def afail(self, exc: BaseException) -> None:
        if self.run.done:
            return
        event, may_replace = self._failure(exc)
        try:
            await self.run.afinish(event)
        except HandlerError as handler_exc:
            if may_replace:
                raise handler_exc from exc
