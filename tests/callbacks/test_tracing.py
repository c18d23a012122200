"""Nested runs with ``traced`` and handlers from every source (DESIGN.md section 4)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import pytest

from streamllm import (
    CallbackHandler,
    ChainEnd,
    ChainError,
    ChainStart,
    ConfigurationError,
    FakeListLLM,
    HandlerError,
    LLMEnd,
    LLMStart,
    copy_context_executor,
    set_global_handlers,
    tracing,
)
from streamllm.callbacks.context import current_parent
from streamllm.callbacks.env import reset_env_tracing
from streamllm.callbacks.parent_runs import traced
from streamllm.events import BaseEvent
from streamllm.handlers.recorder import read_recording
from streamllm.testing import RecordingHandler


@pytest.fixture(autouse=True)
def _clean_globals(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts and ends with no global or environment handlers."""
    monkeypatch.delenv("STREAMLLM_TRACING", raising=False)
    reset_env_tracing()
    set_global_handlers([])
    yield
    set_global_handlers([])
    monkeypatch.delenv("STREAMLLM_TRACING", raising=False)
    reset_env_tracing()


def _llm_runs(events: list[BaseEvent]) -> dict[UUID, list[BaseEvent]]:
    runs: dict[UUID, list[BaseEvent]] = {}
    for event in events:
        if event.type.startswith("llm_") or event.type == "new_token":  # type: ignore[attr-defined]
            runs.setdefault(event.run_id, []).append(event)
    return runs


def _check_llm_run(events: list[BaseEvent]) -> None:
    """start, tokens, one end, with seq 0, 1, 2 ..."""
    types = [e.type for e in events]  # type: ignore[attr-defined]
    assert types[0] == "llm_start"
    assert types[-1] == "llm_end"
    assert set(types[1:-1]) == {"new_token"}
    assert [e.seq for e in events] == list(range(len(events)))


