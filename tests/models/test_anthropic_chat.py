"""ChatAnthropic over httpx.MockTransport: thinking, signature, a streamed tool call, usage."""

from __future__ import annotations

import json
from typing import Any

import httpx

from streamllm.chat.blocks import ReasoningBlock, ToolCall
from streamllm.models.anthropic import ChatAnthropic
from tests.models.test_openai_chat import weather


def ev(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def delta(index: int, **d: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": d}


# Anthropic's documented order: thinking (+ signature_delta), then a tool_use
# block whose input streams as input_json_delta.
STREAM: list[dict[str, Any]] = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "model": "claude",
            "usage": {
                "input_tokens": 10,
                "output_tokens": 1,
                "cache_read_input_tokens": 5,
                "cache_creation_input_tokens": 3,
            },
        },
    },
    {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": ""},
    },
    delta(0, type="thinking_delta", thinking="Use the tool."),
    delta(0, type="signature_delta", signature="sig=="),
    {"type": "content_block_stop", "index": 0},
    {"type": "ping"},
    {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}},
    },
    delta(1, type="input_json_delta", partial_json='{"city":'),
    delta(1, type="input_json_delta", partial_json=' "Paris"}'),
    {"type": "content_block_stop", "index": 1},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 30}},
    {"type": "message_stop"},
]


def client(body: bytes, seen: list[dict[str, Any]]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, content=body)

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_thinking_and_a_streamed_tool_call() -> None:
    seen: list[dict[str, Any]] = []
    model = ChatAnthropic(
        api_key="k", thinking=2048, http_client=client(b"".join(map(ev, STREAM)), seen)
    ).bind_tools([weather])
    message = model.invoke("Paris?")
    assert message.content_blocks[0] == ReasoningBlock(text="Use the tool.", signature="sig==")
    assert message.tool_calls == (ToolCall(id="toolu_1", name="weather", args={"city": "Paris"}),)
    assert message.finish_reason == "tool_calls"
    usage = message.usage
    assert usage is not None
    # input_tokens leave out the cache: prompt_tokens is the whole input
    assert (usage.prompt_tokens, usage.completion_tokens) == (18, 30)
    assert (usage.cache_read_tokens, usage.cache_write_tokens) == (5, 3)
    body = seen[0]
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["max_tokens"] > 2048
    assert body["tools"][0]["input_schema"]["properties"]["city"]["type"] == "string"
