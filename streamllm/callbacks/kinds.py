"""What the dispatcher reads from the event classes, in one place.

Every table in the callbacks layer is indexed by an event class's ``slot`` (its
position in :data:`streamllm.events.EVENT_CLASSES`), every hook name comes from
its ``hook``, and the lifecycle rules from its ``phase`` and ``droppable``:
adding an event kind in ``events.py`` is all it takes.
"""

from __future__ import annotations

from typing import Any

from streamllm.events import EVENT_CLASSES, BaseEvent, ErrorInfo

__all__ = ["DROPPABLE", "ENDS", "TERMINAL", "TYPES", "N", "as_failure"]

N = len(EVENT_CLASSES)
TYPES: dict[type[BaseEvent], str] = {cls: cls.model_fields["type"].default for cls in EVENT_CLASSES}

#: Slots of end events (a raise_error handler failing on one turns it into its error twin).
ENDS = frozenset(cls.slot for cls in EVENT_CLASSES if cls.phase == "end")
#: Slots of terminal events: exactly one per run.
TERMINAL = frozenset(cls.slot for cls in EVENT_CLASSES if cls.phase in ("end", "error"))
#: Slots of events a bounded buffer may drop (streamed text; never lifecycle events).
DROPPABLE = frozenset(cls.slot for cls in EVENT_CLASSES if cls.droppable)


def as_failure(event: Any, error: BaseException) -> Any:
    """The error event that replaces end ``event`` when a raise_error handler
    failed: same run, ``seq`` and time (a replacement, not a second terminal)."""
    return event.as_failure(ErrorInfo.of(error))
