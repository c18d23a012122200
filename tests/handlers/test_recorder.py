"""JSONLRecorder and replay: a recording plays back as the same events, in order."""

from __future__ import annotations

import asyncio
import itertools
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamllm import (
    SCHEMA_VERSION,
    CallbackHandler,
    CallbackManager,
    ConfigurationError,
    FakeListLLM,
    HandlerError,
    LLMStart,
    NewToken,
    handler_failures,
    signals,
)
from streamllm.callbacks.registry import resolve_all
from streamllm.events import BaseEvent, LLMEnd
from streamllm.handlers import (
    JSONLRecorder,
    RecordingError,
    ResultCollector,
    areplay,
    read_recording,
    replay,
)
from streamllm.testing import AsyncRecordingHandler, RecordingHandler
from tests.handlers.conftest import end_early, run_mode
from tests.models.helpers import check_runs

INPUTS = ["first", "second", "third"]


def fields(event: BaseEvent) -> dict[str, Any]:
    """Every schema field of an event, by name."""
    return {name: getattr(event, name) for name in type(event).model_fields}


def assert_same_events(a: list[Any], b: list[Any]) -> None:
    assert [type(e) for e in a] == [type(e) for e in b]
    for x, y in zip(a, b, strict=True):
        assert fields(x) == fields(y)


async def test_record_then_replay_gives_the_same_events(mode: str, tmp_path: Path) -> None:
    """Every event, field by field, in order, through every Runnable method."""
    path = tmp_path / "events.jsonl"
    live = RecordingHandler()
    with JSONLRecorder(path) as recorder:
        await run_mode(
            mode,
            FakeListLLM(responses=["Hello big world", "ok"]),
            INPUTS,
            [live, recorder],
            tags=["t"],
            metadata={"k": [1, "v"]},
        )
    played = RecordingHandler()
    events = replay(path, [played])
    assert_same_events(events, live.events)
    assert_same_events(played.events, live.events)
    check_runs(played.events)


async def test_record_a_run_that_ended_early(ending: str, tmp_path: Path) -> None:
    """Failed and abandoned runs are recorded up to and with their LLMError."""
    path = tmp_path / "events.jsonl"
    live = RecordingHandler()
    recorder = JSONLRecorder(path)
    await end_early(ending, [live, recorder])
    recorder.close()
    assert_same_events(read_recording(path), live.events)


def test_chain_events_are_recorded(tmp_path: Path) -> None:
    """Parent runs (chains) go through the recorder like model runs."""
    path = tmp_path / "chain.jsonl"
    live = RecordingHandler()
    with JSONLRecorder(path) as recorder:
        manager = CallbackManager.configure(local=resolve_all([live, recorder]))
        run = manager.start_run(name="pipeline", sender=None)
        run.emit(run.chain_start_event({"question": "why?"}))
        run.emit(run.chain_end_event({"answer": 42}))
        run.settle(wait=True)
    assert_same_events(read_recording(path), live.events)
    assert [type(e).__name__ for e in live.events] == ["ChainStart", "ChainEnd"]


def test_replayed_events_compare_equal_as_objects(tmp_path: Path) -> None:
    """Replayed events == live events, with plain pydantic equality."""
    path = tmp_path / "events.jsonl"
    live = RecordingHandler()
    with JSONLRecorder(path) as recorder:
        FakeListLLM(responses=["a b"]).invoke("q", callbacks=[live, recorder])
    assert replay(path, []) == live.events


def test_header_line_names_the_schema_version(tmp_path: Path) -> None:
    """The first line is a JSON header with streamllm_schema; then one event per line."""
    path = tmp_path / "events.jsonl"
    with JSONLRecorder(path) as recorder:
        FakeListLLM(responses=["a b"]).invoke("q", callbacks=[recorder])
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["streamllm_schema"] == SCHEMA_VERSION
    assert [json.loads(line)["type"] for line in lines[1:]] == [
        "llm_start",
        "new_token",
        "new_token",
        "llm_end",
    ]


def test_each_finished_run_is_on_disk_before_close(tmp_path: Path) -> None:
    """Lines are flushed when a run ends, without flush() or close()."""
    path = tmp_path / "events.jsonl"
    recorder = JSONLRecorder(path)
    FakeListLLM(responses=["a b"]).invoke("q", callbacks=[recorder])
    assert len(read_recording(path)) == 4
    recorder.close()


def test_many_threads_write_whole_lines(tmp_path: Path) -> None:
    """batch over 8 threads: every line parses and every run's events are complete."""
    path = tmp_path / "events.jsonl"
    with JSONLRecorder(path) as recorder:
        model = FakeListLLM(responses=["alpha beta gamma delta"])
        model.batch([f"q{i}" for i in range(200)], callbacks=[recorder], max_concurrency=8)
    runs = check_runs(read_recording(path))
    assert len(runs) == 200


