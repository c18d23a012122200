"""Anthropic Messages: stream events to a message, tools and conversations to the request."""

from __future__ import annotations

from typing import Any

from streamllm.chat import AIMessage, NamedTool, ToolCall, ToolSpec, to_chat_messages
from streamllm.chat.blocks import InvalidToolCall, ReasoningBlock, TextBlock
from streamllm.chat.wire_anthropic import (
    anthropic_deltas,
    anthropic_messages,
    anthropic_tool_choice,
    anthropic_tools,
)
from tests.chat.wire_helpers import assemble


def _delta(index: int, **delta: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


FRAMES: list[dict[str, Any]] = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "model": "claude-x",
            "content": [],
            "usage": {
                "input_tokens": 10,
                "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 5,
                "output_tokens": 1,
            },
        },
    },
    {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    },
    _delta(0, type="thinking_delta", thinking="The user "),
    _delta(0, type="thinking_delta", thinking="asks."),
    _delta(0, type="signature_delta", signature="EqQBCgIYAh=="),
    {"type": "content_block_stop", "index": 0},
    {"type": "ping"},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    _delta(1, type="text_delta", text="Checking"),
    _delta(1, type="text_delta", text=" both."),
    {"type": "content_block_stop", "index": 1},
    {
        "type": "content_block_start",
        "index": 2,
        "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
    },
    _delta(2, type="input_json_delta", partial_json=""),
    _delta(2, type="input_json_delta", partial_json='{"city": "Oslo"'),
    _delta(2, type="input_json_delta", partial_json="}"),
    {"type": "content_block_stop", "index": 2},
    {
        "type": "content_block_start",
        "index": 3,
        "content_block": {"type": "tool_use", "id": "toolu_2", "name": "noop", "input": {}},
    },
    {"type": "content_block_stop", "index": 3},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 15},
    },
    {"type": "message_delta", "delta": {}, "usage": {"output_tokens": 42}},
    {"type": "message_stop"},
]


def test_thinking_text_and_tool_use_blocks() -> None:
    """Thinking with its signature, text, a call with streamed input and one with none."""
    chunks, message = assemble(anthropic_deltas, FRAMES)
    assert message.content_blocks == (
        ReasoningBlock(text="The user asks.", signature="EqQBCgIYAh=="),
        TextBlock(text="Checking both."),
        ToolCall(id="toolu_1", name="get_weather", args={"city": "Oslo"}),
        ToolCall(id="toolu_2", name="noop", args={}),
    )
    assert message.id == "msg_01"
    assert message.finish_reason == "tool_calls"
    assert message.response_metadata == {"model_name": "claude-x", "finish_reason": "tool_use"}
    assert sum(chunks).to_message() == message  # type: ignore[union-attr]


def test_usage_is_cumulative_and_the_prompt_includes_the_cache() -> None:
    """The last output count wins; prompt = input + cache reads + cache writes."""
    _, message = assemble(anthropic_deltas, FRAMES)
    usage = message.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (115, 42, 157)
    assert (usage.cache_read_tokens, usage.cache_write_tokens, usage.reasoning_tokens) == (
        100,
        5,
        None,
    )


def test_interleaved_tool_use_blocks_by_index() -> None:
    """Blocks numbered by index may interleave; unknown event and block types are skipped."""
    frames = [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "a", "name": "f", "input": {}},
        },
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "b", "name": "g", "input": {}},
        },
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {"type": "redacted_thinking", "data": "xx"},
        },
        _delta(1, type="input_json_delta", partial_json='{"y": 2}'),
        _delta(0, type="input_json_delta", partial_json="not json"),
        _delta(0, type="citations_delta", citation={}),
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_stop", "index": 2},
        {"type": "some_future_event"},
    ]
    _, message = assemble(anthropic_deltas, frames)
    first, second = message.content_blocks
    assert isinstance(first, InvalidToolCall)
    assert first.args_text == "not json"
    assert second == ToolCall(id="b", name="g", args={"y": 2})


def test_tools_and_choice_in_anthropic_shape() -> None:
    """Tools carry ``input_schema``; choices map to auto/any/none/tool."""
    spec = ToolSpec(name="f", description="d", parameters={"type": "object"})
    assert anthropic_tools([spec]) == [
        {"name": "f", "description": "d", "input_schema": {"type": "object"}}
    ]
    assert anthropic_tool_choice("required") == {"type": "any"}
    assert anthropic_tool_choice("auto") == {"type": "auto"}
    assert anthropic_tool_choice("none") == {"type": "none"}
    assert anthropic_tool_choice(NamedTool(name="f")) == {"type": "tool", "name": "f"}
    assert anthropic_tool_choice(None) is None


def test_a_tool_loop_conversation_in_anthropic_shape() -> None:
    """System apart; thinking with signature goes back; tool results share one user turn."""
    answer = AIMessage(
        content_blocks=[
            ReasoningBlock(text="hm", signature="sig"),
            ReasoningBlock(text="unsigned"),
            TextBlock(text="Two calls."),
            ToolCall(id="t1", name="f", args={"x": 1}),
            InvalidToolCall(id="t2", name="g", args_text="{", error="x"),
        ]
    )
    system, messages = anthropic_messages(
        to_chat_messages(
            [
                ("system", "Be brief."),
                ("user", "Go"),
                answer,
                {"role": "tool", "content": "1", "tool_call_id": "t1"},
                {"role": "tool", "content": "2", "tool_call_id": "t2"},
                ("user", "Thanks"),
            ]
        )
    )
    assert system == "Be brief."
    assert messages == [
        {"role": "user", "content": [{"type": "text", "text": "Go"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hm", "signature": "sig"},
                {"type": "text", "text": "Two calls."},
                {"type": "tool_use", "id": "t1", "name": "f", "input": {"x": 1}},
                {"type": "tool_use", "id": "t2", "name": "g", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "1"},
                {"type": "tool_result", "tool_use_id": "t2", "content": "2"},
                {"type": "text", "text": "Thanks"},
            ],
        },
    ]
