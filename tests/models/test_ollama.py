"""Ollama against the loopback NDJSON server (Ollama's documented wire format)."""

from __future__ import annotations

import pytest

from streamllm import LLMEnd, LLMError, TokenUsage
from streamllm.errors import ProviderError, ProviderStatusError, StreamProtocolError
from streamllm.models import Ollama
from streamllm.testing import RecordingHandler
from tests.models.http_helpers import busy_connections, model_client, run_stream
from tests.servers.ollama_server import PROMPT_EVAL_COUNT, TOKENS, OllamaServer


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("chat", [False, True], ids=["generate", "chat"])
async def test_stream_and_done_line_usage(
    ollama_server: OllamaServer, mode: str, chat: bool
) -> None:
    """A prompt goes to /api/generate, messages to /api/chat; the done line gives usage."""
    model = Ollama(base_url=ollama_server.url, model="llama3.2")
    recorder = RecordingHandler()
    prompt = [{"role": "user", "content": "Why?"}] if chat else "Why?"
    try:
        tokens, exc = await run_stream(model, mode, prompt, callbacks=[recorder])
        assert busy_connections(model_client(model, mode)) == 0
    finally:
        await model.aclose()
    assert exc is None
    assert tokens == list(TOKENS)
    result = recorder.of_type(LLMEnd)[0].result
    assert result.usage == TokenUsage.of(PROMPT_EVAL_COUNT, len(TOKENS), "provider")
    assert result.finish_reason == "stop"
    path, body = ollama_server.requests[-1]
    assert path == ("/api/chat" if chat else "/api/generate")
    assert body["stream"] is True
    if chat:
        assert body["messages"] == prompt
    else:
        assert body["prompt"] == prompt


def test_parameters_go_in_options(ollama_server: OllamaServer) -> None:
    """max_tokens becomes num_predict; extra options are merged in."""
    with Ollama(
        base_url=ollama_server.url, max_tokens=2, temperature=0.0, options={"seed": 1}
    ) as model:
        result = model.generate(["hi"])
    assert result.text == "".join(TOKENS[:2])
    assert result.finish_reason == "length"
    options = ollama_server.requests[-1][1]["options"]
    assert options == {"num_predict": 2, "temperature": 0.0, "seed": 1}


def test_endpoint_can_be_forced(ollama_server: OllamaServer) -> None:
    """endpoint="chat" sends even a prompt to /api/chat."""
    with Ollama(base_url=ollama_server.url, endpoint="chat") as model:
        assert model.invoke("hi") == "".join(TOKENS)
    assert ollama_server.requests[-1][0] == "/api/chat"


def test_missing_model_is_a_status_error(ollama_server: OllamaServer) -> None:
    """Ollama's 404 with {"error": ...} becomes ProviderStatusError with that message."""
    with (
        Ollama(base_url=ollama_server.url, model="missing") as model,
        pytest.raises(ProviderStatusError, match="not found, try pulling it first") as info,
    ):
        model.invoke("hi")
    assert info.value.status_code == 404


def test_error_line_mid_stream(ollama_server: OllamaServer) -> None:
    """An {"error": ...} line after a token is a ProviderError; the partial text is kept."""
    recorder = RecordingHandler()
    with (
        Ollama(base_url=ollama_server.url, model="broken") as model,
        pytest.raises(ProviderError, match="error was encountered"),
    ):
        model.invoke("hi", callbacks=[recorder])
    terminal = recorder.events[-1]
    assert isinstance(terminal, LLMError)
    assert terminal.partial.text == TOKENS[0]


def test_stream_without_done_line(ollama_server: OllamaServer) -> None:
    """A body that ends before the done line is a StreamProtocolError."""
    with (
        Ollama(base_url=ollama_server.url, model="nodone") as model,
        pytest.raises(StreamProtocolError, match="done line"),
    ):
        model.invoke("hi")


def test_default_base_url_is_the_host_root() -> None:
    """Ollama's base_url is the host root, and it needs no key."""
    model = Ollama()
    assert model.base_url == "http://127.0.0.1:11434"
    assert model.api_key is None
