"""What the dispatcher reads from the event classes, in one place.

Every table in the callbacks layer is indexed by an event class's position in
:data:`streamllm.events.EVENT_CLASSES`, and every hook name comes from
:data:`streamllm.events.HOOKS`; adding an event kind there is all it takes.
An *end* event is one with an ``as_failure`` twin (``LLMEnd`` -> ``LLMError``),
a *terminal* event an end or an error event.
"""

from __future__ import annotations

from typing import Any

from streamllm._fast import trusted_event
from streamllm.events import (
    EVENT_CLASSES,
    BaseEvent,
    ChainEnd,
    ChainError,
    ErrorInfo,
    LLMEnd,
    LLMError,
)

__all__ = ["DROPPABLE", "ENDS", "TERMINAL", "TYPES", "N", "as_failure"]

N = len(EVENT_CLASSES)
TYPES: dict[type[BaseEvent], str] = {cls: cls.model_fields["type"].default for cls in EVENT_CLASSES}


def _phase(cls: type[BaseEvent]) -> str:
    phase = getattr(cls, "phase", None)
    if isinstance(phase, str):
        return phase
    # Until every event class declares its phase (events.py).
    if cls in (LLMEnd, ChainEnd):
        return "end"
    if cls in (LLMError, ChainError):
        return "error"
    return "start" if TYPES[cls].endswith("start") else "step"


#: Slots of end events (a raise_error handler failing on one turns it into its error twin).
ENDS = frozenset(cls.kind for cls in EVENT_CLASSES if _phase(cls) == "end")
#: Slots of terminal events: exactly one per run.
TERMINAL = frozenset(cls.kind for cls in EVENT_CLASSES if _phase(cls) in ("end", "error"))
#: Slots of events a bounded buffer may drop (streamed text; never lifecycle events).
DROPPABLE = frozenset(
    cls.kind for cls in EVENT_CLASSES if getattr(cls, "droppable", TYPES[cls] == "new_token")
)


def as_failure(event: Any, error: BaseException) -> Any:
    """The error event that replaces end ``event`` when a raise_error handler failed."""
    info = ErrorInfo.of(error)
    method = getattr(event, "as_failure", None)
    if method is not None:
        return method(info)
    # Until events.py has as_failure: same common fields, same seq (a replacement).
    data = {k: v for k, v in event.__dict__.items() if k in BaseEvent.model_fields}
    if isinstance(event, LLMEnd):
        data.update(type="llm_error", error=info, reason="failed", partial=event.result)
        return trusted_event(LLMError, data)
    data.update(type="chain_error", error=info, reason="failed")
    return trusted_event(ChainError, data)