class Logged(CallbackHandler):
    """Appends (source, event type) to a shared log, to check the order of sources."""

    def __init__(self, source: str, log: list[tuple[str, str]]) -> None:
        self.source = source
        self.log = log

    def on_llm_start(self, event: LLMStart) -> None:
        self.log.append((self.source, event.type))

    def on_llm_end(self, event: LLMEnd) -> None:
        self.log.append((self.source, event.type))


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_every_source_sees_the_run_once_in_order(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Global, environment, scoped, parent, model and call handlers all see the run,
    once each and in that order, even when one object is attached twice."""
    path = tmp_path / "env.jsonl"
    monkeypatch.setenv("STREAMLLM_TRACING", f"jsonl:{path}")
    reset_env_tracing()
    log: list[tuple[str, str]] = []
    sources = ["global", "scoped", "parent", "model", "call"]
    handlers = {s: Logged(s, log) for s in sources}
    recorders = {s: RecordingHandler() for s in sources}
    set_global_handlers([handlers["global"], recorders["global"]])
    model = FakeListLLM(
        responses=["one two three"], callbacks=[handlers["model"], recorders["model"]]
    )
    # The global recorder is also passed to the call: it must still see each event once.
    call = [handlers["call"], recorders["call"], recorders["global"]]
    parent = traced("parent", callbacks=[handlers["parent"], recorders["parent"]])
    with tracing(handlers["scoped"], recorders["scoped"]):
        if mode == "sync":
            with parent:
                assert model.invoke("hi", callbacks=call) == "one two three"
        else:
            async with parent:
                assert await model.ainvoke("hi", callbacks=call) == "one two three"

    assert log == [(s, "llm_start") for s in sources] + [(s, "llm_end") for s in sources]
    run_ids = set()
    for source, recorder in recorders.items():
        runs = _llm_runs(recorder.events)
        assert len(runs) == 1, source
        ((run_id, events),) = runs.items()
        run_ids.add(run_id)
        _check_llm_run(events)
        assert "".join(recorder.tokens(run_id)) == "one two three"
    assert len(run_ids) == 1

    reset_env_tracing()  # closes the recorder, so the file is complete
    recorded = read_recording(path)
    env_runs = _llm_runs(list(recorded))
    assert list(env_runs) == list(run_ids)
    _check_llm_run(env_runs[next(iter(run_ids))])
    # The environment handler is global, so it saw the parent run too, exactly once.
    assert [e.type for e in recorded if e.type.startswith("chain")] == [
        "chain_start",
        "chain_end",
    ]


async def test_gather_and_batch_form_one_tree() -> None:
    """Three concurrent model calls and a batch of two inside a traced coroutine
    all report the traced run as parent and its id as trace id."""
    recorder = RecordingHandler()
    model = FakeListLLM(responses=["a b", "c d e"])

    @traced(callbacks=[recorder])
    async def pipeline(question: str) -> list[str]:
        first = await asyncio.gather(*(model.ainvoke(question) for _ in range(3)))
        second = model.batch([question, question], max_concurrency=2)
        return [*first, *second]

    outputs = await pipeline("why?")
    assert len(outputs) == 5

    (start,) = recorder.of_type(ChainStart)
    (end,) = recorder.of_type(ChainEnd)
    assert start.name == "pipeline"
    assert start.inputs == {"question": "why?"}
    assert end.outputs == outputs
    assert start.parent_run_id is None
    assert start.trace_id == start.run_id
    runs = _llm_runs(recorder.events)
    assert len(runs) == 5
    for events in runs.values():
        _check_llm_run(events)
        for event in events:
            assert event.parent_run_id == start.run_id
            assert event.trace_id == start.run_id
    assert recorder.events[0] is start
    assert recorder.events[-1] is end


async def test_nested_traced_runs_share_the_root_trace() -> None:
    """A traced run inside another is its child; every run has the root's trace id."""
    recorder = RecordingHandler()
    model = FakeListLLM(responses=["x"])

    @traced(name="inner")
    async def inner() -> str:
        return await model.ainvoke("in")

    async with traced("outer", callbacks=[recorder]) as outer:
        await asyncio.gather(inner(), inner())
        with copy_context_executor(1) as pool:
            pool.submit(model.invoke, "thread").result()

    starts = {e.run_id: e for e in recorder.of_type(ChainStart)}
    inner_ids = {rid for rid, e in starts.items() if e.name == "inner"}
    assert len(inner_ids) == 2
    for rid in inner_ids:
        assert starts[rid].parent_run_id == outer.run_id
    llm_starts = recorder.of_type(LLMStart)
    assert len(llm_starts) == 3
    assert sorted(str(e.parent_run_id) for e in llm_starts) == sorted(
        [*(str(i) for i in inner_ids), str(outer.run_id)]
    )
    assert {e.trace_id for e in recorder.events} == {outer.run_id}
    assert outer.trace_id == outer.run_id
    assert current_parent() is None


def test_decorator_forms_pass_tags_and_metadata_down() -> None:
    """``@traced`` and ``@traced(name=..., tags=..., metadata=...)``: the child run
    inherits tags and metadata; the decorated function keeps its name and result."""
    recorder = RecordingHandler()
    model = FakeListLLM(responses=["ok"])

    @traced
    def plain(x: int, *, y: str = "d") -> int:
        return x + 1

    @traced(name="named", tags=["t1"], metadata={"team": "a"}, callbacks=[recorder])
    def named() -> str:
        return model.invoke("hi", tags=["call"], metadata={"req": 1})

    with tracing(recorder):
        assert plain(1, y="z") == 2
    assert named() == "ok"
    assert plain.__name__ == "plain"

    chain_starts = recorder.of_type(ChainStart)
    assert [e.name for e in chain_starts] == ["plain", "named"]
    assert chain_starts[0].inputs == {"x": 1, "y": "z"}
    assert chain_starts[1].tags == ("t1",)
    (llm_start,) = recorder.of_type(LLMStart)
    assert llm_start.tags == ("t1", "call")
    assert llm_start.metadata == {"team": "a", "req": 1}
    assert llm_start.parent_run_id == chain_starts[1].run_id


def test_inputs_that_are_not_json_become_short_reprs() -> None:
    """Inputs and outputs are kept JSON-compatible, so recorders never fail on them."""
    recorder = RecordingHandler()

    class Opaque:
        def __repr__(self) -> str:
            return "<opaque>"

    @traced(callbacks=[recorder])
    def f(obj: object, items: tuple[int, ...]) -> object:
        return Opaque()

    f(Opaque(), (1, 2))
    (start,) = recorder.of_type(ChainStart)
    (end,) = recorder.of_type(ChainEnd)
    assert start.inputs == {"obj": "<opaque>", "items": [1, 2]}
    assert end.outputs == "<opaque>"
    start.model_dump_json()
    end.model_dump_json()


def _chain_terminals(recorder: RecordingHandler) -> list[BaseEvent]:
    return [e for e in recorder.events if e.type in ("chain_end", "chain_error")]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("exc", "reason"),
    [(ValueError("boom"), "failed"), (KeyboardInterrupt(), "cancelled")],
)
def test_a_failing_body_ends_with_one_chain_error(exc: BaseException, reason: str) -> None:
    """The exception propagates unchanged, after exactly one ChainError."""
    recorder = RecordingHandler()

    @traced(callbacks=[recorder])
    def body() -> None:
        raise exc

    with pytest.raises(type(exc)):
        body()
    (terminal,) = _chain_terminals(recorder)
    assert isinstance(terminal, ChainError)
    assert terminal.reason == reason
    assert terminal.error.type == type(exc).__name__
    assert current_parent() is None


