"""ChatLlamaCpp against the real embedded SmolLM2 model (small outputs, fixed seed, one thread)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import Iterator

import pytest

from streamllm import (
    AIMessage,
    AIMessageChunk,
    BlockEnd,
    BlockStart,
    ConfigurationError,
    LLMEnd,
    LLMError,
    NewToken,
    TextBlock,
)
from streamllm.testing import RecordingHandler

pytest.importorskip("llama_cpp")

from streamllm.models.chat_llamacpp import ChatLlamaCpp
from streamllm.models.llamacpp import LlamaCpp

MAX_TOKENS = 12
LONG = "Write a long story about a dragon."


@pytest.fixture(scope="module")
def model() -> Iterator[ChatLlamaCpp]:
    """One loaded model for the module: loading is the slow part."""
    chat = ChatLlamaCpp(max_tokens=MAX_TOKENS, seed=42, n_threads=1, n_ctx=512, temperature=0.7)
    chat.load()
    yield chat
    chat.close()


async def _chunks(
    chat: ChatLlamaCpp, mode: str, prompt: object, rec: RecordingHandler
) -> list[AIMessageChunk]:
    if mode == "sync":
        return list(chat.stream(prompt, callbacks=[rec]))  # type: ignore[arg-type]
    return [c async for c in chat.astream(prompt, callbacks=[rec])]  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    "prompt",
    ["Tell me a joke.", [("system", "Be brief."), ("user", "Hi")]],
    ids=["prompt", "messages"],
)
async def test_streams_one_text_block_that_adds_up(
    model: ChatLlamaCpp, mode: str, prompt: object
) -> None:
    """Chunks sum to the run's message: one text block, its tokens the NewTokens
    (block 0) between one BlockStart and one BlockEnd, usage from the tokenizer."""
    rec = RecordingHandler()
    chunks = await _chunks(model, mode, prompt, rec)
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    message = sum(chunks[1:], chunks[0]).to_message()
    tokens = [c.text for c in chunks if c.text]
    assert len(tokens) > 1
    assert [e.token for e in rec.of_type(NewToken)] == tokens
    assert {e.block for e in rec.of_type(NewToken)} == {0}
    (start,) = rec.of_type(BlockStart)
    assert (start.block, start.kind) == (0, "text")
    (block_end,) = rec.of_type(BlockEnd)
    assert block_end.content == TextBlock(text="".join(tokens))
    (end,) = rec.of_type(LLMEnd)
    assert not rec.of_type(LLMError)
    assert end.result.message == message
    assert message.text == end.result.text == "".join(tokens)
    assert end.result.model == "SmolLM2-135M-Instruct"
    assert message.finish_reason in ("stop", "length")
    usage = message.usage
    assert usage is not None
    assert usage.source == "provider"
    assert usage.prompt_tokens is not None
    assert usage.prompt_tokens > model.get_num_tokens("Hi")  # the chat template's own tokens
    assert usage.completion_tokens == model.get_num_tokens(message.text)
    assert end.result.usage == usage


async def test_invoke_and_ainvoke_return_the_streamed_message(model: ChatLlamaCpp) -> None:
    """invoke, ainvoke and the sum of a stream give the same message (the seed is fixed)."""
    streamed = sum(model.stream("Name a colour."))
    invoked = model.invoke("Name a colour.")
    ainvoked = await model.ainvoke("Name a colour.")
    assert isinstance(invoked, AIMessage)
    assert invoked.text
    assert streamed.text == invoked.text == ainvoked.text  # type: ignore[union-attr]
    assert invoked.usage == ainvoked.usage


def test_max_tokens_and_stop_as_llamacpp_has_them(model: ChatLlamaCpp) -> None:
    """max_tokens cuts the answer (finish_reason length); a stop string ends it before it."""
    free = model.invoke(LONG)
    assert free.finish_reason == "length"
    assert free.usage is not None
    assert free.usage.completion_tokens == MAX_TOKENS
    stop = free.text.split()[2]
    model.stop = [stop]
    try:
        stopped = model.invoke(LONG)
    finally:
        model.stop = None
    assert stop not in stopped.text
    assert free.text.startswith(stopped.text)
    assert stopped.finish_reason == "stop"


def test_closing_the_stream_cancels_once(model: ChatLlamaCpp) -> None:
    """close() mid-stream ends the run with one LLMError(cancelled) holding the text so far."""
    rec = RecordingHandler()
    stream = model.stream(LONG, callbacks=[rec])
    seen = ""
    while not seen:
        seen += next(stream).text
    stream.close()
    (error,) = rec.of_type(LLMError)
    assert error.reason == "cancelled"
    assert error.partial.message is not None
    assert error.partial.message.text == seen
    assert not rec.of_type(LLMEnd)
    assert not rec.of_type(BlockEnd)
    assert not model._shared().lock.locked()
    assert model.invoke("Hi").text


def test_dropping_the_stream_cancels_once(model: ChatLlamaCpp) -> None:
    """An abandoned (garbage-collected) stream ends with one LLMError(cancelled)."""
    rec = RecordingHandler()
    stream = model.stream(LONG, callbacks=[rec])
    next(stream)
    del stream
    gc.collect()
    assert [e.reason for e in rec.of_type(LLMError)] == ["cancelled"]
    assert not model._shared().lock.locked()


async def test_aclose_and_task_cancel_stop_the_worker(model: ChatLlamaCpp) -> None:
    """aclose() and cancelling the consuming task each end the run once, as cancelled,
    and no generation thread outlives the stream."""
    rec = RecordingHandler()
    stream = model.astream(LONG, callbacks=[rec])
    await stream.__anext__()
    await stream.aclose()
    started = asyncio.Event()

    async def consume() -> None:
        async with contextlib.aclosing(model.astream(LONG, callbacks=[rec])) as chunks:
            async for _ in chunks:
                started.set()
                await asyncio.sleep(0)

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [e.reason for e in rec.of_type(LLMError)] == ["cancelled", "cancelled"]
    assert not rec.of_type(LLMEnd)
    assert not any(t.name == "streamllm-llamacpp" for t in threading.enumerate())
    assert not model._shared().lock.locked()


def test_bind_tools_is_refused_at_bind_time(model: ChatLlamaCpp) -> None:
    """It cannot take tools: a ConfigurationError that says so and where to go instead."""

    def weather(city: str) -> str:
        """The weather in a city."""
        return city

    with pytest.raises(ConfigurationError, match="ChatLlamaCpp cannot be offered tools"):
        model.bind_tools([weather])
    assert ChatLlamaCpp.supports_tools is False


def test_shares_the_loaded_model_with_llamacpp(model: ChatLlamaCpp) -> None:
    """A LlamaCpp with the same file and load settings uses the same loaded model; closing
    one leaves the other working; the last one to close frees it."""
    text = LlamaCpp(max_tokens=MAX_TOKENS, seed=42, n_threads=1, n_ctx=512)
    assert text.load() is model.load()
    assert text._shared() is model._shared()
    assert text.invoke("Hi")
    text.close()
    assert model.invoke("Hi").text
    other = LlamaCpp(max_tokens=4, seed=42, n_threads=1, n_ctx=256)  # another context size
    assert other.load() is not model.load()
    other.close()


def test_copies_share_the_model_and_free_it_last() -> None:
    """Copies share one load; it is freed when the last holder lets go,
    and a dropped (collected) holder lets go too."""
    first = ChatLlamaCpp(max_tokens=4, seed=5, n_threads=1, n_ctx=128)
    copy = first._copy_with(tags=["copy"])  # as bind_tools/with_config copy a model
    loaded = first._shared()
    assert copy._shared() is loaded
    assert loaded.holders == 2
    first.close()
    assert loaded.holders == 1
    assert copy.invoke("Hi").text
    del copy
    gc.collect()
    assert loaded.holders == 0
    fresh = ChatLlamaCpp(max_tokens=4, seed=5, n_threads=1, n_ctx=128)
    assert fresh._shared() is not loaded
    fresh.close()
