"""BaseLLM: the Runnable methods, configuration and input checks (DESIGN.md section 6)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from streamllm import (
    ConfigurationError,
    FakeListLLM,
    FakeNonStreamingLLM,
    LLMEnd,
    LLMStart,
    Message,
    NewToken,
)
from streamllm.testing import RecordingHandler
from tests.models.helpers import Boom, FailingLLM, check_runs


@pytest.mark.parametrize("use_async", [False, True])
def test_invoke_streaming_fires_tokens_like_the_seed(use_async: bool) -> None:
    """streaming=True makes invoke fire on_llm_new_token for every token."""
    tokens: list[str] = []
    model = FakeNonStreamingLLM(responses=["Why did the chicken cross?"], streaming=True)
    handler = {"on_llm_new_token": lambda e: tokens.append(e.token)}
    out = (
        asyncio.run(model.ainvoke("x", callbacks=[handler]))
        if use_async
        else model.invoke("x", callbacks=[handler])
    )
    assert out == "Why did the chicken cross?"
    # A provider without _stream streams its whole output as one chunk.
    assert tokens == [out]


def test_invoke_without_streaming_uses_generate() -> None:
    """With streaming off, a provider's _generate serves invoke: no tokens."""
    recorder = RecordingHandler()
    FakeNonStreamingLLM(responses=["whole"]).invoke("x", callbacks=[recorder])
    assert [e.type for e in recorder.events] == ["llm_start", "llm_end"]


def test_config_and_keyword_arguments_merge() -> None:
    """config={...} and keyword arguments both work, and merge."""
    recorder = RecordingHandler()
    run_id = uuid4()
    model = FakeListLLM(responses=["a"], tags=["model"], metadata={"m": 1})
    model.invoke(
        "x",
        config={
            "callbacks": [recorder],
            "tags": ["cfg"],
            "metadata": {"c": 2},
            "run_name": "named",
        },
        tags=["kw"],
        run_id=run_id,
    )
    start = recorder.of_type(LLMStart)[0]
    assert start.run_id == run_id
    assert start.trace_id == run_id
    assert start.name == "named"
    assert start.tags == ("model", "cfg", "kw")
    assert start.metadata == {"m": 1, "c": 2}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"config": {"nope": 1}}, "unknown config key"),
        ({"metadata": {"x": object()}}, "JSON-compatible"),
        ({"tags": "one-string"}, "list of strings"),
        ({"run_id": "not-a-uuid"}, "not a UUID"),
        ({"callbacks": RecordingHandler()}, "list of handlers"),
    ],
)
def test_bad_call_arguments(kwargs: dict[str, Any], message: str) -> None:
    """Bad config, metadata, tags, run ids and callbacks raise ConfigurationError."""
    with pytest.raises(ConfigurationError, match=message):
        FakeListLLM(responses=["a"]).invoke("x", **kwargs)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"temperature": 3.0}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"top_p": 0}, "top_p"),
        ({"n": 2}, "n"),
        ({"stop": [""]}, "stop"),
        ({"responses": []}, "responses"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_invalid_parameters_fail_at_construction(params: dict[str, Any], field: str) -> None:
    """Invalid generation parameters raise ConfigurationError with pydantic's details."""
    with pytest.raises(ConfigurationError, match=field) as info:
        FakeListLLM(**{"responses": ["a"], **params})
    assert isinstance(info.value.__cause__, ValidationError)
    assert isinstance(info.value, ValueError)


def test_invalid_assignment_is_refused() -> None:
    """Assigning an invalid value later is refused the same way."""
    model = FakeListLLM(responses=["a"])
    with pytest.raises(ConfigurationError, match="temperature"):
        model.temperature = -1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "empty"),
        ([{"role": "robot", "content": "hi"}], "unknown role 'robot'"),
        ([{"role": "user"}], "message 0 is not a valid message"),
        ([42], "message 0 is a int"),
        (42, "prompt string or a list of messages"),
    ],
)
def test_bad_inputs(value: Any, message: str) -> None:
    """Empty message lists, unknown roles and other inputs are refused up front."""
    with pytest.raises(ConfigurationError, match=message):
        FakeListLLM(responses=["a"]).invoke(value)


def test_messages_are_accepted_as_dicts_or_models() -> None:
    """A list of messages reaches the start event as Message models."""
    recorder = RecordingHandler()
    FakeListLLM(responses=["ok"]).invoke(
        [{"role": "system", "content": "be brief"}, Message(role="user", content="hi")],
        callbacks=[recorder],
    )
    start = recorder.of_type(LLMStart)[0]
    assert start.prompt is None
    assert start.messages == (
        Message(role="system", content="be brief"),
        Message(role="user", content="hi"),
    )


@pytest.mark.parametrize("use_async", [False, True])
def test_batch_keeps_input_order(use_async: bool) -> None:
    """Results come back in input order, one run each."""
    recorder = RecordingHandler()
    model = FakeListLLM(responses=[f"answer {i}" for i in range(7)])
    prompts = [f"p{i}" for i in range(7)]
    out = (
        asyncio.run(model.abatch(prompts, callbacks=[recorder], max_concurrency=3))
        if use_async
        else model.batch(prompts, callbacks=[recorder], max_concurrency=3)
    )
    assert sorted(out) == sorted(f"answer {i}" for i in range(7))
    assert len(check_runs(recorder.events)) == 7


