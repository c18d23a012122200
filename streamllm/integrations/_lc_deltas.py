"""A LangChain chat chunk as streamllm ``ChatDelta``\\ s, for the chat assembler.

``StreamLLMCallbackHandler`` feeds each streamed ``AIMessageChunk`` of a chat
run through :class:`streamllm.chat.Assembler`, the same one streamllm's own
chat models use, so a LangChain stream gets content blocks with their
boundaries: text, reasoning (v1 ``reasoning`` or Anthropic ``thinking`` blocks)
and tool calls (``tool_call_chunks`` by index), in the order they start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streamllm.chat import ChatDelta

__all__ = ["chat_deltas"]

_REASONING = ("reasoning", "thinking")


def _index(block: Mapping[str, Any]) -> int | None:
    index = block.get("index")
    return index if isinstance(index, int) and not isinstance(index, bool) else None


def _content(content: Any) -> list[ChatDelta]:
    if isinstance(content, str):
        return [ChatDelta("text", content)] if content else []
    out: list[ChatDelta] = []
    for block in content or ():
        if isinstance(block, str):
            if block:
                out.append(ChatDelta("text", block))
        elif isinstance(block, Mapping):
            kind = block.get("type")
            if kind == "text" and block.get("text"):
                out.append(ChatDelta("text", str(block["text"]), _index(block)))
            elif kind in _REASONING:
                text = str(block.get("reasoning") or block.get("thinking") or "")
                signature = block.get("signature")
                if text or signature:
                    out.append(ChatDelta("reasoning", text, _index(block), signature=signature))
    return out


def chat_deltas(message: Any) -> list[ChatDelta]:
    """The deltas one LangChain ``AIMessageChunk`` carries (usage and the finish
    reason come from the run's end, not from chunks)."""
    out = _content(message.content)
    for call in getattr(message, "tool_call_chunks", None) or ():
        out.append(
            ChatDelta(
                "tool",
                call.get("args") or "",
                call.get("index"),
                call.get("id"),
                call.get("name"),
            )
        )
    return out
