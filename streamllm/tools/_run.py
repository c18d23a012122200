"""A tool run's lifecycle: ``ToolStart``, then exactly one of ``ToolEnd`` or
``ToolError``, whatever the function does (returns, raises, is cancelled, or
is interrupted with Ctrl-C).

While the function runs, the tool run is the parent run of the context, so a
model called inside a tool is a child of the tool run, in the same trace. As
for ``traced``, the children get from it only the handlers that did not come
from the global and scoped lists (they merge those themselves).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, final

from streamllm.callbacks.context import ParentRun, set_parent
from streamllm.callbacks.lifecycle import RunLifecycle
from streamllm.callbacks.manager import CallbackManager
from streamllm.callbacks.run import Mode
from streamllm.events import Reason
from streamllm.tools._events import end_event, error_event, start_event

__all__ = ["ToolRun"]


@final
class ToolRun(RunLifecycle):
    """One tool run: its run manager and the parent it sets around the function
    (the terminal rule is :class:`~streamllm.callbacks.lifecycle.RunLifecycle`'s)."""

    __slots__ = ("_args", "_call_id", "_manager")

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
        self._token = None

    # -- the parent contextvar, around the function only --------------------

    def enter(self) -> None:
        manager, run = self._manager, self.run
        entries = manager.entries
        if entries:
            outer = manager.outer
            if outer is entries:  # only global and scoped handlers: none to pass down
                entries = ()
            elif outer:  # entries are compared by identity (Entry has no __eq__)
                entries = tuple(e for e in entries if e not in outer)
        parent = ParentRun(run.run_id, run.trace_id, entries, manager.tags, manager.metadata)
        self._token = set_parent(parent)

    # -- its events -------------------------------------------------------------

    def _start_event(self) -> Any:
        return start_event(self.run, self._call_id, self._args)

    def _error_event(self, exc: BaseException, reason: Reason) -> Any:
        return error_event(self.run, exc, reason)

    def end(self, output: Any) -> None:
        self.run.finish(end_event(self.run, output))

    async def aend(self, output: Any) -> None:
        await self.run.afinish(end_event(self.run, output))
