"""The typed lifecycle events (DESIGN.md section 2).

Every event is a frozen pydantic model; together they form one discriminated
union on ``type``, :data:`Event`. What an event holds is read-only too (its
mappings and lists are the read-only ones of :mod:`streamllm._frozen`), so a
handler cannot change what the next handler, or the model, sees. A JSON line
written by :func:`event_json` and read back through :func:`parse_event` gives
an equal event, whatever text it holds::

    >>> from streamllm.events import event_json, parse_event
    >>> parse_event(event_json(event)) == event   # doctest: +SKIP
    True

A new kind of event is a class here (with its ``slot``, ``hook``, ``phase``
and ``droppable``), a member of :data:`Event` and of :data:`EVENT_CLASSES`,
and nothing else: the callbacks layer reads the rest from these class variables.
"""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any, ClassVar, Literal, TypeAlias

from pydantic import Field, TypeAdapter, ValidationError

from streamllm._chat_events import BlockDelta, BlockEnd, BlockStart, ToolEnd, ToolError, ToolStart
from streamllm._event_base import BaseEvent, ErrorInfo, FrozenJson, Phase, Reason, twin
from streamllm._frozen import FrozenDict, JsonMapping
from streamllm.chat.tools_schema import ToolSpec
from streamllm.messages import Message
from streamllm.outputs import LLMResult

__all__ = [
    "EVENT_CLASSES",
    "HOOKS",
    "SCHEMA_VERSION",
    "BaseEvent",
    "BlockDelta",
    "BlockEnd",
    "BlockStart",
    "ChainEnd",
    "ChainError",
    "ChainStart",
    "ErrorInfo",
    "Event",
    "LLMEnd",
    "LLMError",
    "LLMStart",
    "NewToken",
    "Phase",
    "Reason",
    "ToolEnd",
    "ToolError",
    "ToolStart",
    "event_json",
    "event_json_schema",
    "parse_event",
]
#: The version of the event schema; recordings carry it in their header.
SCHEMA_VERSION = 1


class LLMStart(BaseEvent):
    """Before the provider is called."""

    slot: ClassVar[int] = 0
    hook: ClassVar[str] = "on_llm_start"
    phase: ClassVar[Phase] = "start"
    type: Literal["llm_start"] = "llm_start"
    model: str
    prompt: str | None = None
    messages: tuple[Message, ...] | None = None
    invocation_params: JsonMapping = Field(default_factory=FrozenDict)
    #: The tool definitions a chat model was offered (``bind_tools``); empty otherwise.
    tools: tuple[ToolSpec, ...] = ()


class NewToken(BaseEvent):
    """A streamed text chunk, before the consumer sees it."""

    slot: ClassVar[int] = 1
    hook: ClassVar[str] = "on_llm_new_token"
    phase: ClassVar[Phase] = "step"
    droppable: ClassVar[bool] = True
    type: Literal["new_token"] = "new_token"
    token: str
    index: int = Field(ge=0)
    #: The text block it belongs to: its position in a chat message (0 for a text model).
    block: int = Field(default=0, ge=0)
    chunk: JsonMapping | None = None


class LLMError(BaseEvent):
    """The run failed or was abandoned; ``partial`` holds what had streamed."""

    slot: ClassVar[int] = 3
    hook: ClassVar[str] = "on_llm_error"
    phase: ClassVar[Phase] = "error"
    type: Literal["llm_error"] = "llm_error"
    error: ErrorInfo
    reason: Reason
    partial: LLMResult


class LLMEnd(BaseEvent):
    """The run finished normally."""

    slot: ClassVar[int] = 2
    hook: ClassVar[str] = "on_llm_end"
    phase: ClassVar[Phase] = "end"
    type: Literal["llm_end"] = "llm_end"
    result: LLMResult

    def as_failure(self, error: ErrorInfo) -> LLMError:
        """The ``LLMError(reason="failed")`` that replaces this event when the end
        itself fails (a ``raise_error`` handler): same run, ``seq`` and time,
        with this result as the partial one."""
        return twin(self, LLMError, {"error": error, "reason": "failed", "partial": self.result})


class ChainStart(BaseEvent):
    """A user-defined parent run began."""

    slot: ClassVar[int] = 4
    hook: ClassVar[str] = "on_chain_start"
    phase: ClassVar[Phase] = "start"
    type: Literal["chain_start"] = "chain_start"
    inputs: JsonMapping | None = None


class ChainError(BaseEvent):
    """A user-defined parent run failed or was cancelled."""

    slot: ClassVar[int] = 6
    hook: ClassVar[str] = "on_chain_error"
    phase: ClassVar[Phase] = "error"
    type: Literal["chain_error"] = "chain_error"
    error: ErrorInfo
    reason: Reason


class ChainEnd(BaseEvent):
    """A user-defined parent run finished."""

    slot: ClassVar[int] = 5
    hook: ClassVar[str] = "on_chain_end"
    phase: ClassVar[Phase] = "end"
    type: Literal["chain_end"] = "chain_end"
    outputs: FrozenJson = None

    def as_failure(self, error: ErrorInfo) -> ChainError:
        """The ``ChainError(reason="failed")`` that replaces this event when the
        end itself fails; same run, ``seq`` and time."""
        return twin(self, ChainError, {"error": error, "reason": "failed"})


Event: TypeAlias = Annotated[
    LLMStart
    | NewToken
    | LLMEnd
    | LLMError
    | ChainStart
    | ChainEnd
    | ChainError
    | BlockStart
    | BlockDelta
    | BlockEnd
    | ToolStart
    | ToolEnd
    | ToolError,
    Field(discriminator="type"),
]

#: Every event class, in ``slot`` order.
EVENT_CLASSES: tuple[type[BaseEvent], ...] = (
    LLMStart,
    NewToken,
    LLMEnd,
    LLMError,
    ChainStart,
    ChainEnd,
    ChainError,
    BlockStart,
    BlockDelta,
    BlockEnd,
    ToolStart,
    ToolEnd,
    ToolError,
)

#: Hook names, in ``slot`` order.
HOOKS: tuple[str, ...] = tuple(cls.hook for cls in EVENT_CLASSES)

for _slot, _cls in enumerate(EVENT_CLASSES):
    if _cls.slot != _slot:  # pragma: no cover - a programming error, caught at import
        raise AssertionError(f"{_cls.__name__}.slot is {_cls.slot}, expected {_slot}")


@functools.cache
def _adapter() -> TypeAdapter[Event]:
    # Built on first use: building the union's validator is a large share of
    # the import time, and most programs never read events back.
    return TypeAdapter(Event)


def event_json(event: BaseEvent) -> str:
    """One event as a line of JSON (without the newline), whatever text it holds.

    The same as ``event.model_dump_json()``, which events make safe for any
    text (see :meth:`BaseEvent.model_dump_json`)."""
    return event.model_dump_json()


def parse_event(data: str | bytes | dict[str, Any]) -> Event:
    """Read one event back from a JSON line (or an already-decoded mapping)."""
    if isinstance(data, dict):
        return _adapter().validate_python(data)
    try:
        return _adapter().validate_json(data)
    except ValidationError as exc:
        # pydantic's JSON parser refuses an escaped lone surrogate, which
        # event_json writes for such text; the standard library reads it.
        if exc.errors()[0]["type"] != "json_invalid":
            raise
        try:
            decoded = json.loads(data)
        except ValueError:
            raise exc from None
        return _adapter().validate_python(decoded)


def event_json_schema() -> dict[str, Any]:
    """The JSON schema of :data:`Event`, the union of every event type."""
    return _adapter().json_schema()