@pytest.mark.parametrize("use_async", [False, True])
def test_batch_order_is_input_order_with_delays(use_async: bool) -> None:
    """A slow first input still comes back first."""

    class Echo(FakeListLLM):
        def _stream(self, request: Any) -> Any:
            from streamllm import GenerationChunk

            time.sleep(0.05 if request.prompt == "slow" else 0)
            yield GenerationChunk(request.prompt)

        async def _astream(self, request: Any) -> Any:
            from streamllm import GenerationChunk

            await asyncio.sleep(0.05 if request.prompt == "slow" else 0)
            yield GenerationChunk(request.prompt)

    model = Echo(responses=["unused"])
    prompts = ["slow", "a", "b"]
    out = asyncio.run(model.abatch(prompts)) if use_async else model.batch(prompts)
    assert out == prompts


@pytest.mark.parametrize("use_async", [False, True])
def test_batch_return_exceptions(use_async: bool) -> None:
    """With return_exceptions, failures take their input's place."""
    model = FailingLLM(responses=["a b"], fail_after=1)
    out = (
        asyncio.run(model.abatch(["x", "y"], return_exceptions=True))
        if use_async
        else model.batch(["x", "y"], return_exceptions=True)
    )
    assert [type(o) for o in out] == [Boom, Boom]


@pytest.mark.parametrize("use_async", [False, True])
def test_batch_raises_first_failure_after_runs_in_flight_end(use_async: bool) -> None:
    """The first failure is raised after every run in flight ended, each with one
    terminal event."""
    recorder = RecordingHandler()
    model = FailingLLM(responses=["a b c"], fail_after=2, delay=0.01)
    with pytest.raises(Boom):
        if use_async:
            asyncio.run(model.abatch(["x"] * 6, callbacks=[recorder], max_concurrency=2))
        else:
            model.batch(["x"] * 6, callbacks=[recorder], max_concurrency=2)
    runs = check_runs(recorder.events)
    assert 1 <= len(runs) < 6, "no new run starts after the first failure"


def test_batch_refuses_run_id_and_single_string() -> None:
    """run_id applies to one run only; batch needs a list."""
    model = FakeListLLM(responses=["a"])
    with pytest.raises(ConfigurationError, match="run_id"):
        model.batch(["x", "y"], run_id=uuid4())
    with pytest.raises(ConfigurationError, match="list of inputs"):
        model.batch("xy")  # type: ignore[arg-type]


def test_batch_cancel_ends_runs_in_flight_as_cancelled() -> None:
    """Ctrl-C while batch waits ends the runs in flight as cancelled, starts no more."""
    recorder = RecordingHandler()
    model = FakeListLLM(responses=["a b c d e f g h"], delay=0.02)
    main = threading.get_ident()
    sent = threading.Lock()

    def interrupt_soon(event: Any) -> None:
        if (
            isinstance(event, NewToken)
            and event.index == 2
            and threading.get_ident() != main
            and sent.acquire(blocking=False)
        ):
            # A real SIGINT, as Ctrl-C sends: it wakes the main thread's wait.
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        model.batch(["x"] * 8, callbacks=[recorder, interrupt_soon], max_concurrency=2)
    runs = check_runs(recorder.events)
    assert len(runs) < 8
    reasons = [getattr(events[-1], "reason", None) for events in runs.values()]
    assert "cancelled" in reasons


@pytest.mark.parametrize("use_async", [False, True])
def test_generate_returns_one_result_with_usage(use_async: bool) -> None:
    """generate runs each prompt as one run and returns their LLMResult."""
    recorder = RecordingHandler()
    model = FakeListLLM(responses=["one", "two words"])
    result = (
        asyncio.run(model.agenerate(["a", "b"], callbacks=[recorder]))
        if use_async
        else model.generate(["a", "b"], callbacks=[recorder])
    )
    assert sorted(g[0].text for g in result.generations) == ["one", "two words"]
    assert result.usage is not None
    assert result.usage.source == "estimated"
    assert len(result.run_ids) == 2
    ends = recorder.of_type(LLMEnd)
    assert {e.run_id for e in ends} == set(result.run_ids)


def test_invocation_params_hold_no_secrets_or_internals() -> None:
    """invocation_params lists generation parameters only."""
    params = FakeListLLM(responses=["a"], temperature=0.5, stop=["\n"]).invocation_params
    assert params == {
        "n": 1,
        "temperature": 0.5,
        "stop": ["\n"],
        "model": "fake",
        "provider": "fake",
    }


def test_model_used_from_many_threads() -> None:
    """One model serves many threads at once, each run complete."""
    recorder = RecordingHandler()
    model = FakeListLLM(responses=["a b c"])
    threads = [
        threading.Thread(
            target=lambda: [model.invoke("x", callbacks=[recorder]) for _ in range(20)]
        )
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(check_runs(recorder.events)) == 80