async def test_a_cancelled_coroutine_ends_with_reason_cancelled() -> None:
    """Task cancellation inside a traced coroutine: one ChainError(reason="cancelled")."""
    recorder = RecordingHandler()
    started = asyncio.Event()

    @traced(callbacks=[recorder])
    async def waits() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(waits())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (terminal,) = _chain_terminals(recorder)
    assert isinstance(terminal, ChainError)
    assert terminal.reason == "cancelled"


async def test_async_generator_parent_is_set_per_step_only() -> None:
    """Runs inside a traced async generator get the parent; its consumer never does."""
    recorder = RecordingHandler()
    model = FakeListLLM(responses=["one two three"])

    @traced(callbacks=[recorder])
    async def tokens() -> AsyncIterator[str]:
        async for token in model.astream("hi"):
            assert current_parent() is not None
            yield token

    seen = []
    async for token in tokens():
        assert current_parent() is None
        seen.append(token)
    assert "".join(seen) == "one two three"
    (start,) = recorder.of_type(ChainStart)
    (llm_start,) = recorder.of_type(LLMStart)
    assert llm_start.parent_run_id == start.run_id
    assert isinstance(recorder.events[-1], ChainEnd)


async def test_async_generator_closed_early_is_cancelled() -> None:
    """``aclose()`` after one item ends the chain, and the model run inside, as cancelled."""
    recorder = RecordingHandler()
    model = FakeListLLM(responses=["one two three"])

    @traced(callbacks=[recorder])
    async def tokens() -> AsyncGenerator[str, None]:
        # aclosing: the inner stream ends now, not when the collector finalizes it.
        # (cast: BaseLLM.astream is annotated as an AsyncIterator, without aclose.)
        inner_stream = cast(AsyncGenerator[str, None], model.astream("hi"))
        async with contextlib.aclosing(inner_stream) as inner:
            async for token in inner:
                yield token

    async with contextlib.aclosing(tokens()) as stream:
        async for _ in stream:
            break
    (terminal,) = _chain_terminals(recorder)
    assert isinstance(terminal, ChainError)
    assert terminal.reason == "cancelled"
    assert [e.type for e in recorder.events].count("llm_error") == 1  # type: ignore[attr-defined]
    assert recorder.events[-1] is terminal


def test_sync_generator_sends_and_closes() -> None:
    """A traced generator passes ``send`` through, sets the parent per step, and a
    close ends it as cancelled."""
    recorder = RecordingHandler()
    model = FakeListLLM(responses=["r"])

    @traced(callbacks=[recorder])
    def echo() -> Generator[str, str, None]:
        received = yield model.invoke("first")
        while True:
            assert current_parent() is not None
            received = yield f"got {received}"

    gen = echo()
    assert next(gen) == "r"
    assert current_parent() is None
    assert gen.send("x") == "got x"
    gen.close()
    (llm_start,) = recorder.of_type(LLMStart)
    (start,) = recorder.of_type(ChainStart)
    assert llm_start.parent_run_id == start.run_id
    (terminal,) = _chain_terminals(recorder)
    assert isinstance(terminal, ChainError)
    assert terminal.reason == "cancelled"


