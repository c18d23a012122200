"""The chat data layer: content blocks, messages and chunks, the assembler, wire formats.

I/O-free and ground floor: it imports only ``streamllm.outputs``,
``streamllm.errors`` and pydantic, so models, handlers and the web layer can
all build on it.
"""

from streamllm.chat.assembler import Assembler
from streamllm.chat.blocks import (
    Block,
    BlockKind,
    InvalidToolCall,
    ReasoningBlock,
    TextBlock,
    ToolCall,
)
from streamllm.chat.chunks import AIMessageChunk
from streamllm.chat.deltas import ChatDelta
from streamllm.chat.inputs import ChatInput, Message, Role, to_chat_messages
from streamllm.chat.message import AIMessage
from streamllm.chat.partial_json import PartialJSON, parse_partial_json
from streamllm.chat.pieces import BlockChunk, ToolCallChunk
from streamllm.chat.script import deltas_for
from streamllm.chat.tools_schema import (
    NamedTool,
    ToolChoice,
    ToolSpec,
    normalize_tool_choice,
    to_tool_spec,
    to_tool_specs,
)

__all__ = [
    "AIMessage",
    "AIMessageChunk",
    "Assembler",
    "Block",
    "BlockChunk",
    "BlockKind",
    "ChatDelta",
    "ChatInput",
    "InvalidToolCall",
    "Message",
    "NamedTool",
    "PartialJSON",
    "ReasoningBlock",
    "Role",
    "TextBlock",
    "ToolCall",
    "ToolCallChunk",
    "ToolChoice",
    "ToolSpec",
    "deltas_for",
    "normalize_tool_choice",
    "parse_partial_json",
    "to_chat_messages",
    "to_tool_spec",
    "to_tool_specs",
]
