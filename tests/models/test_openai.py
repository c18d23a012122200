"""OpenAI and ChatOpenAI through httpx.MockTransport: every wire shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from streamllm import LLMEnd, LLMError, NewToken, TokenUsage
from streamllm.errors import (
    AuthenticationError,
    ConfigurationError,
    ProviderError,
    ProviderStatusError,
    RateLimitError,
    StreamProtocolError,
)
from streamllm.models import ChatOpenAI, OpenAI
from streamllm.testing import RecordingHandler
from tests.models.http_helpers import text_of

Frames = list[Any]


def sse(frames: Frames) -> bytes:
    """Frames as SSE events (dicts as JSON, strings as they are)."""
    return b"".join(
        b"data: " + (f if isinstance(f, str) else json.dumps(f)).encode() + b"\n\n" for f in frames
    )


def chat(text: str, finish: str | None = None) -> dict[str, Any]:
    """A chat chunk."""
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


USAGE = {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
GOOD: Frames = [
    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
    chat("Hi"),
    chat(" there", "stop"),
    {"choices": [], "usage": USAGE},
    "[DONE]",
]


class Server:
    """A MockTransport handler answering each request from a list of responses."""

    def __init__(self, *responses: httpx.Response | Callable[[], httpx.Response]) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        return response() if callable(response) else response

    def body(self, i: int = 0) -> Any:
        """The JSON body of request ``i``."""
        return json.loads(self.requests[i].content)


def stream_response(frames: Frames, status: int = 200) -> httpx.Response:
    """A streamed SSE response."""
    headers = {"content-type": "text/event-stream"}
    return httpx.Response(status, content=sse(frames), headers=headers)


def make(cls: type[ChatOpenAI] | type[OpenAI], server: Server, **kwargs: Any) -> Any:
    """A model whose sync and async clients go to ``server``."""
    transport = httpx.MockTransport(server)
    return cls(
        api_key="sk-test",
        http_client=httpx.Client(transport=transport),
        http_async_client=httpx.AsyncClient(transport=transport),
        retry_base_delay=0.0,
        **kwargs,
    )


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Run the test body through stream() and through astream()."""
    return str(request.param)


async def collect(model: Any, mode: str, prompt: Any = "hi") -> tuple[list[str], RecordingHandler]:
    """Stream sync or async, recording events; return the tokens."""
    recorder = RecordingHandler()
    tokens: list[str] = []
    try:
        if mode == "sync":
            chunks = list(model.stream(prompt, callbacks=[recorder]))
        else:
            chunks = [t async for t in model.astream(prompt, callbacks=[recorder])]
        # A chat model's chunks include text-less ones (a block's end, the usage).
        tokens.extend(text_of(c) for c in chunks if text_of(c))
    finally:
        await model.aclose()
    return tokens, recorder


async def test_chat_stream_with_usage_in_a_final_empty_choices_chunk(mode: str) -> None:
    """Tokens, the raw finish reason and the usage chunk with `choices: []`."""
    server = Server(stream_response(GOOD))
    tokens, recorder = await collect(make(ChatOpenAI, server, max_tokens=5, stop=["\n"]), mode)
    assert tokens == ["Hi", " there"]
    assert [e.token for e in recorder.of_type(NewToken)] == tokens
    end = recorder.of_type(LLMEnd)[0]
    assert end.result.usage == TokenUsage.of(4, 2, "provider")
    assert end.result.generations[0][0].provider_finish_reason == "stop"
    body = server.body()
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert (body["max_tokens"], body["stop"]) == (5, ["\n"])
    request = server.requests[0]
    assert request.url == "https://api.openai.com/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"


async def test_usage_on_the_last_choice_chunk_is_accepted(mode: str) -> None:
    """Servers that put usage beside the last choice (llama.cpp, vLLM) work too."""
    frames: Frames = [chat("a"), {**chat("b", "length"), "usage": USAGE}, "[DONE]"]
    tokens, recorder = await collect(make(ChatOpenAI, Server(stream_response(frames))), mode)
    end = recorder.of_type(LLMEnd)[0]
    assert tokens == ["a", "b"]
    assert end.result.usage == TokenUsage.of(4, 2, "provider")
    assert end.result.finish_reason == "length"


async def test_stream_usage_off_and_estimated_usage(mode: str) -> None:
    """stream_usage=False sends no stream_options; usage is then estimated."""
    frames: Frames = [chat("a", "stop"), "[DONE]"]
    server = Server(stream_response(frames))
    _, recorder = await collect(make(ChatOpenAI, server, stream_usage=False), mode)
    assert "stream_options" not in server.body()
    usage = recorder.of_type(LLMEnd)[0].result.usage
    assert usage is not None
    assert usage.source == "estimated"


