"""OpenAI chat completions: streamed frames to a message, tools and messages to the request."""

from __future__ import annotations

from typing import Any

from streamllm.chat import AIMessage, Message, NamedTool, ToolCall, ToolSpec, to_chat_messages
from streamllm.chat.blocks import InvalidToolCall, ReasoningBlock, TextBlock
from streamllm.chat.wire_openai import (
    openai_deltas,
    openai_messages,
    openai_tool_choice,
    openai_tools,
)
from tests.chat.wire_helpers import assemble


def _frame(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-9",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


FRAMES = [
    _frame({"role": "assistant", "content": ""}),
    _frame({"reasoning_content": "User wants "}),
    _frame({"reasoning_content": "weather."}),
    _frame({"content": "Let me check."}),
    _frame(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        }
    ),
    _frame(
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": '{"tz": '},
                }
            ]
        }
    ),
    _frame({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Pa'}}]}),
    _frame({"tool_calls": [{"index": 1, "function": {"arguments": '"UTC"}'}}]}),
    _frame({"tool_calls": [{"index": 0, "function": {"arguments": 'ris"}'}}]}),
    _frame({}, finish="tool_calls"),
    {
        "id": "chatcmpl-9",
        "model": "gpt-4o-mini",
        "choices": [],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 30,
            "total_tokens": 130,
            "prompt_tokens_details": {"cached_tokens": 64},
            "completion_tokens_details": {"reasoning_tokens": 12},
        },
    },
]


def test_a_stream_with_reasoning_and_parallel_calls() -> None:
    """Reasoning, text and two interleaved calls by index become four blocks, usage at the end."""
    chunks, message = assemble(openai_deltas, FRAMES)
    assert message.content_blocks == (
        ReasoningBlock(text="User wants weather."),
        TextBlock(text="Let me check."),
        ToolCall(id="call_1", name="get_weather", args={"city": "Paris"}),
        ToolCall(id="call_2", name="get_time", args={"tz": "UTC"}),
    )
    assert message.id == "chatcmpl-9"
    assert message.finish_reason == "tool_calls"
    assert message.response_metadata["model_name"] == "gpt-4o-mini"
    assert message.usage is not None
    assert (message.usage.prompt_tokens, message.usage.completion_tokens) == (100, 30)
    assert (
        message.usage.cache_read_tokens,
        message.usage.cache_write_tokens,
        message.usage.reasoning_tokens,
    ) == (64, None, 12)
    assert sum(chunks).to_message() == message  # type: ignore[union-attr]


def test_reasoning_under_its_other_name_and_an_empty_role_chunk() -> None:
    """``delta.reasoning`` (OpenRouter) counts; the role-only first chunk makes no block."""
    _, message = assemble(
        openai_deltas,
        [
            _frame({"role": "assistant", "content": None}),
            _frame({"reasoning": "hm"}),
            _frame({"content": "ok"}, finish="stop"),
        ],
    )
    assert message.content_blocks == (ReasoningBlock(text="hm"), TextBlock(text="ok"))
    assert message.usage is None


def test_arguments_that_are_not_an_object_are_kept_raw() -> None:
    """A call whose arguments are a JSON list is an InvalidToolCall with the text as sent."""
    _, message = assemble(
        openai_deltas,
        [
            _frame(
                {
                    "tool_calls": [
                        {"index": 0, "id": "c", "function": {"name": "f", "arguments": "[1,"}}
                    ]
                }
            ),
            _frame(
                {"tool_calls": [{"index": 0, "function": {"arguments": " 2]"}}]},
                finish="tool_calls",
            ),
        ],
    )
    (bad,) = message.content_blocks
    assert isinstance(bad, InvalidToolCall)
    assert bad.args_text == "[1, 2]"


def test_tools_and_choice_in_openai_shape() -> None:
    """Tools are ``{"type": "function", "function": {...}}``; a named choice is OpenAI's dict."""
    spec = ToolSpec(name="f", description="does f", parameters={"type": "object", "properties": {}})
    assert openai_tools([spec]) == [
        {
            "type": "function",
            "function": {
                "name": "f",
                "description": "does f",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    ]
    assert openai_tool_choice(NamedTool(name="f")) == {
        "type": "function",
        "function": {"name": "f"},
    }
    assert openai_tool_choice("required") == "required"
    assert openai_tool_choice(None) is None


def test_a_tool_loop_conversation_in_openai_shape() -> None:
    """An AIMessage with calls appended as it is, then tool results by tool_call_id."""
    answer = AIMessage(
        content_blocks=[
            ReasoningBlock(text="think"),
            ToolCall(id="c1", name="f", args={"x": 1}),
            InvalidToolCall(id="c2", name="g", args_text="{oops", error="not JSON"),
        ]
    )
    messages = to_chat_messages(
        [
            ("system", "Be brief."),
            ("human", "Go"),
            answer,
            {"role": "tool", "content": "42", "tool_call_id": "c1"},
            Message(role="tool", content="bad args", tool_call_id="c2"),
        ]
    )
    assert openai_messages(messages) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Go"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "f", "arguments": '{"x": 1}'},
                },
                {"id": "c2", "type": "function", "function": {"name": "g", "arguments": "{oops"}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
        {"role": "tool", "tool_call_id": "c2", "content": "bad args"},
    ]


def test_arguments_sent_as_an_object_or_null() -> None:
    """Servers that send the arguments as an object (or null) still give a call."""
    _, message = assemble(
        openai_deltas,
        [
            _frame(
                {
                    "tool_calls": [
                        {"index": 0, "id": "a", "function": {"name": "f", "arguments": None}}
                    ]
                }
            ),
            _frame(
                {
                    "tool_calls": [
                        {"index": 1, "id": "b", "function": {"name": "g", "arguments": {"x": 1}}}
                    ]
                }
            ),
        ],
    )
    assert message.content_blocks == (
        ToolCall(id="a", name="f", args={}),
        ToolCall(id="b", name="g", args={"x": 1}),
    )
