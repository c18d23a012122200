"""The guarantees of DESIGN.md section 2, checked over random responses,
random handler failures and random break points, for every way to run a model."""

from __future__ import annotations

import asyncio
import gc
from contextlib import aclosing
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamllm import (
    CallbackHandler,
    FakeListLLM,
    LLMEnd,
    LLMError,
    NewToken,
    handler_failures,
)
from streamllm.events import HOOKS, BaseEvent
from streamllm.testing import AsyncRecordingHandler, RecordingHandler
from tests.models.helpers import Boom, FailingLLM, check_run, check_runs

SYNC_MODES = ["stream", "invoke", "batch", "stream_events"]
ASYNC_MODES = ["astream", "ainvoke", "abatch", "astream_events"]

texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
responses = st.lists(texts, min_size=1, max_size=3)
failing_hooks = st.sets(st.sampled_from(HOOKS[:4]))
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Flaky(CallbackHandler):
    """Raises on the hooks it is told to (and records what it saw)."""

    def __init__(self, fail_on: set[str]) -> None:
        self.fail_on = fail_on
        self.events: list[BaseEvent] = []

    def _maybe(self, name: str, event: BaseEvent) -> None:
        self.events.append(event)
        if name in self.fail_on:
            raise ValueError(f"flaky {name}")

    def on_llm_start(self, event: Any) -> None:
        self._maybe("on_llm_start", event)

    def on_llm_new_token(self, event: Any) -> None:
        self._maybe("on_llm_new_token", event)

    def on_llm_end(self, event: Any) -> None:
        self._maybe("on_llm_end", event)

    def on_llm_error(self, event: Any) -> None:
        self._maybe("on_llm_error", event)


def run_sync(
    model: FakeListLLM,
    mode: str,
    prompts: list[str],
    handlers: list[Any],
    break_at: int | None,
    seen_before: RecordingHandler,
) -> list[str]:
    """Drive the model; return what the consumer received, per prompt."""
    if mode == "stream":
        out: list[str] = []
        for prompt in prompts:
            received: list[str] = []
            iterator = model.stream(prompt, callbacks=handlers)
            for token in iterator:
                # NewToken reached the handler before the token reached us.
                assert seen_before.tokens()[-1] == token
                received.append(token)
                if break_at is not None and len(received) > break_at:
                    break
            iterator.close()  # type: ignore[attr-defined]
            out.append("".join(received))
        return out
    if mode == "invoke":
        return [model.invoke(p, callbacks=handlers) for p in prompts]
    if mode == "batch":
        return model.batch(prompts, callbacks=handlers, max_concurrency=2)
    assert mode == "stream_events"
    out = []
    for prompt in prompts:
        tokens = [
            e.token
            for e in model.stream_events(prompt, callbacks=handlers)
            if isinstance(e, NewToken)
        ]
        out.append("".join(tokens))
    return out


async def run_async(
    model: FakeListLLM,
    mode: str,
    prompts: list[str],
    handlers: list[Any],
    break_at: int | None,
    seen_before: RecordingHandler,
) -> list[str]:
    if mode == "astream":
        out: list[str] = []
        for prompt in prompts:
            received: list[str] = []
            async with aclosing(model.astream(prompt, callbacks=handlers)) as stream:  # type: ignore[type-var]
                async for token in stream:
                    assert seen_before.tokens()[-1] == token
                    received.append(token)
                    if break_at is not None and len(received) > break_at:
                        break
            out.append("".join(received))
        return out
    if mode == "ainvoke":
        return [await model.ainvoke(p, callbacks=handlers) for p in prompts]
    if mode == "abatch":
        return await model.abatch(prompts, callbacks=handlers, max_concurrency=2)
    assert mode == "astream_events"
    out = []
    for prompt in prompts:
        tokens = [
            e.token
            async for e in model.astream_events(prompt, callbacks=handlers)
            if isinstance(e, NewToken)
        ]
        out.append("".join(tokens))
    return out


def check(
    recorders: list[Any],
    flaky: Flaky,
    results: list[str],
    answers: list[str],
    break_at: int | None,
    streamed: bool,
) -> None:
    for recorder in [*recorders, flaky]:
        runs = check_runs(recorder.events)
        assert len(runs) == len(answers)
        for run_events in runs.values():
            terminal = run_events[-1]
            if isinstance(terminal, LLMError):
                assert terminal.reason == "cancelled"
                assert break_at is not None
    # A failing handler never changes what the caller receives.
    if break_at is None or not streamed:
        assert sorted(results) == sorted(answers)
    else:
        for got, want in zip(results, answers, strict=True):
            assert want.startswith(got)
    # Every failure was counted, and the caller never saw one.
    expected = sum(1 for e in flaky.events if HOOKS[e.slot] in flaky.fail_on)
    assert handler_failures.by_handler.get("Flaky", 0) == expected


@PROPERTY
@given(
    answers=responses,
    fail_on=failing_hooks,
    break_at=st.none() | st.integers(0, 8),
    mode=st.sampled_from(SYNC_MODES),
)
def test_guarantees_sync(
    answers: list[str], fail_on: set[str], break_at: int | None, mode: str
) -> None:
    """Order, one terminal event, tokens before the consumer, and tokens adding
    up to the result hold for every sync way of running a model."""
    handler_failures.reset()
    model = FakeListLLM(responses=answers)
    recorder, flaky = RecordingHandler(), Flaky(fail_on)
    results = run_sync(
        model, mode, [f"p{i}" for i in range(len(answers))], [flaky, recorder], break_at, recorder
    )
    check([recorder], flaky, results, answers, break_at, mode == "stream")


