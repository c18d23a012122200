"""What every event shares: the common fields, the error payload, the JSON writer.

Split from :mod:`streamllm.events` (which re-exports all of it) so the block
and tool events can live in their own module; users import from ``events``.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue
from pydantic_core import PydanticSerializationError

from streamllm._fast import fill_slots_lazily, trusted_event
from streamllm._frozen import FrozenDict, JsonMapping, freeze

__all__ = ["BaseEvent", "ErrorInfo", "FrozenJson", "Phase", "Reason", "twin"]

#: A JSON value whose containers are read-only (``ChainEnd.outputs``).
FrozenJson = Annotated[JsonValue, AfterValidator(freeze)]

Reason = Literal["cancelled", "timeout", "failed"]

Phase = Literal["start", "step", "end", "error"]


class BaseEvent(BaseModel):
    """Fields common to every event.

    Each event class also says, as class variables, how it is delivered:
    ``slot`` (its index in :data:`streamllm.events.EVENT_CLASSES`, the dispatcher's table key),
    ``hook`` (the handler method it calls), ``phase`` (where it stands in its
    run's lifecycle) and ``droppable`` (whether a full queue may drop it).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    slot: ClassVar[int]
    hook: ClassVar[str]
    phase: ClassVar[Phase]
    droppable: ClassVar[bool] = False

    run_id: UUID
    parent_run_id: UUID | None = None
    trace_id: UUID
    seq: int = Field(ge=0)
    time: float
    monotonic: float
    name: str
    tags: tuple[str, ...] = ()
    metadata: JsonMapping = Field(default_factory=FrozenDict)

    if not TYPE_CHECKING:  # type checkers keep pydantic's own signature

        def model_dump_json(self, **kwargs: Any) -> str:
            """pydantic's ``model_dump_json``, for any text a provider sent.

            Text may hold a lone surrogate (``"\\ud83d"`` is valid JSON, and
            an emoji split across two chunks arrives so). pydantic cannot write
            such a code point as UTF-8; this writes it as its JSON escape,
            ``\\ud83d``, which :func:`parse_event` reads back to the same text.
            So a recording, the bus and the web stream never fail on a token.
            """
            try:
                return super().model_dump_json(**kwargs)
            except PydanticSerializationError:
                return _json_with_surrogates(self, kwargs)


# Events are built per token by setting only their __dict__ (see streamllm._fast).
fill_slots_lazily(BaseEvent)


class ErrorInfo(BaseModel):
    """What went wrong: the exception's type name and message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    message: str

    @classmethod
    def of(cls, exc: BaseException) -> ErrorInfo:
        return cls(type=type(exc).__name__, message=str(exc))


_E = TypeVar("_E", bound=BaseEvent)


def twin(event: BaseEvent, cls: type[_E], fields: dict[str, Any]) -> _E:
    common = {name: event.__dict__[name] for name in BaseEvent.model_fields}
    return trusted_event(cls, {**common, "type": cls.model_fields["type"].default, **fields})


def _json_with_surrogates(model: BaseModel, kwargs: dict[str, Any]) -> str:
    # Rare: only text with a lone surrogate gets here, so the slower path is fine.
    indent = kwargs.pop("indent", None)
    ensure_ascii = kwargs.pop("ensure_ascii", False)
    text = json.dumps(
        model.model_dump(mode="json", **kwargs),
        indent=indent,
        ensure_ascii=ensure_ascii,
        separators=(",", ":") if indent is None else None,
    )
    return _SURROGATE.sub(_escape, text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match[0]):04x}"
