"""The content blocks of a chat message: text, reasoning and tool calls.

Blocks are frozen pydantic models in one discriminated union on ``type``, so a
message read back from JSON gives equal blocks::

    >>> from pydantic import TypeAdapter
    >>> TypeAdapter(Block).validate_json('{"type": "text", "text": "Hi"}')
    TextBlock(type='text', text='Hi')
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from streamllm._frozen import JsonMapping

__all__ = [
    "Block",
    "BlockKind",
    "InvalidToolCall",
    "ReasoningBlock",
    "TextBlock",
    "ToolCall",
]

#: What a block streams as: the ``kind`` of ``BlockStart``. An invalid tool call
#: streams as a tool call; only its finished block tells it apart.
BlockKind = Literal["text", "reasoning", "tool_call"]


class _Block(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TextBlock(_Block):
    """Text the model wrote for the user."""

    type: Literal["text"] = "text"
    text: str


class ReasoningBlock(_Block):
    """The model's reasoning ("thinking"); ``signature`` is Anthropic's, to send it back."""

    type: Literal["reasoning"] = "reasoning"
    text: str
    signature: str | None = None


class ToolCall(_Block):
    """A call the model asks for, with its arguments parsed to a JSON object
    (read-only, like everything an event carries: copy it with ``dict(...)``)."""

    type: Literal["tool_call"] = "tool_call"
    id: str
    name: str
    args: JsonMapping


class InvalidToolCall(_Block):
    """A call whose arguments are not a JSON object, kept raw (never dropped).

    ``error`` says why it could not be parsed; ``args_text`` is exactly what
    the model sent.
    """

    type: Literal["invalid_tool_call"] = "invalid_tool_call"
    id: str | None = None
    name: str | None = None
    args_text: str
    error: str


Block = Annotated[
    TextBlock | ReasoningBlock | ToolCall | InvalidToolCall,
    Field(discriminator="type"),
]
