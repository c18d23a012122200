"""The typed lifecycle events (DESIGN.md section 2).

Every event is a frozen pydantic model; together they form one discriminated
union on ``type``, :data:`Event`. A JSON line read back through
:func:`parse_event` gives an equal event::

    >>> from streamllm.events import parse_event
    >>> event = parse_event(line)          # doctest: +SKIP
    >>> parse_event(event.model_dump_json()) == event   # doctest: +SKIP
    True
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeAlias
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter

from streamllm.messages import Message
from streamllm.outputs import LLMResult

__all__ = [
    "HOOKS",
    "SCHEMA_VERSION",
    "BaseEvent",
    "ChainEnd",
    "ChainError",
    "ChainStart",
    "ErrorInfo",
    "Event",
    "LLMEnd",
    "LLMError",
    "LLMStart",
    "NewToken",
    "Reason",
    "event_json_schema",
    "parse_event",
]

#: The version of the event schema; recordings carry it in their header.
SCHEMA_VERSION = 1

Reason = Literal["cancelled", "timeout", "failed"]

#: Hook names, in the order of each event class's ``kind``.
HOOKS: tuple[str, ...] = (
    "on_llm_start",
    "on_llm_new_token",
    "on_llm_end",
    "on_llm_error",
    "on_chain_start",
    "on_chain_end",
    "on_chain_error",
)


class BaseEvent(BaseModel):
    """Fields common to every event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Index into :data:`HOOKS`; the dispatcher's table key.
    kind: ClassVar[int]

    if not TYPE_CHECKING:

        def __getattr__(self, item: str) -> Any:
            # Events built on the hot path (streamllm._fast.trusted) set only
            # ``__dict__``; these answers are what validation would have stored.
            if item == "__pydantic_fields_set__":
                return _FIELDS_SET[type(self)]
            if item in ("__pydantic_extra__", "__pydantic_private__"):
                return None
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {item!r}")

    run_id: UUID
    parent_run_id: UUID | None = None
    trace_id: UUID
    seq: int = Field(ge=0)
    time: float
    monotonic: float
    name: str
    tags: tuple[str, ...] = ()
    metadata: dict[str, JsonValue] = Field(default_factory=dict)


class ErrorInfo(BaseModel):
    """What went wrong: the exception's type name and message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    message: str

    @classmethod
    def of(cls, exc: BaseException) -> ErrorInfo:
        return cls(type=type(exc).__name__, message=str(exc))


class LLMStart(BaseEvent):
    """Before the provider is called."""

    kind: ClassVar[int] = 0
    type: Literal["llm_start"] = "llm_start"
    model: str
    prompt: str | None = None
    messages: tuple[Message, ...] | None = None
    invocation_params: dict[str, JsonValue] = Field(default_factory=dict)


class NewToken(BaseEvent):
    """A streamed text chunk, before the consumer sees it."""

    kind: ClassVar[int] = 1
    type: Literal["new_token"] = "new_token"
    token: str
    index: int = Field(ge=0)
    chunk: dict[str, JsonValue] | None = None


class LLMEnd(BaseEvent):
    """The run finished normally."""

    kind: ClassVar[int] = 2
    type: Literal["llm_end"] = "llm_end"
    result: LLMResult


class LLMError(BaseEvent):
    """The run failed or was abandoned; ``partial`` holds what had streamed."""

    kind: ClassVar[int] = 3
    type: Literal["llm_error"] = "llm_error"
    error: ErrorInfo
    reason: Reason
    partial: LLMResult


class ChainStart(BaseEvent):
    """A user-defined parent run began."""

    kind: ClassVar[int] = 4
    type: Literal["chain_start"] = "chain_start"
    inputs: dict[str, JsonValue] | None = None


class ChainEnd(BaseEvent):
    """A user-defined parent run finished."""

    kind: ClassVar[int] = 5
    type: Literal["chain_end"] = "chain_end"
    outputs: JsonValue = None


class ChainError(BaseEvent):
    """A user-defined parent run failed or was cancelled."""

    kind: ClassVar[int] = 6
    type: Literal["chain_error"] = "chain_error"
    error: ErrorInfo
    reason: Reason


Event: TypeAlias = Annotated[
    LLMStart | NewToken | LLMEnd | LLMError | ChainStart | ChainEnd | ChainError,
    Field(discriminator="type"),
]

EVENT_CLASSES: tuple[type[BaseEvent], ...] = (
    LLMStart,
    NewToken,
    LLMEnd,
    LLMError,
    ChainStart,
    ChainEnd,
    ChainError,
)

_FIELDS_SET: dict[type[BaseEvent], frozenset[str]] = {
    cls: frozenset(cls.model_fields) for cls in EVENT_CLASSES
}

@functools.cache
def _adapter() -> TypeAdapter[Event]:
    # Built on first use: building the union's validator is a large share of
    # the import time, and most programs never read events back.
    return TypeAdapter(Event)


def parse_event(data: str | bytes | dict[str, Any]) -> Event:
    """Read one event back from a JSON line (or an already-decoded mapping)."""
    if isinstance(data, dict):
        return _adapter().validate_python(data)
    return _adapter().validate_json(data)


def event_json_schema() -> dict[str, Any]:
    """The JSON schema of :data:`Event`, the union of every event type."""
    return _adapter().json_schema()
