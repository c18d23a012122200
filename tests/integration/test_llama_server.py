"""OpenAI, ChatOpenAI and ChatAnthropic against a real llama.cpp llama-server on 127.0.0.1."""

from __future__ import annotations

import pytest

from streamllm import BaseChatModel, BaseLLM, LLMEnd, LLMError, NewToken
from streamllm.testing import RecordingHandler
from tests.models.http_helpers import text_of

MAX_TOKENS = 12
# A prompt a raw (legacy completions) model continues too, sampled greedily: an
# instruct model given a bare question may answer with end-of-text at once.
PROMPT = "Once upon a time, in a land of dragons,"


def _model(kind: str, base: str) -> BaseLLM | BaseChatModel:
    if kind == "openai":
        from streamllm.models.openai import OpenAI

        return OpenAI(
            model="smollm2", base_url=f"{base}/v1", max_tokens=MAX_TOKENS, temperature=0.0
        )
    if kind == "chat-openai":
        from streamllm.models.openai import ChatOpenAI

        return ChatOpenAI(
            model="smollm2", base_url=f"{base}/v1", max_tokens=MAX_TOKENS, temperature=0.0
        )
    from streamllm.models.anthropic import ChatAnthropic

    # Anthropic's base URL is the host root (its SDK's convention).
    return ChatAnthropic(model="smollm2", base_url=base, max_tokens=MAX_TOKENS, temperature=0.0)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", ["openai", "chat-openai", "anthropic"])
async def test_streams_real_tokens_with_provider_usage(
    llama_server: str, kind: str, mode: str
) -> None:
    """Real tokens stream; they add up to the result; the server's usage is reported."""
    model = _model(kind, llama_server)
    rec = RecordingHandler()
    prompt = PROMPT
    if mode == "sync":
        chunks = list(model.stream(prompt, callbacks=[rec]))
    else:
        chunks = [t async for t in model.astream(prompt, callbacks=[rec])]
    # A chat model's chunks include text-less ones (block start/end, usage).
    tokens = [text_of(c) for c in chunks if text_of(c)]
    close = getattr(model, "aclose" if mode == "async" else "close", None)
    if close is not None:
        result = close()
        if mode == "async":
            await result
    assert len(tokens) > 1
    assert [e.token for e in rec.of_type(NewToken)] == tokens
    assert not rec.of_type(LLMError)
    (end,) = rec.of_type(LLMEnd)
    assert end.result.text == "".join(tokens)
    usage = end.result.usage
    assert usage is not None
    assert usage.source == "provider"
    assert usage.prompt_tokens is not None
    assert usage.prompt_tokens > 0
    assert usage.completion_tokens is not None
    assert 0 < usage.completion_tokens <= MAX_TOKENS
    assert end.result.finish_reason in ("stop", "length")


@pytest.mark.parametrize("kind", ["openai", "chat-openai", "anthropic"])
def test_early_close_cancels_once(llama_server: str, kind: str) -> None:
    """Closing the stream after one token ends the run once, as cancelled."""
    model = _model(kind, llama_server)
    rec = RecordingHandler()
    stream = model.stream(PROMPT, callbacks=[rec])
    first = text_of(next(stream))
    stream.close()
    close = getattr(model, "close", None)
    if close is not None:
        close()
    (error,) = rec.of_type(LLMError)
    assert error.reason == "cancelled"
    assert error.partial.text == first
    assert not rec.of_type(LLMEnd)
