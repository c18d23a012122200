"""The run manager: one run's ids, ``seq``, and delivery to every handler.

Model code never builds events by hand: it asks the :class:`RunManager` for
them (:meth:`~RunManager.start_event`, :meth:`~RunManager.token` and the other
per-fragment builders of :mod:`streamllm.callbacks.fragments`,
:meth:`~RunManager.end_event`, :meth:`~RunManager.error_event`, the chain
twins), which builds one only when a handler or signal receiver wants it, and
hands it to :meth:`~RunManager.emit` (sync code) or :meth:`~RunManager.aemit`
(async code). The terminal event goes through :meth:`~RunManager.finish` /
:meth:`~RunManager.afinish`, which also let async handlers drain and raise a
handler failure the caller must see.

``raise_error`` handlers and the terminal event: see
:mod:`streamllm.callbacks.terminal`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Generator, Mapping
from typing import Any, TypeVar, final
from uuid import UUID

from streamllm._fast import trusted_event
from streamllm._frozen import freeze, freeze_mapping
from streamllm.callbacks.deliver import adeliver, deliver, send_signal
from streamllm.callbacks.failures import Failures
from streamllm.callbacks.fragments import Fragments
from streamllm.callbacks.kinds import TERMINAL, TYPES
from streamllm.callbacks.loop import AsyncDrain
from streamllm.callbacks.registry import Entry
from streamllm.callbacks.tables import EMPTY, Mode, tables_for
from streamllm.callbacks.terminal import aend, end
from streamllm.chat.tools_schema import ToolSpec
from streamllm.errors import HandlerError
from streamllm.events import (
    BaseEvent,
    ChainEnd,
    ChainError,
    ChainStart,
    ErrorInfo,
    LLMEnd,
    LLMError,
    LLMStart,
    Reason,
)
from streamllm.messages import Message
from streamllm.outputs import LLMResult
from streamllm.signals import SIGNALS

__all__ = ["Mode", "RunManager"]


E = TypeVar("E", bound=BaseEvent)


@final
class _Done:
    """An awaitable that is already done (``aemit(None)``), without a coroutine."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return iter(())  # type: ignore[return-value]


_DONE = _Done()
_time = time.time
_monotonic = time.monotonic