def test_flush_and_close_are_safe_twice(tmp_path: Path) -> None:
    """flush()/close() twice raise nothing; an event after close() is refused."""
    recorder = JSONLRecorder(tmp_path / "events.jsonl")
    recorder.flush()
    recorder.flush()
    recorder.close()
    recorder.close()
    recorder.flush()
    assert recorder.closed
    assert "closed" in repr(recorder)
    live = RecordingHandler()
    FakeListLLM(responses=["x"]).invoke("q", callbacks=[live])
    with pytest.raises(ValueError, match="closed"):
        recorder.on_event(live.of_type(LLMStart)[0])


def _write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _recorded(tmp_path: Path) -> list[str]:
    path = tmp_path / "ok.jsonl"
    with JSONLRecorder(path) as recorder:
        FakeListLLM(responses=["a b"]).invoke("q", callbacks=[recorder])
    return path.read_text().splitlines()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    """A recording from a newer schema raises ConfigurationError naming both versions."""
    lines = _recorded(tmp_path)
    path = _write(
        tmp_path / "new.jsonl", json.dumps({"streamllm_schema": SCHEMA_VERSION + 1}), *lines[1:]
    )
    handler = RecordingHandler()
    with pytest.raises(ConfigurationError, match=f"version {SCHEMA_VERSION + 1}.*upgrade"):
        replay(path, [handler])
    assert handler.events == []


@pytest.mark.parametrize(
    ("bad", "line", "match"),
    [
        ("{not json", 3, "line 3: not valid JSON"),
        ("[1, 2]", 3, "line 3: expected an event object"),
        ('{"type": "llm_start"}', 3, "line 3: not a valid event"),
    ],
)
def test_a_bad_line_is_refused_with_its_number(
    tmp_path: Path, bad: str, line: int, match: str
) -> None:
    """Non-JSON and non-event lines raise RecordingError naming the line; nothing replays."""
    lines = _recorded(tmp_path)
    path = _write(tmp_path / "bad.jsonl", lines[0], lines[1], bad, *lines[2:])
    handler = RecordingHandler()
    with pytest.raises(RecordingError, match=match) as info:
        replay(path, [handler])
    assert info.value.line == line
    assert handler.events == []


@pytest.mark.parametrize("first", ["", '{"type": "llm_start"}', "garbage"])
def test_a_file_without_header_is_refused(tmp_path: Path, first: str) -> None:
    """An empty file, or one whose first line is not a header, is not a recording."""
    path = _write(tmp_path / "x.jsonl", first)
    with pytest.raises(RecordingError, match=r"line 1|empty") as info:
        read_recording(path)
    assert info.value.line == 1


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    """A trailing or blank line is not an error."""
    lines = _recorded(tmp_path)
    path = _write(tmp_path / "blank.jsonl", lines[0], "", *lines[1:], "")
    assert len(read_recording(path)) == len(lines) - 1


def test_replay_refuses_a_bad_handler(tmp_path: Path) -> None:
    """Handlers are checked like at a call: a non-handler is a ConfigurationError."""
    lines = _recorded(tmp_path)
    path = _write(tmp_path / "r.jsonl", *lines)
    with pytest.raises(ConfigurationError, match="not a handler"):
        replay(path, [42])
    with pytest.raises(ConfigurationError, match="unknown hook"):
        replay(path, [{"on_token": print}])
    with pytest.raises(ConfigurationError, match="list of handlers"):
        replay(path, "stdout")
    with pytest.raises(ConfigurationError, match="list of handlers"):
        replay(path, RecordingHandler())  # type: ignore[arg-type]


def test_replay_dispatches_by_hook_to_every_kind_of_handler(tmp_path: Path) -> None:
    """Objects, plain callables, mappings and async handlers each get their events."""
    lines = _recorded(tmp_path)
    path = _write(tmp_path / "r.jsonl", *lines)
    every: list[BaseEvent] = []
    tokens: list[str] = []
    async_handler = AsyncRecordingHandler()
    collector = ResultCollector()
    events = replay(
        path,
        [
            every.append,
            {"on_llm_new_token": lambda e: tokens.append(e.token)},
            async_handler,
            collector,
        ],
    )
    assert every == events
    assert async_handler.events == events
    assert tokens == ["a", " b"]
    assert [r.text for r in collector.results.values()] == ["a b"]


