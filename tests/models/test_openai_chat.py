"""ChatOpenAI over httpx.MockTransport: tools, parallel calls, reasoning, usage details."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from streamllm.chat.blocks import InvalidToolCall, ToolCall
from streamllm.errors import ConfigurationError
from streamllm.events import BlockStart
from streamllm.models import ChatOpenAI
from streamllm.models.anthropic import ChatAnthropic
from streamllm.models.ollama import ChatOllama
from streamllm.testing import RecordingHandler


def weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city's name.
    """
    return city


def sse(frames: list[dict[str, Any]]) -> bytes:
    return (
        b"".join(b"data: " + json.dumps(f).encode() + b"\n\n" for f in frames) + b"data: [DONE]\n\n"
    )


def tool(index: int, args: str, id: str | None = None, name: str | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if id:
        call["id"], call["type"], call["function"]["name"] = id, "function", name
    return {"choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]}


# Two calls whose fragments interleave, the second's arguments not JSON.
FRAMES: list[dict[str, Any]] = [
    {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant"}}]},
    {"choices": [{"index": 0, "delta": {"reasoning_content": "think"}}]},
    tool(0, "", "call_a", "weather"),
    tool(1, "", "call_b", "weather"),
    tool(0, '{"city": '),
    tool(1, "{not json"),
    tool(0, '"Paris"}'),
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    {
        "choices": [],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 7,
            "total_tokens": 17,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 2},
        },
    },
]


def make(body: bytes, seen: list[dict[str, Any]]) -> ChatOpenAI:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    return ChatOpenAI(
        base_url="http://127.0.0.1:9/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )


def test_interleaved_parallel_calls_and_invalid_arguments() -> None:
    """Fragments by index make two calls; arguments that are not JSON are an
    InvalidToolCall, never an exception; reasoning and usage details come along."""
    seen: list[dict[str, Any]] = []
    model = make(sse(FRAMES), seen).bind_tools([weather], tool_choice="required")
    recorder = RecordingHandler()
    message = model.invoke([("user", "Paris?")], callbacks=[recorder])
    assert message.reasoning == "think"
    assert message.tool_calls == (ToolCall(id="call_a", name="weather", args={"city": "Paris"}),)
    (bad,) = message.invalid_tool_calls
    assert isinstance(bad, InvalidToolCall)
    assert (bad.id, bad.args_text) == ("call_b", "{not json")
    assert message.finish_reason == "tool_calls"
    usage = message.usage
    assert usage is not None
    assert usage.source == "provider"
    assert (usage.cache_read_tokens, usage.reasoning_tokens) == (4, 2)
    kinds = [e.kind for e in recorder.events if isinstance(e, BlockStart)]
    assert kinds == ["reasoning", "tool_call", "tool_call"]
    body = seen[0]
    assert body["tools"][0]["function"]["name"] == "weather"
    assert body["tool_choice"] == "required"
    # stream() adds up to the same message
    total: Any = sum(make(sse(FRAMES), []).bind_tools([weather]).stream("x"))
    assert total.to_message() == message


def test_tool_loop_messages_go_back_on_the_wire() -> None:
    """An assistant message with calls and the tool's answer are sent in OpenAI's shape."""
    seen: list[dict[str, Any]] = []
    first = make(sse(FRAMES), []).invoke("x")
    text: list[dict[str, Any]] = [
        {"choices": [{"index": 0, "delta": {"content": "22 C"}, "finish_reason": "stop"}]}
    ]
    make(sse(text), seen).invoke(
        [("user", "Paris?"), first, {"role": "tool", "tool_call_id": "call_a", "content": "22"}]
    )
    sent = seen[0]["messages"]
    assert sent[1]["tool_calls"][0]["function"] == {
        "name": "weather",
        "arguments": json.dumps({"city": "Paris"}),
    }
    assert sent[2] == {"role": "tool", "tool_call_id": "call_a", "content": "22"}


def test_bind_time_refusals() -> None:
    """Ollama cannot force a tool; Anthropic cannot force one with thinking on."""
    with pytest.raises(ConfigurationError):
        ChatOllama().bind_tools([weather], tool_choice="required")
    with pytest.raises(ConfigurationError):
        ChatAnthropic(api_key="k", thinking=2048).bind_tools([weather], tool_choice="weather")
    with pytest.raises(ConfigurationError):
        ChatAnthropic(api_key="k", thinking=2048, max_tokens=1000)