@final
class RunManager(Fragments):
    """One run's dispatcher: ids, ``seq``, and delivery to every handler (see the
    module docstring for the methods model code calls)."""

    __slots__ = (
        "_drain",
        "_ends",
        "_failures",
        "_inline",
        "_settled",
        "_sinks",
        "_stray",
        "_t",
        "done",
        "has_async",
        "metadata",
        "name",
        "parent_run_id",
        "run_id",
        "sender",
        "tags",
        "trace_id",
    )

    def __init__(
        self,
        entries: tuple[Entry, ...],
        *,
        run_id: UUID,
        parent_run_id: UUID | None,
        trace_id: UUID,
        name: str,
        tags: tuple[str, ...],
        metadata: Mapping[str, Any],
        sender: object,
        mode: Mode,
    ) -> None:
        self.run_id = run_id
        self.parent_run_id = parent_run_id
        self.trace_id = trace_id
        self.name = name
        self.tags = tags
        self.metadata = metadata
        self.sender = sender
        self.seq = 0
        self.index = 0
        self.done = False
        self._settled = False
        self._failures = Failures()
        self._tpls: dict[type[BaseEvent], dict[str, Any]] = {}
        self._drain: AsyncDrain | None = None
        self._stray: AsyncDrain | None = None
        t = self._t = tables_for(entries, mode) if entries else EMPTY
        self._inline = t.inline
        self._ends = t.ends
        self.has_async = t.has_drain or t.has_stray
        self._sinks: tuple[AsyncDrain, ...] = ()
        if mode == "sync" and self.has_async:
            if t.has_drain:
                self._drain = AsyncDrain(t.drain, self._failures)
            if t.has_stray:
                self._stray = AsyncDrain(t.stray, self._failures)
            self._sinks = tuple(d for d in (self._drain, self._stray) if d is not None)

    # -- building events -------------------------------------------------

    def wants(self, kind: int) -> bool:
        """Whether any handler or signal receiver wants events of this kind."""
        return self._t.wanted[kind] or bool(SIGNALS[kind].receivers)

    def _make(self, cls: type[BaseEvent], fields: Mapping[str, Any]) -> Any:
        # One dict display, in field order: the common fields, then the kind's
        # (the per-fragment events copy a template instead, see Fragments).
        seq = self.seq
        self.seq = seq + 1
        return trusted_event(
            cls,
            {
                "run_id": self.run_id,
                "parent_run_id": self.parent_run_id,
                "trace_id": self.trace_id,
                "seq": seq,
                "time": _time(),
                "monotonic": _monotonic(),
                "name": self.name,
                "tags": self.tags,
                "metadata": self.metadata,
                "type": TYPES[cls],
                **fields,
            },
        )

    #: The run's next event of kind ``cls`` with ``fields``, whether or not it is
    #: wanted: for a start or step event whose caller asked :meth:`wants` first
    #: (to convert its payload only then).
    make = _make

    def build(self, cls: type[E], fields: Mapping[str, Any]) -> E | None:
        """The run's next event of kind ``cls`` with ``fields`` (read-only data),
        or None when no handler or signal receiver wants that kind; building a
        terminal kind marks the run done. Works for every event class, so a new
        kind needs no method here."""
        slot = cls.slot
        if slot in TERMINAL:
            self.done = True
        if not (self._t.wanted[slot] or SIGNALS[slot].receivers):
            return None
        return self._make(cls, fields)  # type: ignore[no-any-return]

    def step(self, cls: type[BaseEvent], fields: Mapping[str, Any]) -> None:
        """Build (when wanted) and deliver a step event such as ``BlockDelta``
        (per fragment on the hot path: no detour through :meth:`build`, and the
        signal/drain/failure pass only when one of them has work, as for tokens)."""
        slot = cls.slot
        signal = SIGNALS[slot]
        if self._t.wanted[slot] or signal.receivers:
            event = self._make(cls, fields)
            failures = self._failures
            deliver(self._inline[slot], event, failures)
            if signal.receivers or self._sinks or failures.error is not None:
                self._post(event)

    def astep(self, cls: type[BaseEvent], fields: Mapping[str, Any]) -> Awaitable[None]:
        """Async :meth:`step` (await it)."""
        return self.aemit(self.build(cls, fields))

    def start_event(
        self,
        model: str,
        prompt: str | None,
        messages: tuple[Message, ...] | None,
        invocation_params: Mapping[str, Any],
        tools: tuple[ToolSpec, ...] = (),
    ) -> LLMStart | None:
        if not self.wants(LLMStart.slot):
            return None
        # A read-only copy: a handler writing into it must not change the request.
        params = freeze_mapping(invocation_params, "invocation_params")
        return self._make(  # type: ignore[no-any-return]
            LLMStart,
            {
                "model": model,
                "prompt": prompt,
                "messages": messages,
                "invocation_params": params,
                "tools": tools,
            },
        )

    def end_event(self, result: LLMResult) -> LLMEnd | None:
        self.done = True
        if not self.wants(LLMEnd.slot):
            return None
        return self._make(LLMEnd, {"result": result})  # type: ignore[no-any-return]

    def error_event(
        self, exc: BaseException, reason: Reason, partial: LLMResult
    ) -> LLMError | None:
        self.done = True
        if not self.wants(LLMError.slot):
            return None
        return self._make(  # type: ignore[no-any-return]
            LLMError, {"error": ErrorInfo.of(exc), "reason": reason, "partial": partial}
        )

    def chain_start_event(self, inputs: dict[str, Any] | None) -> ChainStart | None:
        if not self.wants(ChainStart.slot):
            return None
        frozen = freeze(inputs, "inputs") if inputs is not None else None
        return self._make(ChainStart, {"inputs": frozen})  # type: ignore[no-any-return]

    def chain_end_event(self, outputs: Any) -> ChainEnd | None:
        self.done = True
        if not self.wants(ChainEnd.slot):
            return None
        frozen = freeze(outputs, "outputs")
        return self._make(ChainEnd, {"outputs": frozen})  # type: ignore[no-any-return]

    def chain_error_event(self, exc: BaseException, reason: Reason) -> ChainError | None:
        self.done = True
        if not self.wants(ChainError.slot):
            return None
        return self._make(  # type: ignore[no-any-return]
            ChainError, {"error": ErrorInfo.of(exc), "reason": reason}
        )

    # -- delivering events -----------------------------------------------

    def emit(self, event: BaseEvent | None) -> None:
        """Deliver a start or step event (the terminal one goes through
        :meth:`finish`): sync handlers inline, async ones via the drain.

        Raises :class:`HandlerError` after every handler has seen the event
        when a handler with ``raise_error`` failed on it.
        """
        if event is None:
            return
        slot = event.slot
        failures = self._failures
        deliver(self._inline[slot], event, failures)
        if SIGNALS[slot].receivers or self._sinks or failures.error is not None:
            self._post(event)

    def _post(self, event: BaseEvent) -> None:
        """After the handlers: the signal, the drains, a raise_error failure."""
        failures = self._failures
        if SIGNALS[event.slot].receivers:
            send_signal(event, self.sender, failures)
        for sink in self._sinks:
            sink.put(event)
        if failures.error is not None:
            raise failures.take()  # type: ignore[misc]

    def aemit(self, event: BaseEvent | None) -> Awaitable[None]:
        """Deliver a start or step event in async code (await it): sync hooks
        inline, async hooks awaited (the terminal one goes through :meth:`afinish`)."""
        if event is None:
            return _DONE
        t = self._t
        if not t.awaits:  # sync hooks only: delivered now, as awaiting would deliver them
            self.emit(event)
            return _DONE
        return adeliver(t.ordered[event.slot], event, self._failures, after=self._post)

    def finish(self, event: BaseEvent | None, *, wait: bool = True) -> None:
        """Deliver the terminal event, let async handlers drain (not when
        ``wait`` is False, as when a garbage collector finalises an abandoned
        stream) and raise the failure the caller must get, if any."""
        try:
            if event is not None and self._ends[event.slot]:
                end(self._t, self._failures, event, self.sender, self._drain, self._stray)
            else:
                self.emit(event)
        finally:
            late = self.settle(wait=wait)
        if late is not None:
            raise late

    def afinish(self, event: BaseEvent | None) -> Awaitable[None]:
        """Async :meth:`finish` (await it; async hooks are awaited inline: nothing drains)."""
        if event is None or not self._ends[event.slot]:
            return self.aemit(event)
        return aend(self._t, self._failures, event, self.sender)

    def settle(self, *, wait: bool) -> HandlerError | None:
        """After the terminal event: let async hooks drain (unless ``wait`` is
        False) and return a failure that must still reach the caller."""
        if self._settled:
            return None
        self._settled = True
        if self._sinks:  # only a sync run with async hooks has drains
            for drain in self._sinks:
                drain.finish()
            if self._drain is not None and wait:
                self._drain.wait(self.run_id)
        failures = self._failures
        late = failures.deferred
        if late is None:
            return None
        failures.deferred = None
        return late if wait else None

    def clear_failure(self) -> None:
        """Forget a pending handler failure (it is being raised already)."""
        self._failures.error = None