async def test_areplay_awaits_async_handlers(tmp_path: Path) -> None:
    """areplay in async code; replay() there refuses async handlers with a pointer."""
    lines = _recorded(tmp_path)
    path = _write(tmp_path / "r.jsonl", *lines)
    handler, sync_handler = AsyncRecordingHandler(), RecordingHandler()
    events = await areplay(path, [handler, sync_handler])
    assert handler.events == events == sync_handler.events
    with pytest.raises(ConfigurationError, match="areplay"):
        replay(path, [AsyncRecordingHandler()])


@pytest.mark.parametrize("use_async", [False, True])
async def test_a_failing_handler_does_not_stop_the_replay(
    tmp_path: Path, use_async: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """As in a live run: a handler that raises is logged once per run and counted,
    every other handler (before and after it) gets every event, and the signals
    are sent."""
    lines = _recorded(tmp_path)
    path = _write(tmp_path / "r.jsonl", *lines)

    def broken(event: BaseEvent) -> None:
        if isinstance(event, NewToken):
            raise KeyError("boom")

    before, after = RecordingHandler(), RecordingHandler()
    signalled: list[BaseEvent] = []

    def receiver(sender: object, event: BaseEvent) -> None:
        signalled.append(event)

    with signals.llm_new_token.connected_to(receiver):
        if use_async:
            events = await areplay(path, [before, broken, after])
        else:
            events = replay(path, [before, broken, after])
    assert before.events == after.events == events
    assert signalled == [e for e in events if isinstance(e, NewToken)]
    assert handler_failures.total == len(signalled)
    logged = [r for r in caplog.records if "handler failed" in r.getMessage()]
    assert len(logged) == 1
    handler_failures.reset()  # failing on purpose (the autouse check is for built-ins)


@pytest.mark.parametrize("use_async", [False, True])
async def test_a_strict_handler_failing_is_raised_after_the_replay(
    tmp_path: Path, use_async: bool
) -> None:
    """A raise_error handler's failure reaches the caller as HandlerError (with the
    event and the cause) after every handler saw the whole recording."""
    lines = _recorded(tmp_path)
    path = _write(tmp_path / "r.jsonl", *lines)

    class Strict(CallbackHandler):
        raise_error = True

        def on_llm_new_token(self, event: NewToken) -> None:
            raise KeyError("boom")

    recorder = RecordingHandler()
    with pytest.raises(HandlerError, match="new_token") as info:
        if use_async:
            await areplay(path, [Strict(), recorder])
        else:
            replay(path, [Strict(), recorder])
    assert isinstance(info.value.__cause__, KeyError)
    assert isinstance(info.value.event, NewToken)
    assert isinstance(recorder.events[-1], LLMEnd)
    handler_failures.reset()


@pytest.mark.parametrize("use_async", [False, True])
async def test_timing_keeps_the_original_pauses(
    tmp_path: Path, use_async: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With timing=True the pauses are the monotonic gaps, divided by speed."""
    lines = _recorded(tmp_path)
    path = _write(tmp_path / "r.jsonl", *lines)
    slept: list[float] = []

    async def asleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(time, "sleep", slept.append)
    monkeypatch.setattr(asyncio, "sleep", asleep)
    if use_async:
        events = await areplay(path, [], timing=True, speed=2.0)
    else:
        events = replay(path, [], timing=True, speed=2.0)
    gaps = [(b.monotonic - a.monotonic) / 2.0 for a, b in itertools.pairwise(events)]
    assert slept == pytest.approx([g for g in gaps if g > 0])
    with pytest.raises(ConfigurationError, match="speed"):
        replay(path, [], timing=True, speed=0)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tokens=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=12),
    metadata=st.dictionaries(
        st.text(max_size=5),
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        max_size=3,
    ),
)
def test_round_trip_of_arbitrary_text(tokens: list[str], metadata: dict[str, Any]) -> None:
    """Any token text (unicode, newlines, quotes) and metadata survive a recording."""
    live = RecordingHandler()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.jsonl"
        with JSONLRecorder(path) as recorder:
            FakeListLLM(responses=[tokens]).invoke(
                "q", callbacks=[live, recorder], metadata=metadata
            )
        assert_same_events(read_recording(path), live.events)


def test_a_lone_surrogate_is_recorded_and_the_run_ends(tmp_path: Path) -> None:
    """Text with a lone surrogate (valid JSON from a server) is written escaped:
    the recording keeps the token and ends with the run's terminal event, and
    reads back equal (issue 11.5)."""
    path = tmp_path / "s.jsonl"
    live = RecordingHandler()
    with JSONLRecorder(path) as recorder:
        FakeListLLM(responses=["half \ud83d emoji"]).invoke("q", callbacks=[live, recorder])
    events = read_recording(path)
    assert events[-1].type == "llm_end"
    assert_same_events(events, live.events)
