"""The callback manager and the run manager: one generic dispatch for every event.

A :class:`CallbackManager` holds the handlers, tags and metadata a call runs
with, merged from every source. :meth:`CallbackManager.start_run` returns a
:class:`RunManager` bound to one run: it owns the run id, parent, trace id and
``seq``, builds events only when a handler or signal receiver wants them, and
delivers each to every handler through one loop (:meth:`RunManager.emit`, or
:meth:`RunManager.aemit` where async hooks are awaited inline).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeAlias, final
from uuid import UUID

from pydantic import JsonValue, TypeAdapter, ValidationError

from streamllm._fast import trusted_event
from streamllm._ids import new_run_id

# Every run comes through this module: importing env arms STREAMLLM_TRACING.
from streamllm.callbacks import env as _env  # noqa: F401
from streamllm.callbacks.context import (
    ParentRun,
    current_parent,
    global_entries,
    scoped_entries,
)
from streamllm.callbacks.failures import handler_failures, log_failure
from streamllm.callbacks.loop import AsyncDrain
from streamllm.callbacks.registry import Entry, Handler, resolve_all
from streamllm.errors import ConfigurationError, HandlerError, ProviderTimeout
from streamllm.events import (
    EVENT_CLASSES,
    BaseEvent,
    ChainEnd,
    ChainError,
    ChainStart,
    ErrorInfo,
    LLMEnd,
    LLMError,
    LLMStart,
    NewToken,
    Reason,
)
from streamllm.messages import Message
from streamllm.outputs import LLMResult
from streamllm.signals import SIGNALS

__all__ = ["CallbackManager", "RunManager", "reason_for"]

Mode: TypeAlias = Literal["sync", "async"]
_Pair: TypeAlias = tuple[Entry, Callable[[Any], Any]]
_Triple: TypeAlias = tuple[Entry, Callable[[Any], Any], bool]

_N = len(EVENT_CLASSES)
_TYPES = {cls: cls.model_fields["type"].default for cls in EVENT_CLASSES}
_TOKEN_SIGNAL = SIGNALS[NewToken.kind]
_EMPTY: tuple[Any, ...] = ((),) * _N
_time = time.time
_monotonic = time.monotonic
_metadata_adapter: TypeAdapter[dict[str, JsonValue]] = TypeAdapter(dict[str, JsonValue])
_TERMINAL = frozenset({LLMEnd.kind, LLMError.kind, ChainEnd.kind, ChainError.kind})


def check_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """Metadata must be a JSON-compatible mapping; checked once, when the call starts."""
    if not metadata:
        return {}
    try:
        return _metadata_adapter.validate_python(dict(metadata))
    except (ValidationError, TypeError) as exc:
        raise ConfigurationError(f"metadata must be a JSON-compatible mapping: {exc}") from exc


def check_tags(tags: Iterable[str] | None) -> tuple[str, ...]:
    if not tags:
        return ()
    if isinstance(tags, str):
        raise ConfigurationError("tags must be a list of strings, not one string")
    out = tuple(tags)
    for tag in out:
        if not isinstance(tag, str):
            raise ConfigurationError(f"tags must be strings, got {type(tag).__name__}")
    return out


def reason_for(exc: BaseException) -> Reason:
    """How a run ended, from the exception that ended it."""
    if isinstance(exc, ProviderTimeout):
        return "timeout"
    if isinstance(exc, KeyboardInterrupt | GeneratorExit) or _is_cancel(exc):
        return "cancelled"
    return "failed"


def _is_cancel(exc: BaseException) -> bool:
    import asyncio

    return isinstance(exc, asyncio.CancelledError)


@final
class CallbackManager:
    """Handlers, tags and metadata for runs.

    >>> manager = CallbackManager([printer], tags=["demo"])     # doctest: +SKIP
    >>> run = manager.start_run(name="my-run", sender=None)    # doctest: +SKIP
    """

    __slots__ = ("entries", "metadata", "parent", "tags")

    def __init__(
        self,
        handlers: Sequence[Handler] | None = None,
        *,
        tags: Iterable[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        parent: ParentRun | None = None,
    ) -> None:
        self.entries: tuple[Entry, ...] = _dedupe(resolve_all(handlers))
        self.tags = check_tags(tags)
        self.metadata = check_metadata(metadata)
        self.parent = parent

    @classmethod
    def configure(
        cls,
        *,
        local: tuple[Entry, ...] = (),
        inheritable: tuple[Entry, ...] = (),
        tags: tuple[str, ...] = (),
        metadata: dict[str, Any] | None = None,
    ) -> CallbackManager:
        """Merge every source: global, scoped, the parent run, then ``inheritable``
        (a model's handlers) and ``local`` (the call's). Each handler once."""
        parent = current_parent()
        entries = global_entries() + scoped_entries()
        if parent is not None:
            entries += parent.entries
            tags = parent.tags + tuple(t for t in tags if t not in parent.tags)
            metadata = {**parent.metadata, **(metadata or {})}
        entries += inheritable + local
        self = cls.__new__(cls)
        self.entries = _dedupe(entries) if entries else ()
        self.tags = tags
        self.metadata = metadata or {}
        self.parent = parent
        return self

    def start_run(
        self,
        *,
        name: str,
        sender: object,
        run_id: UUID | None = None,
        mode: Mode = "sync",
    ) -> RunManager:
        """Bind a new run (its events are not sent until the caller emits them)."""
        parent = self.parent
        rid = run_id if run_id is not None else new_run_id()
        return RunManager(
            self.entries,
            run_id=rid,
            parent_run_id=parent.run_id if parent is not None else None,
            trace_id=parent.trace_id if parent is not None else rid,
            name=name,
            tags=self.tags,
            metadata=self.metadata,
            sender=sender,
            mode=mode,
        )


def _dedupe(entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
    seen: set[int] = set()
    out: list[Entry] = []
    for entry in entries:
        key = id(entry.handler)
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return tuple(out) if len(out) != len(entries) else entries


def _tables(
    entries: tuple[Entry, ...], mode: Mode
) -> tuple[
    tuple[tuple[_Pair, ...], ...], tuple[tuple[_Pair, ...], ...], tuple[tuple[_Triple, ...], ...]
]:
    """Per event kind: inline sync hooks, async hooks, and every hook in order."""
    inline: list[list[_Pair]] = [[] for _ in range(_N)]
    deferred: list[list[_Pair]] = [[] for _ in range(_N)]
    ordered: list[list[_Triple]] = [[] for _ in range(_N)]
    for entry in entries:
        for kind, fn in enumerate(entry.hooks):
            if fn is None:
                continue
            is_async = entry.is_async[kind]
            (deferred if is_async else inline)[kind].append((entry, fn))
            ordered[kind].append((entry, fn, is_async))
    return (
        tuple(map(tuple, inline)),
        tuple(map(tuple, deferred)),
        tuple(map(tuple, ordered)) if mode == "async" else _EMPTY,
    )


@final
class RunManager:
    """One run's dispatcher: ids, ``seq``, and delivery to every handler.

    Model code never builds events by hand: it calls :meth:`llm_start`,
    :meth:`token`, :meth:`llm_end` or :meth:`llm_error` (and the ``a``-prefixed
    twins in async code), and the manager builds the event only when someone
    wants it.
    """

    __slots__ = (
        "_common",
        "_deferred",
        "_drain",
        "_inline",
        "_logged",
        "_ordered",
        "_raise",
        "_token_tpl",
        "_wanted",
        "done",
        "has_async",
        "index",
        "metadata",
        "name",
        "parent_run_id",
        "run_id",
        "sender",
        "seq",
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
        metadata: dict[str, Any],
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
        self._raise: HandlerError | None = None
        self._deferred: HandlerError | None = None
        self._logged: set[int] | None = None
        self._token_tpl: dict[str, Any] | None = None
        self._common: dict[str, Any] | None = None
        if entries:
            inline, deferred, ordered = _tables(entries, mode)
            self._inline = inline
            self._ordered = ordered
            self._wanted = tuple(bool(i) or bool(d) for i, d in zip(inline, deferred, strict=True))
            self.has_async = any(deferred)
            self._drain = (
                AsyncDrain(deferred, self._failed_async)
                if self.has_async and mode == "sync"
                else None
            )
        else:
            self._inline = self._ordered = _EMPTY
            self._wanted = (False,) * _N
            self.has_async = False
            self._drain = None

    # -- building events -------------------------------------------------

    def wants(self, kind: int) -> bool:
        """Whether any handler or signal receiver wants events of this kind."""
        return self._wanted[kind] or bool(SIGNALS[kind].receivers)

    def wants_tokens(self) -> bool:
        """Whether to build ``NewToken``s for this run; asked once, at its start.

        Asks blinker per sender: a receiver disconnected from this model (but
        still connected to others) does not make every run build tokens.
        """
        return self._wanted[1] or (
            bool(_TOKEN_SIGNAL.receivers) and _TOKEN_SIGNAL.has_receivers_for(self.sender)
        )

    def _base(self) -> dict[str, Any]:
        common = self._common
        if common is None:
            common = self._common = {
                "run_id": self.run_id,
                "parent_run_id": self.parent_run_id,
                "trace_id": self.trace_id,
                "seq": 0,
                "time": 0.0,
                "monotonic": 0.0,
                "name": self.name,
                "tags": self.tags,
                "metadata": self.metadata,
            }
        seq = self.seq
        self.seq = seq + 1
        return {**common, "seq": seq, "time": _time(), "monotonic": _monotonic()}

    def _make(self, cls: type[BaseEvent], fields: dict[str, Any]) -> Any:
        return trusted_event(cls, {**self._base(), "type": _TYPES[cls], **fields})

    def token_event(self, text: str, extras: Mapping[str, Any] | None) -> NewToken:
        """The ``NewToken`` for the next streamed chunk (call only when wanted)."""
        tpl = self._token_tpl
        if tpl is None:
            tpl = self._token_tpl = self._make(
                NewToken, {"token": "", "index": 0, "chunk": None}
            ).__dict__
            self.seq -= 1
        data = tpl.copy()
        seq = self.seq
        self.seq = seq + 1
        index = self.index
        self.index = index + 1
        data["seq"] = seq
        data["time"] = _time()
        data["monotonic"] = _monotonic()
        data["token"] = text
        data["index"] = index
        if extras is not None:
            data["chunk"] = dict(extras)
        return trusted_event(NewToken, data)

    def start_event(
        self,
        model: str,
        prompt: str | None,
        messages: tuple[Message, ...] | None,
        invocation_params: dict[str, Any],
    ) -> LLMStart | None:
        if not self.wants(LLMStart.kind):
            return None
        return self._make(  # type: ignore[no-any-return]
            LLMStart,
            {
                "model": model,
                "prompt": prompt,
                "messages": messages,
                "invocation_params": invocation_params,
            },
        )

    def end_event(self, result: LLMResult) -> LLMEnd | None:
        self.done = True
        if not self.wants(LLMEnd.kind):
            return None
        return self._make(LLMEnd, {"result": result})  # type: ignore[no-any-return]

    def error_event(
        self, exc: BaseException, reason: Reason, partial: LLMResult
    ) -> LLMError | None:
        self.done = True
        if not self.wants(LLMError.kind):
            return None
        return self._make(  # type: ignore[no-any-return]
            LLMError, {"error": ErrorInfo.of(exc), "reason": reason, "partial": partial}
        )

    def chain_start_event(self, inputs: dict[str, Any] | None) -> ChainStart | None:
        if not self.wants(ChainStart.kind):
            return None
        return self._make(ChainStart, {"inputs": inputs})  # type: ignore[no-any-return]

    def chain_end_event(self, outputs: Any) -> ChainEnd | None:
        self.done = True
        if not self.wants(ChainEnd.kind):
            return None
        return self._make(ChainEnd, {"outputs": outputs})  # type: ignore[no-any-return]

    def chain_error_event(self, exc: BaseException, reason: Reason) -> ChainError | None:
        self.done = True
        if not self.wants(ChainError.kind):
            return None
        return self._make(  # type: ignore[no-any-return]
            ChainError, {"error": ErrorInfo.of(exc), "reason": reason}
        )

    # -- delivering events -----------------------------------------------

    def emit(self, event: BaseEvent | None) -> None:
        """Deliver an event to the sync handlers inline (async ones via the drain).

        Raises :class:`HandlerError` after every handler has seen the event
        when a handler with ``raise_error`` failed on it.
        """
        if event is None:
            return
        kind = event.kind
        for entry, fn in self._inline[kind]:
            try:
                fn(event)
            except Exception as exc:
                self._failed(entry, event, exc)
            except BaseException:
                self._deliver_rest(self._inline[kind], entry, event)
                raise
        signal = SIGNALS[kind]
        if signal.receivers:
            self._signal(signal, event)
        if self._drain is not None:
            self._drain.put(event)
        if self._raise is not None:
            raise self._raise

    async def aemit(self, event: BaseEvent | None) -> None:
        """Deliver an event in async code: sync hooks inline, async hooks awaited."""
        if event is None:
            return
        kind = event.kind
        for entry, fn, is_async in self._ordered[kind]:
            try:
                if is_async:
                    await fn(event)
                else:
                    fn(event)
            except Exception as exc:
                self._failed(entry, event, exc)
            except BaseException:
                # Cancellation or Ctrl-C inside a handler: the others still get
                # the event (sync hooks only: we are being cancelled), then it goes on.
                sync = tuple((e, f) for e, f, a in self._ordered[kind] if not a or e is entry)
                self._deliver_rest(sync, entry, event)
                raise
        signal = SIGNALS[kind]
        if signal.receivers:
            self._signal(signal, event)
        if self._raise is not None:
            raise self._raise

    def _deliver_rest(self, table: tuple[_Pair, ...], failed: Entry, event: BaseEvent) -> None:
        """After ``failed`` raised KeyboardInterrupt, SystemExit or cancellation:
        deliver ``event`` to the handlers after it, so none misses a token the
        result contains. The exception itself is re-raised by the caller."""
        rest = False
        for entry, fn in table:
            if rest:
                try:
                    fn(event)
                except Exception as exc:
                    self._failed(entry, event, exc)
            rest = rest or entry is failed

    def _signal(self, signal: Any, event: BaseEvent) -> None:
        for receiver in signal.receivers_for(self.sender):
            try:
                receiver(self.sender, event=event)
            except Exception as exc:
                self._failed(_receiver_entry(receiver), event, exc)

    def _failed_async(self, entry: Entry, event: BaseEvent, exc: BaseException) -> None:
        # An async hook on the background loop cannot stop the run where it
        # failed: its raise_error failure reaches the caller after the run ends.
        error = self._record(entry, event, exc)
        if error is not None and self._deferred is None:
            self._deferred = error

    def _failed(self, entry: Entry, event: BaseEvent, exc: BaseException) -> None:
        error = self._record(entry, event, exc)
        if error is not None and self._raise is None:
            self._raise = error

    def _record(self, entry: Entry, event: BaseEvent, exc: BaseException) -> HandlerError | None:
        handler_failures.record(entry.name)
        logged = self._logged
        if logged is None:
            logged = self._logged = set()
        if id(entry.handler) not in logged:
            logged.add(id(entry.handler))
            log_failure(entry.name, event.type, self.run_id, exc)  # type: ignore[attr-defined]
        if not entry.raise_error:
            return None
        error = HandlerError(
            f"handler {entry.name} failed on {event.type}: "  # type: ignore[attr-defined]
            f"{type(exc).__name__}: {exc}",
            handler=entry.handler,
            event=event,  # type: ignore[arg-type]
        )
        error.__cause__ = exc
        return error

    def settle(self, *, wait: bool) -> HandlerError | None:
        """After the terminal event: let async hooks drain (unless ``wait`` is
        False, as when a garbage collector finalises an abandoned stream) and
        return a failure that must still reach the caller."""
        drain = self._drain
        if drain is not None:
            drain.finish()
            if wait:
                hung = drain.wait()
                if hung is not None:
                    log_failure(hung.name, "drain", self.run_id, TimeoutError(), hung=True)
        return self._deferred if wait else None

    def clear_failure(self) -> None:
        """Forget a pending handler failure (it is being raised already)."""
        self._raise = None


def _receiver_entry(receiver: Callable[..., Any]) -> Entry:
    name = getattr(receiver, "__qualname__", repr(receiver))
    return Entry(receiver, f"signal receiver {name}", (None,) * _N, False)