@PROPERTY
@given(
    answers=responses,
    fail_on=failing_hooks,
    break_at=st.none() | st.integers(0, 8),
    mode=st.sampled_from(ASYNC_MODES),
)
def test_guarantees_async(
    answers: list[str], fail_on: set[str], break_at: int | None, mode: str
) -> None:
    """The same guarantees for every async way, with a sync and an async handler."""
    handler_failures.reset()
    model = FakeListLLM(responses=answers)
    recorder, arecorder, flaky = RecordingHandler(), AsyncRecordingHandler(), Flaky(fail_on)
    results = asyncio.run(
        run_async(
            model,
            mode,
            [f"p{i}" for i in range(len(answers))],
            [flaky, recorder, arecorder],
            break_at,
            recorder,
        )
    )
    check([recorder, arecorder], flaky, results, answers, break_at, mode == "astream")


@pytest.mark.parametrize("fail_after", [0, 1, 3])
@pytest.mark.parametrize("mode", ["stream", "invoke", "astream", "ainvoke"])
def test_provider_failure_ends_run_once(mode: str, fail_after: int) -> None:
    """A provider that raises mid-stream ends the run with one LLMError holding
    the partial text, and the caller gets the provider's exception."""
    model = FailingLLM(responses=["one two three four"], fail_after=fail_after, streaming=True)
    recorder = RecordingHandler()
    with pytest.raises(Boom):
        if mode == "stream":
            list(model.stream("x", callbacks=[recorder]))
        elif mode == "invoke":
            model.invoke("x", callbacks=[recorder])
        elif mode == "astream":

            async def consume() -> None:
                async for _ in model.astream("x", callbacks=[recorder]):
                    pass

            asyncio.run(consume())
        else:
            asyncio.run(model.ainvoke("x", callbacks=[recorder]))
    terminal = check_run(recorder.events)
    assert isinstance(terminal, LLMError)
    assert terminal.reason == "failed"
    assert terminal.error.type == "Boom"
    assert terminal.partial.text == "one two three four"[: len("".join(recorder.tokens()))]


def test_garbage_collected_stream_ends_cancelled() -> None:
    """Dropping a half-read iterator ends its run with LLMError(reason="cancelled")."""
    recorder = RecordingHandler()
    stream = FakeListLLM(responses=["a b c d"]).stream("x", callbacks=[recorder])
    assert next(stream) == "a"
    del stream
    gc.collect()
    terminal = check_run(recorder.events)
    assert isinstance(terminal, LLMError)
    assert terminal.reason == "cancelled"
    assert terminal.partial.text == "a"


def test_abandoned_async_stream_ends_when_loop_finalises() -> None:
    """Breaking out of ``async for`` without aclosing still ends the run once,
    when the loop finalises the generator."""
    recorder = RecordingHandler()

    async def main() -> None:
        async for _ in FakeListLLM(responses=["a b c"]).astream("x", callbacks=[recorder]):
            break

    asyncio.run(main())
    terminal = check_run(recorder.events)
    assert isinstance(terminal, LLMError)
    assert terminal.reason == "cancelled"


@pytest.mark.parametrize("streamed", [True, False])
def test_task_cancellation_ends_run_cancelled(streamed: bool) -> None:
    """Cancelling the task that consumes a stream ends the run as cancelled."""
    recorder = RecordingHandler()
    model = FakeListLLM(responses=["a b c d e f"], delay=0.05, streaming=True)

    async def consume() -> None:
        if streamed:
            async for _ in model.astream("x", callbacks=[recorder]):
                pass
        else:
            await model.ainvoke("x", callbacks=[recorder])

    async def main() -> None:
        task = asyncio.create_task(consume())
        await asyncio.sleep(0.12)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    terminal = check_run(recorder.events)
    assert isinstance(terminal, LLMError)
    assert terminal.reason == "cancelled"
    assert recorder.tokens(), "some tokens streamed before the cancel"


def test_close_mid_stream_ends_once() -> None:
    """close() ends the run once; closing again adds nothing."""
    recorder = RecordingHandler()
    stream = FakeListLLM(responses=["a b c"]).stream("x", callbacks=[recorder])
    next(stream)
    stream.close()  # type: ignore[attr-defined]
    stream.close()  # type: ignore[attr-defined]
    assert [e.type for e in recorder.events] == ["llm_start", "new_token", "llm_error"]


def test_exhausted_stream_ends_with_result() -> None:
    """A stream read to the end ends with LLMEnd carrying the full result."""
    recorder = RecordingHandler()
    assert (
        "".join(FakeListLLM(responses=["Hello big world"]).stream("x", callbacks=[recorder]))
        == "Hello big world"
    )
    terminal = check_run(recorder.events)
    assert isinstance(terminal, LLMEnd)
    assert terminal.result.finish_reason == "stop"
    assert terminal.result.usage is not None
    assert terminal.result.usage.source == "estimated"
