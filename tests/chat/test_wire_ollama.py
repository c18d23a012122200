"""Ollama /api/chat: NDJSON lines to a message, tools and conversations to the request."""

from __future__ import annotations

from typing import Any

import pytest

from streamllm.chat import AIMessage, NamedTool, ToolCall, ToolSpec, to_chat_messages
from streamllm.chat.blocks import InvalidToolCall, ReasoningBlock, TextBlock
from streamllm.chat.wire_ollama import (
    check_ollama_tool_choice,
    ollama_deltas,
    ollama_messages,
    ollama_tools,
)
from streamllm.errors import ConfigurationError
from tests.chat.wire_helpers import assemble


def _line(done: bool = False, **message: Any) -> dict[str, Any]:
    return {
        "model": "qwen3",
        "created_at": "2026-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": "", **message},
        "done": done,
    }


FRAMES = [
    _line(thinking="Weather "),
    _line(thinking="twice."),
    _line(content="Sure."),
    _line(
        tool_calls=[
            {"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}},
            {
                "id": "call_x",
                "function": {"index": 1, "name": "get_weather", "arguments": {"city": "Rome"}},
            },
        ]
    ),
    {
        **_line(done=True),
        "done_reason": "stop",
        "prompt_eval_count": 26,
        "eval_count": 40,
        "total_duration": 1,
    },
]


def test_thinking_text_and_whole_calls() -> None:
    """Each whole call is its own block (ids made up where Ollama sends none); counts at done."""
    chunks, message = assemble(ollama_deltas, FRAMES)
    assert message.content_blocks == (
        ReasoningBlock(text="Weather twice."),
        TextBlock(text="Sure."),
        ToolCall(id="call_2", name="get_weather", args={"city": "Oslo"}),
        ToolCall(id="call_x", name="get_weather", args={"city": "Rome"}),
    )
    assert message.usage is not None
    assert (message.usage.prompt_tokens, message.usage.completion_tokens) == (26, 40)
    assert message.finish_reason == "stop"
    assert message.response_metadata == {"model_name": "qwen3", "finish_reason": "stop"}
    assert sum(chunks).to_message() == message  # type: ignore[union-attr]


def test_arguments_sent_as_text_that_is_not_an_object() -> None:
    """Arguments given as a string that is not a JSON object are an InvalidToolCall."""
    _, message = assemble(
        ollama_deltas,
        [
            _line(tool_calls=[{"function": {"name": "f", "arguments": "oops"}}]),
            {**_line(done=True), "done_reason": "stop"},
        ],
    )
    (bad,) = message.content_blocks
    assert isinstance(bad, InvalidToolCall)
    assert bad.args_text == "oops"
    assert message.usage is None


def test_tools_and_forced_choices() -> None:
    """Tools are OpenAI-shaped; Ollama cannot force a tool, so such a choice is refused."""
    spec = ToolSpec(name="f", parameters={"type": "object"})
    assert ollama_tools([spec]) == [
        {
            "type": "function",
            "function": {"name": "f", "description": "", "parameters": {"type": "object"}},
        }
    ]
    check_ollama_tool_choice("auto")
    check_ollama_tool_choice(None)
    for forced in ("required", NamedTool(name="f")):
        with pytest.raises(ConfigurationError, match="cannot be forced"):
            check_ollama_tool_choice(forced)


def test_a_tool_loop_conversation_in_ollama_shape() -> None:
    """Arguments go back as objects with thinking; results are named after their call."""
    answer = AIMessage(
        content_blocks=[
            ReasoningBlock(text="hm"),
            ToolCall(id="c1", name="get_weather", args={"city": "Oslo"}),
        ]
    )
    out = ollama_messages(
        to_chat_messages(
            [
                ("user", "Weather?"),
                answer,
                {"role": "tool", "content": "-3 C", "tool_call_id": "c1"},
            ]
        )
    )
    assert out == [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": "",
            "thinking": "hm",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}],
        },
        {"role": "tool", "content": "-3 C", "tool_name": "get_weather"},
    ]
