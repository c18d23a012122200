"""The chat events (DESIGN.md sections 11 and 12): content blocks and tool runs.

Block events belong to the LLM run that streams the message (same ``run_id``,
``seq`` continues); a tool call is a run of its own: ``ToolStart`` starts it,
``ToolEnd`` or ``ToolError`` ends it. Import them from :mod:`streamllm.events`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from streamllm._event_base import BaseEvent, ErrorInfo, FrozenJson, Phase, Reason, twin
from streamllm._frozen import FrozenDict, JsonMapping
from streamllm.chat.blocks import Block, BlockKind

__all__ = ["BlockDelta", "BlockEnd", "BlockStart", "ToolEnd", "ToolError", "ToolStart"]


class BlockStart(BaseEvent):
    """A content block of a chat message began (DESIGN.md section 11).

    ``block`` is its position in ``AIMessage.content_blocks``; a tool call
    names its ``id`` and ``tool_name`` here when the provider sent them first
    (``name``, like on every event, is the run's name: the model).
    """

    slot: ClassVar[int] = 7
    hook: ClassVar[str] = "on_block_start"
    phase: ClassVar[Phase] = "step"
    type: Literal["block_start"] = "block_start"
    block: int = Field(ge=0)
    kind: BlockKind
    id: str | None = None
    tool_name: str | None = None


class BlockDelta(BaseEvent):
    """A fragment of a reasoning block or of a tool call's raw arguments
    (text fragments are :class:`NewToken`\\ s, so ``on_llm_new_token`` means text)."""

    slot: ClassVar[int] = 8
    hook: ClassVar[str] = "on_block_delta"
    phase: ClassVar[Phase] = "step"
    droppable: ClassVar[bool] = True
    type: Literal["block_delta"] = "block_delta"
    block: int = Field(ge=0)
    kind: BlockKind
    delta: str


class BlockEnd(BaseEvent):
    """A content block finished: ``content`` is the block (tool arguments parsed,
    or an ``InvalidToolCall`` holding the raw text)."""

    slot: ClassVar[int] = 9
    hook: ClassVar[str] = "on_block_end"
    phase: ClassVar[Phase] = "step"
    type: Literal["block_end"] = "block_end"
    block: int = Field(ge=0)
    content: Block


class ToolStart(BaseEvent):
    """A tool run began (a run of its own, DESIGN.md section 12); the common
    ``name`` field is the tool's name."""

    slot: ClassVar[int] = 10
    hook: ClassVar[str] = "on_tool_start"
    phase: ClassVar[Phase] = "start"
    type: Literal["tool_start"] = "tool_start"
    tool_call_id: str | None = None
    args: JsonMapping = Field(default_factory=FrozenDict)


class ToolError(BaseEvent):
    """A tool run failed or was cancelled."""

    slot: ClassVar[int] = 12
    hook: ClassVar[str] = "on_tool_error"
    phase: ClassVar[Phase] = "error"
    type: Literal["tool_error"] = "tool_error"
    error: ErrorInfo
    reason: Reason


class ToolEnd(BaseEvent):
    """A tool run finished; ``output`` is its JSON-compatible result (the tool
    layer turns anything else into its ``repr``)."""

    slot: ClassVar[int] = 11
    hook: ClassVar[str] = "on_tool_end"
    phase: ClassVar[Phase] = "end"
    type: Literal["tool_end"] = "tool_end"
    output: FrozenJson = None

    def as_failure(self, error: ErrorInfo) -> ToolError:
        """The ``ToolError(reason="failed")`` that replaces this event when the
        end itself fails; same run, ``seq`` and time."""
        return twin(self, ToolError, {"error": error, "reason": "failed"})
