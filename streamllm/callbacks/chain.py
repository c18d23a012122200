"""A chain run (a ``traced`` function or block): its lifecycle, sync and async.

The decisions are made once, in the I/O-free part of :class:`ChainRun`
(which event ends the run, and whether a handler's failure replaces the
body's exception); the sync and async shells only emit, or await the emit of,
what it decided.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, Protocol, final
from uuid import UUID

from streamllm.callbacks.context import ParentRun, current_parent, reset_parent, set_parent
from streamllm.callbacks.manager import CallbackManager, reason_for
from streamllm.callbacks.registry import Entry
from streamllm.callbacks.run import Mode, RunManager
from streamllm.errors import HandlerError

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
class ChainRun:
    """The running chain, as ``with traced(...) as run:`` gives it.

    ``run_id``, ``parent_run_id`` and ``trace_id`` identify it; set ``outputs``
    (JSON-compatible) to have them sent with ``ChainEnd``.
    """

    __slots__ = ("_inputs", "_token", "outputs", "parent", "run")

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
        self._token: Any = None
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

    # -- the parent contextvar ---------------------------------------------

    def enter(self) -> None:
        self._token = set_parent(self.parent)

    def exit(self) -> None:
        token, self._token = self._token, None
        if token is not None:
            reset_parent(token)

    # -- the decisions, shared by both shells ----------------------------------

    def _failure(self, exc: BaseException) -> tuple[Any, bool]:
        """The error event for ``exc`` and whether a handler failing on it may
        replace ``exc`` for the caller (never in place of cancellation)."""
        if isinstance(exc, HandlerError):
            self.run.clear_failure()
        reason = reason_for(exc)
        return self.run.chain_error_event(exc, reason), reason == "failed"

    def _start_failed(self, exc: HandlerError) -> Any:
        """A strict handler failed on ``ChainStart``: the run ends failed."""
        self.run.clear_failure()
        return self.run.chain_error_event(exc, "failed")

    # -- sync shell ------------------------------------------------------------

    def start(self) -> None:
        """Send ``ChainStart``; a ``raise_error`` handler failing on it ends the run."""
        try:
            self.run.emit(self.run.chain_start_event(self._inputs))
        except HandlerError as exc:
            with contextlib.suppress(HandlerError):  # the first failure is the one raised
                self.run.finish(self._start_failed(exc))
            raise

    def end(self, outputs: Any) -> None:
        """Send ``ChainEnd`` (then wait for async handlers, as a model run does)."""
        self.run.finish(self.run.chain_end_event(jsonable(outputs)))

    def fail(self, exc: BaseException) -> None:
        """Send ``ChainError`` for ``exc``; raises a handler's failure in place of a
        plain failure (never in place of cancellation)."""
        if self.run.done:
            return
        event, may_replace = self._failure(exc)
        try:
            # A garbage collector closing an abandoned generator must not wait.
            self.run.finish(event, wait=not isinstance(exc, GeneratorExit))
        except HandlerError as handler_exc:
            if may_replace:
                raise handler_exc from exc

    # -- async shell -------------------------------------------------------------

    async def astart(self) -> None:
        try:
            await self.run.aemit(self.run.chain_start_event(self._inputs))
        except HandlerError as exc:
            with contextlib.suppress(HandlerError):
                await self.run.afinish(self._start_failed(exc))
            raise

    async def aend(self, outputs: Any) -> None:
        await self.run.afinish(self.run.chain_end_event(jsonable(outputs)))

    async def afail(self, exc: BaseException) -> None:
        if self.run.done:
            return
        event, may_replace = self._failure(exc)
        try:
            await self.run.afinish(event)
        except HandlerError as handler_exc:
            if may_replace:
                raise handler_exc from exc
