"""ChatOllama (/api/chat) over httpx.MockTransport: thinking, whole tool calls, tools sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from streamllm.errors import StreamLLMError
from streamllm.models.ollama import ChatOllama
from tests.models.test_anthropic_chat import client
from tests.models.test_openai_chat import weather


def test_ollama_chat_thinking_and_whole_tool_calls() -> None:
    lines = [
        {"message": {"role": "assistant", "content": "", "thinking": "hmm"}, "done": False},
        {
            "message": {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"function": {"name": "weather", "arguments": {"city": "Oslo"}}}],
            },
            "done": False,
        },
        {
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 9,
            "eval_count": 4,
        },
    ]
    seen: list[dict[str, Any]] = []
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    model = ChatOllama(think=True, http_client=client(body, seen)).bind_tools([weather])
    message = model.invoke("Oslo?")
    assert message.reasoning == "hmm"
    assert [(c.name, c.args) for c in message.tool_calls] == [("weather", {"city": "Oslo"})]
    assert message.usage is not None
    assert message.usage.total_tokens == 13
    assert seen[0]["think"] is True
    assert seen[0]["tools"][0]["function"]["name"] == "weather"
    assert seen[0]["messages"] == [{"role": "user", "content": "Oslo?"}]


def _dropping(first: bytes, seen: list[int]) -> httpx.Client:
    """A server whose body sends ``first`` and then breaks."""

    def body() -> Iterator[bytes]:
        yield first
        raise httpx.RemoteProtocolError("peer closed connection")

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(1)
        return httpx.Response(200, stream=_Stream(body()))

    return httpx.Client(transport=httpx.MockTransport(handler))


class _Stream(httpx.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks


def test_no_retry_once_a_whole_tool_call_was_delivered() -> None:
    """A tool call has no text, but the consumer has it: a retry would deliver it twice."""
    call = {
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "weather", "arguments": {"city": "Oslo"}}}],
        },
        "done": False,
    }
    seen: list[int] = []
    model = ChatOllama(
        http_client=_dropping(json.dumps(call).encode() + b"\n", seen), retry_base_delay=0.0
    )
    with pytest.raises(StreamLLMError):
        model.invoke("Oslo?")
    assert len(seen) == 1


def test_a_break_before_any_content_is_retried() -> None:
    """A line with nothing for the message (an empty content) is not content: retried."""
    empty = {"message": {"role": "assistant", "content": ""}, "done": False}
    seen: list[int] = []
    model = ChatOllama(
        http_client=_dropping(json.dumps(empty).encode() + b"\n", seen),
        retry_base_delay=0.0,
        max_retries=2,
    )
    with pytest.raises(StreamLLMError):
        model.invoke("Oslo?")
    assert len(seen) == 3
