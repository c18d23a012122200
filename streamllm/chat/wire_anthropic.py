"""Anthropic's Messages API on the wire: stream events to deltas, tools and messages to JSON.

One frame is one decoded SSE ``data:`` object (its ``type`` is the event
name). ``error`` frames are the caller's to raise; ``ping`` and
``message_stop`` carry nothing for the message. Anthropic's ``input_tokens``
leave out cached tokens, so the prompt count here adds cache reads and
writes back in: ``prompt_tokens`` is the whole input, as for every vendor.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from streamllm.chat._wire import count, mapping
from streamllm.chat.blocks import InvalidToolCall, ReasoningBlock, TextBlock, ToolCall
from streamllm.chat.deltas import ChatDelta, UsageCounts
from streamllm.chat.inputs import Message
from streamllm.chat.tools_schema import NamedTool, ToolChoice, ToolSpec

__all__ = [
    "AnthropicStream",
    "anthropic_deltas",
    "anthropic_messages",
    "anthropic_tool_choice",
    "anthropic_tools",
    "anthropic_usage",
]

_START_KINDS = {"text": "text", "thinking": "reasoning", "tool_use": "tool_call"}


def anthropic_deltas(frame: Mapping[str, Any]) -> list[ChatDelta]:
    """The deltas in one stream event.

    >>> anthropic_deltas({"type": "content_block_delta", "index": 0,
    ...                   "delta": {"type": "text_delta", "text": "Hi"}})
    [ChatDelta('text', text='Hi', index=0)]
    """
    kind = frame.get("type")
    index = frame.get("index")
    index = index if isinstance(index, int) else None
    if kind == "content_block_delta":
        delta = mapping(frame.get("delta"))
        dtype = delta.get("type")
        if dtype == "text_delta":
            return [ChatDelta("text", str(delta.get("text") or ""), index)]
        if dtype == "input_json_delta":
            return [ChatDelta("tool", str(delta.get("partial_json") or ""), index)]
        if dtype == "thinking_delta":
            return [ChatDelta("reasoning", str(delta.get("thinking") or ""), index)]
        if dtype == "signature_delta":
            return [ChatDelta("reasoning", "", index, signature=str(delta.get("signature") or ""))]
        return []  # citations and delta types added later
    if kind == "content_block_start":
        return _start(index, mapping(frame.get("content_block")))
    if kind == "content_block_stop":
        return [ChatDelta("end", index=index)]
    if kind == "message_delta":
        out: list[ChatDelta] = []
        stop = mapping(frame.get("delta")).get("stop_reason")
        usage = frame.get("usage")
        if isinstance(usage, Mapping):
            out.append(ChatDelta("usage", counts=anthropic_usage(usage)))
        if stop:
            out.append(ChatDelta("finish", str(stop)))
        return out
    if kind == "message_start":
        message = mapping(frame.get("message"))
        model = message.get("model")
        out = [
            ChatDelta(
                "meta",
                id=message.get("id") or None,
                metadata={"model_name": model} if isinstance(model, str) else None,
            )
        ]
        usage = message.get("usage")
        if isinstance(usage, Mapping):
            out.append(ChatDelta("usage", counts=anthropic_usage(usage)))
        return out
    return []


class AnthropicStream:
    """:func:`anthropic_deltas` for one stream, minding the blocks that are not ours.

    A ``server_tool_use`` block (web search, code execution: tools Anthropic
    runs itself) streams ``input_json_delta`` like a client tool; without its
    start those fragments would open a nameless tool call for the caller to
    answer. Its deltas and stop are dropped here, as its start is.
    """

    __slots__ = ("_skipped",)

    def __init__(self) -> None:
        self._skipped: set[int] = set()

    def deltas(self, frame: Mapping[str, Any]) -> list[ChatDelta]:
        """The deltas in one stream event of this stream."""
        skipped = self._skipped
        if skipped and frame.get("type") != "content_block_start":
            index = frame.get("index")
            if type(index) is int and index in skipped:
                return []
        out = anthropic_deltas(frame)
        if not out and frame.get("type") == "content_block_start":
            index = frame.get("index")
            if type(index) is int:
                skipped.add(index)
        return out


def _start(index: int | None, block: Mapping[str, Any]) -> list[ChatDelta]:
    kind = _START_KINDS.get(str(block.get("type")))
    if kind == "text":
        return [ChatDelta("start", str(block.get("text") or ""), index, block_kind="text")]
    if kind == "reasoning":
        return [
            ChatDelta(
                "start",
                str(block.get("thinking") or ""),
                index,
                block_kind="reasoning",
                signature=block.get("signature") or None,
            )
        ]
    if kind == "tool_call":
        given = block.get("input")  # {} while streaming: the arguments come as deltas
        return [
            ChatDelta(
                "start",
                json.dumps(given) if given else "",
                index,
                block.get("id") or None,
                block.get("name") or None,
                block_kind="tool_call",
            )
        ]
    # redacted_thinking, server tool results...: not blocks of ours (yet)
    return []


def anthropic_usage(usage: Mapping[str, Any]) -> UsageCounts:
    """Anthropic's usage as counts; the prompt includes cache reads and writes."""
    read = count(usage.get("cache_read_input_tokens"))
    write = count(usage.get("cache_creation_input_tokens"))
    uncached = count(usage.get("input_tokens"))
    prompt = None if uncached is None else uncached + (read or 0) + (write or 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": count(usage.get("output_tokens")),
        "cache_read_tokens": read,
        "cache_write_tokens": write,
    }


def anthropic_tools(specs: Iterable[ToolSpec]) -> list[dict[str, Any]]:
    """The request's ``tools``: ``[{name, description, input_schema}]``."""
    return [
        {"name": s.name, "description": s.description, "input_schema": s.parameters} for s in specs
    ]


def anthropic_tool_choice(choice: ToolChoice | None) -> dict[str, Any] | None:
    """The request's ``tool_choice``: ``{"type": "auto" | "any" | "none" | "tool"}``."""
    if choice is None:
        return None
    if isinstance(choice, NamedTool):
        return {"type": "tool", "name": choice.name}
    return {"type": "any" if choice == "required" else choice}


def anthropic_messages(messages: Iterable[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """The request's ``system`` and ``messages``.

    System messages join into ``system``; tool results become ``tool_result``
    blocks of a user turn (consecutive user turns merge, as the API wants one
    turn per side). Reasoning goes back as ``thinking`` when it has its
    signature (the API refuses it without); an invalid call goes back with
    empty input, its raw arguments cannot be sent.
    """
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            system.append(m.text)
            continue
        if m.role == "tool":
            role, blocks = "user", [_tool_result(m)]
        elif m.role == "user":
            role, blocks = "user", [{"type": "text", "text": m.text}]
        else:
            role, blocks = "assistant", [b for b in map(_assistant_block, m.blocks) if b]
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return ("\n\n".join(system) if system else None), out


def _tool_result(m: Message) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.text}


def _assistant_block(block: Any) -> dict[str, Any] | None:
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text} if block.text else None
    if isinstance(block, ReasoningBlock):
        if block.signature is None:
            return None
        return {"type": "thinking", "thinking": block.text, "signature": block.signature}
    if isinstance(block, ToolCall):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.args}
    if isinstance(block, InvalidToolCall):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": {}}
    return None