def test_sync_generator_exhausted_ends_with_its_return_value() -> None:
    """The return value of an exhausted generator becomes the chain's outputs."""
    recorder = RecordingHandler()

    @traced(callbacks=[recorder])
    def count() -> Generator[int, None, str]:
        yield 1
        yield 2
        return "done"

    assert list(count()) == [1, 2]
    (terminal,) = _chain_terminals(recorder)
    assert isinstance(terminal, ChainEnd)
    assert terminal.outputs == "done"


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_context_manager_outputs_and_errors(mode: str) -> None:
    """``with traced(...) as run``: ``run.outputs`` is sent with ChainEnd; an error
    in the block becomes ChainError and propagates."""
    recorder = RecordingHandler()

    async def block(fail: bool) -> None:
        spec = traced("block", callbacks=[recorder])
        if mode == "sync":
            with spec as run:
                run.outputs = {"n": 1}
                if fail:
                    raise RuntimeError("inside")
        else:
            async with spec as run:
                run.outputs = {"n": 1}
                if fail:
                    raise RuntimeError("inside")

    await block(False)
    with pytest.raises(RuntimeError, match="inside"):
        await block(True)
    terminals = _chain_terminals(recorder)
    assert isinstance(terminals[0], ChainEnd)
    assert terminals[0].outputs == {"n": 1}
    assert isinstance(terminals[1], ChainError)
    assert terminals[1].reason == "failed"
    assert current_parent() is None


class StrictOnChainStart(CallbackHandler):
    raise_error = True

    def on_chain_start(self, event: ChainStart) -> None:
        raise RuntimeError("refused")


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_strict_handler_failing_on_chain_start_stops_the_run(mode: str) -> None:
    """The body never runs; the run still ends with one ChainError; the caller gets
    the HandlerError."""
    recorder = RecordingHandler()
    ran: list[bool] = []
    handlers: list[Any] = [StrictOnChainStart(), recorder]

    if mode == "sync":

        @traced(callbacks=handlers)
        def body() -> None:
            ran.append(True)

        with pytest.raises(HandlerError):
            body()
    else:

        @traced(callbacks=handlers)
        async def abody() -> None:
            ran.append(True)

        with pytest.raises(HandlerError):
            await abody()
    assert ran == []
    assert [e.type for e in recorder.events] == ["chain_start", "chain_error"]  # type: ignore[attr-defined]
    assert current_parent() is None


def test_bad_arguments_are_refused_when_decorating() -> None:
    """Tags, metadata and handlers are checked once, when ``traced`` is applied."""
    bad: list[Callable[[], object]] = [
        lambda: traced(tags="one-string"),
        lambda: traced(metadata={"x": object()}),
        lambda: traced(callbacks=[object()]),  # type: ignore[list-item]
        lambda: traced(42),  # type: ignore[call-overload]
    ]
    for make in bad:
        with pytest.raises(ConfigurationError):
            make()


async def test_one_block_spec_entered_by_many_tasks_at_once() -> None:
    """A module-level ``traced("step")`` opened concurrently in several tasks keeps
    each task's run apart: each model call's parent is its own task's block."""
    recorder = RecordingHandler()
    model = FakeListLLM(responses=["x"])
    step = traced("step", callbacks=[recorder])
    gate = asyncio.Event()
    inside: list[int] = []

    async def worker(i: int) -> UUID:
        async with step as run:
            inside.append(i)
            if len(inside) == 4:
                gate.set()
            await gate.wait()  # every task is inside its block before any leaves
            await model.ainvoke(f"q{i}", metadata={"worker": i})
            return run.run_id

    run_ids = await asyncio.gather(*(worker(i) for i in range(4)))
    assert len(set(run_ids)) == 4
    by_worker = {e.metadata["worker"]: e.parent_run_id for e in recorder.of_type(LLMStart)}
    assert [by_worker[i] for i in range(4)] == run_ids
    ends = recorder.of_type(ChainEnd)
    assert sorted(map(str, (e.run_id for e in ends))) == sorted(map(str, run_ids))