async def test_legacy_completions(mode: str) -> None:
    """OpenAI posts a prompt to /completions and reads choices[].text."""
    frames: Frames = [
        {"choices": [{"text": "Why", "index": 0, "logprobs": None, "finish_reason": None}]},
        {"choices": [{"text": " not", "index": 0, "logprobs": None, "finish_reason": "length"}]},
        {"choices": [], "usage": USAGE},
        "[DONE]",
    ]
    server = Server(stream_response(frames))
    tokens, recorder = await collect(make(OpenAI, server, temperature=0.5), mode)
    assert tokens == ["Why", " not"]
    assert server.requests[0].url.path == "/v1/completions"
    assert server.body()["prompt"] == "hi"
    assert server.body()["temperature"] == 0.5
    assert recorder.of_type(LLMEnd)[0].result.finish_reason == "length"


async def test_messages_are_sent_as_given(mode: str) -> None:
    """A message list goes out as chat messages, system first."""
    server = Server(stream_response(GOOD))
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    await collect(make(ChatOpenAI, server), mode, messages)
    assert server.body()["messages"] == messages


@pytest.mark.parametrize(
    ("frames", "error"),
    [
        ([chat("a")], StreamProtocolError),
        ([chat("a"), "{not json"], StreamProtocolError),
        ([chat("a"), {"error": {"message": "boom", "type": "server_error"}}], ProviderError),
    ],
    ids=["no-done", "malformed", "error-frame"],
)
async def test_broken_streams_end_in_one_error_with_the_partial_text(
    mode: str, frames: Frames, error: type[Exception]
) -> None:
    """A stream without [DONE], bad JSON, or an error frame: the typed error, one LLMError."""
    with pytest.raises(error):
        await collect(make(ChatOpenAI, Server(stream_response(frames)), max_retries=0), mode)


async def test_error_event_keeps_partial_text() -> None:
    """The LLMError of a mid-stream error frame carries the text so far."""
    frames: Frames = [chat("part"), {"error": {"message": "boom"}}]
    recorder = RecordingHandler()
    model = make(ChatOpenAI, Server(stream_response(frames)))
    with pytest.raises(ProviderError, match="boom"):
        model.invoke("hi", callbacks=[recorder])
    model.close()
    error = recorder.events[-1]
    assert isinstance(error, LLMError)
    assert error.partial.text == "part"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthenticationError),
        (403, AuthenticationError),
        (400, ProviderStatusError),
        (429, RateLimitError),
        (500, ProviderStatusError),
    ],
)
async def test_status_errors(mode: str, status: int, error: type[ProviderStatusError]) -> None:
    """HTTP errors map to their types with the server's message (after retries if any)."""
    body = {"error": {"message": "you did a thing", "type": "invalid_request_error"}}
    server = Server(httpx.Response(status, json=body, headers={"retry-after": "0"}))
    with pytest.raises(error, match="you did a thing") as info:
        await collect(make(ChatOpenAI, server), mode)
    assert info.value.status_code == status
    retried = status in (429, 500)
    assert len(server.requests) == (3 if retried else 1)


async def test_retry_after_is_honoured(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sleep before a retry is the server's Retry-After, and retries are counted."""
    import asyncio
    import time

    slept: list[float] = []

    async def fake_async_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(time, "sleep", slept.append)
    monkeypatch.setattr(asyncio, "sleep", fake_async_sleep)
    limited = httpx.Response(
        429, json={"error": {"message": "slow down"}}, headers={"retry-after": "3"}
    )
    server = Server(limited, lambda: stream_response(GOOD))
    tokens, recorder = await collect(make(ChatOpenAI, server), mode)
    assert tokens == ["Hi", " there"]
    assert slept == [3.0]
    assert recorder.of_type(LLMEnd)[0].result.retries == 1


def test_key_is_required_only_for_the_vendor(monkeypatch: pytest.MonkeyPatch) -> None:
    """api.openai.com needs a key; a local server does not; the env var is read."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        ChatOpenAI()
    local = ChatOpenAI(base_url="http://127.0.0.1:8080/v1")
    assert local.api_key is None
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    model = ChatOpenAI()
    assert model.api_key is not None
    assert model.api_key.get_secret_value() == "sk-from-env"


def test_no_authorization_header_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A keyless local server gets no Authorization header at all."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server = Server(stream_response(GOOD))
    model = ChatOpenAI(
        base_url="http://127.0.0.1:8080/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(server)),
    )
    with model:
        assert model.invoke("hi").text == "Hi there"
    assert "authorization" not in server.requests[0].headers
    assert server.requests[0].url == "http://127.0.0.1:8080/v1/chat/completions"


def test_transport_fields_stay_out_of_invocation_params() -> None:
    """Generation parameters are reported; URLs, keys, timeouts and clients are not."""
    params = ChatOpenAI(base_url="http://127.0.0.1:1/v1", api_key="sk-x", max_tokens=3)
    assert params.invocation_params == {
        "model": "gpt-4o-mini",
        "max_tokens": 3,
        "n": 1,
        "provider": "openai",
    }
