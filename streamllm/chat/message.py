"""The message a chat model answers with: ``AIMessage``, a sequence of content blocks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from streamllm.chat.blocks import Block, InvalidToolCall, ReasoningBlock, TextBlock, ToolCall
from streamllm.usage import FinishReason, TokenUsage

__all__ = ["AIMessage"]


class AIMessage(BaseModel):
    """A chat model's answer: content blocks in order, usage, finish reason.

    ``finish_reason`` is normalised (``stop``, ``length``, ``tool_calls``,
    ``content_filter``, ``other``); the provider's own value is
    ``response_metadata["finish_reason"]``, as in LangChain.

    >>> m = AIMessage(content_blocks=[TextBlock(text="Hi "), TextBlock(text="there")])
    >>> m.text
    'Hi there'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str | None = None
    content_blocks: tuple[Block, ...] = ()
    usage: TokenUsage | None = None
    finish_reason: FinishReason | None = None
    response_metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def role(self) -> Literal["assistant"]:
        """Always ``"assistant"``: lets an answer be appended to a conversation as it is."""
        return "assistant"

    @property
    def text(self) -> str:
        """The text blocks joined (reasoning and tool calls left out)."""
        return "".join(b.text for b in self.content_blocks if isinstance(b, TextBlock))

    @property
    def content(self) -> str:
        """The same as :attr:`text`, for LangChain habits."""
        return self.text

    @property
    def reasoning(self) -> str:
        """The reasoning blocks joined."""
        return "".join(b.text for b in self.content_blocks if isinstance(b, ReasoningBlock))

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The tool calls whose arguments parsed to a JSON object, in order."""
        return tuple(b for b in self.content_blocks if isinstance(b, ToolCall))

    @property
    def invalid_tool_calls(self) -> tuple[InvalidToolCall, ...]:
        """The tool calls whose arguments did not parse, kept raw."""
        return tuple(b for b in self.content_blocks if isinstance(b, InvalidToolCall))
