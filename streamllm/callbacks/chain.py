"""A chain run (a ``traced`` function or block): its lifecycle, sync and async.

The terminal rule (which event ends the run, and whether a handler's failure
replaces the body's exception) is :class:`~streamllm.callbacks.lifecycle.RunLifecycle`'s,
shared with tool runs; a chain run says only which events it sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, final
from uuid import UUID

from streamllm.callbacks.context import ParentRun, current_parent, set_parent
from streamllm.callbacks.lifecycle import RunLifecycle
from streamllm.callbacks.manager import CallbackManager
from streamllm.callbacks.registry import Entry
from streamllm.callbacks.run import Mode, RunManager
from streamllm.events import Reason

__all__ = ["ChainRun", "ChainSpec", "jsonable"]


class ChainSpec(Protocol):
    """What a chain run is opened from (``traced(...)`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def metadata(self) -> Mapping[str, Any]: ...
    @property
    def entries(self) -> tuple[Entry, ...]: ...


_MAX_REPR = 200


def jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON-compatible copy of inputs/outputs; anything else becomes a short repr
    (events stay serialisable for recorders without failing the user's call)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if depth < 8:
        if isinstance(value, Mapping):
            return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [jsonable(v, depth + 1) for v in value]
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


@final
class ChainRun(RunLifecycle):
    """The running chain, as ``with traced(...) as run:`` gives it.

    ``run_id``, ``parent_run_id`` and ``trace_id`` identify it; set ``outputs``
    (JSON-compatible) to have them sent with ``ChainEnd``.
    """

    __slots__ = ("_inputs", "outputs", "parent")

    def __init__(self, spec: ChainSpec, inputs: dict[str, Any] | None, mode: Mode) -> None:
        enclosing = current_parent()
        manager = CallbackManager.configure(
            local=spec.entries, tags=spec.tags, metadata=spec.metadata
        )
        self.run: RunManager = manager.start_run(name=spec.name, sender=None, mode=mode)
        # Children re-merge global and scoped handlers themselves (and they follow
        # tasks and batch threads through their own contextvar), so the parent
        # passes down only what came through parent runs: no duplicates, and a
        # global handler removed later is not kept alive by an old trace.
        inherited = (enclosing.entries if enclosing is not None else ()) + spec.entries
        self.parent = ParentRun(
            self.run.run_id, self.run.trace_id, inherited, manager.tags, manager.metadata
        )
        self.outputs: Any = None
        self._token = None
        self._inputs = inputs

    @property
    def run_id(self) -> UUID:
        """This chain's run id (a UUID)."""
        return self.run.run_id

    @property
    def parent_run_id(self) -> UUID | None:
        """The enclosing chain's run id, or None at the root."""
        return self.run.parent_run_id

    @property
    def trace_id(self) -> UUID:
        """The root run's id, shared by every run in the tree."""
        return self.run.trace_id

    def enter(self) -> None:
        self._token = set_parent(self.parent)

    # -- its events (the terminal rule is RunLifecycle's) ----------------------

    def _start_event(self) -> Any:
        return self.run.chain_start_event(self._inputs)

    def _error_event(self, exc: BaseException, reason: Reason) -> Any:
        return self.run.chain_error_event(exc, reason)

    def end(self, outputs: Any) -> None:
        """Send ``ChainEnd`` (then wait for async handlers, as a model run does)."""
        self.run.finish(self.run.chain_end_event(jsonable(outputs)))

    async def aend(self, outputs: Any) -> None:
        await self.run.afinish(self.run.chain_end_event(jsonable(outputs)))
