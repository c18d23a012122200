"""Random block layouts sent through each vendor's wire shape give the same message."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings

from streamllm.chat import AIMessage, Assembler, ChatDelta
from streamllm.chat.wire_anthropic import anthropic_deltas
from streamllm.chat.wire_openai import openai_deltas
from tests.chat.strategies import anthropic_scripts, openai_scripts
from tests.chat.wire_helpers import assemble


def _direct(deltas: list[ChatDelta]) -> AIMessage:
    asm = Assembler()
    for d in deltas:
        asm.feed(d)
    return asm.finish()[1]


def _openai_frame(d: ChatDelta) -> dict[str, Any]:
    if d.kind == "tool":
        call: dict[str, Any] = {"index": d.index, "function": {"arguments": d.text}}
        if d.id is not None:
            call.update(id=d.id, type="function")
            call["function"]["name"] = d.name
        delta: dict[str, Any] = {"tool_calls": [call]}
    else:
        delta = {"content" if d.kind == "text" else "reasoning_content": d.text}
    return {"id": "x", "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


_ANTHROPIC_START = {"text": "text", "reasoning": "thinking", "tool_call": "tool_use"}
_ANTHROPIC_DELTA = {
    "text": ("text_delta", "text"),
    "reasoning": ("thinking_delta", "thinking"),
    "tool": ("input_json_delta", "partial_json"),
}


def _anthropic_frame(d: ChatDelta) -> dict[str, Any]:
    if d.kind == "start":
        assert d.block_kind is not None
        block: dict[str, Any] = {"type": _ANTHROPIC_START[d.block_kind]}
        if d.block_kind == "tool_call":
            block.update(id=d.id, name=d.name, input={})
        return {"type": "content_block_start", "index": d.index, "content_block": block}
    if d.kind == "end":
        return {"type": "content_block_stop", "index": d.index}
    kind, field = _ANTHROPIC_DELTA[d.kind]
    return {"type": "content_block_delta", "index": d.index, "delta": {"type": kind, field: d.text}}


@settings(max_examples=80, deadline=None)
@given(openai_scripts())
def test_openai_frames(script: Any) -> None:
    """Reasoning, text and interleaved calls as OpenAI frames."""
    deltas, _ = script
    _, message = assemble(openai_deltas, [_openai_frame(d) for d in deltas])
    assert message.content_blocks == _direct(deltas).content_blocks


@settings(max_examples=80, deadline=None)
@given(anthropic_scripts())
def test_anthropic_events(script: Any) -> None:
    """Numbered thinking, text and tool_use blocks as Anthropic events, in any order."""
    deltas, _ = script
    _, message = assemble(anthropic_deltas, [_anthropic_frame(d) for d in deltas])
    assert message.content_blocks == _direct(deltas).content_blocks
