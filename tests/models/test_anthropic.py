"""ChatAnthropic through httpx.MockTransport: the Messages API's event stream."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from streamllm import LLMEnd, LLMError, TokenUsage
from streamllm.errors import (
    ConfigurationError,
    ProviderError,
    RateLimitError,
    StreamProtocolError,
)
from streamllm.models import ChatAnthropic
from streamllm.testing import RecordingHandler


def event(kind: str, **data: Any) -> bytes:
    """One named SSE event whose data carries the same ``type``."""
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()


def text(t: str) -> bytes:
    """A text delta."""
    return event("content_block_delta", index=0, delta={"type": "text_delta", "text": t})


START = event(
    "message_start",
    message={
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": "claude",
        "stop_reason": None,
        "usage": {"input_tokens": 12, "output_tokens": 1},
    },
)
GOOD = [
    START,
    event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
    event("ping"),
    text("Hello"),
    text(" there"),
    event("content_block_stop", index=0),
    event(
        "message_delta",
        delta={"stop_reason": "end_turn", "stop_sequence": None},
        usage={"output_tokens": 2},
    ),
    event("message_delta", delta={}, usage={"output_tokens": 7}),
    event("message_stop"),
]


class Server:
    """Answers every request with one response and keeps the requests."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.response


def make(events: list[bytes] | httpx.Response, **kwargs: Any) -> tuple[ChatAnthropic, Server]:
    """A model answered by ``events`` (or a whole response)."""
    response = (
        events
        if isinstance(events, httpx.Response)
        else httpx.Response(200, content=b"".join(events))
    )
    server = Server(response)
    transport = httpx.MockTransport(server)
    model = ChatAnthropic(
        api_key="sk-ant-test",
        http_client=httpx.Client(transport=transport),
        http_async_client=httpx.AsyncClient(transport=transport),
        retry_base_delay=0.0,
        **kwargs,
    )
    return model, server


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_message_stream_with_ping_and_cumulative_usage(mode: str) -> None:
    """Text deltas become tokens; the last cumulative output count and the input count
    make the usage; the stop reason is kept raw and normalised."""
    model, server = make(GOOD)
    recorder = RecordingHandler()
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    if mode == "sync":
        tokens = [c.text for c in model.stream(messages, callbacks=[recorder]) if c.text]
    else:
        tokens = [c.text async for c in model.astream(messages, callbacks=[recorder]) if c.text]
    await model.aclose()
    assert tokens == ["Hello", " there"]
    result = recorder.of_type(LLMEnd)[0].result
    assert result.usage == TokenUsage.of(12, 7, "provider")
    assert result.generations[0][0].provider_finish_reason == "end_turn"
    assert result.finish_reason == "stop"
    request = server.requests[0]
    assert request.url == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == "sk-ant-test"
    assert request.headers["anthropic-version"] == "2023-06-01"
    body = json.loads(request.content)
    assert body["system"] == "Be brief."
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    assert body["max_tokens"] == 1024
    assert body["stream"] is True


def test_parameters_are_mapped() -> None:
    """max_tokens, temperature and stop (as stop_sequences) reach the body."""
    model, server = make(GOOD, max_tokens=5, temperature=0.1, stop=["END"])
    with model:
        assert model.invoke("hi").text == "Hello there"
    body = json.loads(server.requests[0].content)
    assert (body["max_tokens"], body["temperature"], body["stop_sequences"]) == (5, 0.1, ["END"])


def test_error_event_mid_stream_is_a_provider_error_with_partial_text() -> None:
    """An `error` event after a token ends the run with ProviderError and the text so far."""
    error = event("error", error={"type": "overloaded_error", "message": "Overloaded"})
    model, _ = make([START, text("Hel"), error])
    recorder = RecordingHandler()
    with model, pytest.raises(ProviderError, match="overloaded_error"):
        model.invoke("hi", callbacks=[recorder])
    terminal = recorder.events[-1]
    assert isinstance(terminal, LLMError)
    assert terminal.partial.text == "Hel"


def test_stream_without_message_stop_is_a_protocol_error() -> None:
    """The body ending before message_stop is malformed."""
    model, _ = make(GOOD[:-1], max_retries=0)
    with model, pytest.raises(StreamProtocolError, match="message_stop"):
        model.invoke("hi")


def test_rate_limit_status() -> None:
    """429 with Retry-After maps to RateLimitError carrying the delay."""
    body = {"type": "error", "error": {"type": "rate_limit_error", "message": "Too many"}}
    model, server = make(httpx.Response(429, json=body, headers={"retry-after": "0"}))
    with model, pytest.raises(RateLimitError, match="Too many") as info:
        model.invoke("hi")
    assert info.value.retry_after == 0.0
    assert len(server.requests) == 3


def test_key_needed_for_the_vendor_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """api.anthropic.com needs a key (ANTHROPIC_API_KEY); another host does not."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        ChatAnthropic()
    assert ChatAnthropic(base_url="http://127.0.0.1:8080").api_key is None
