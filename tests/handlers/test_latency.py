"""LatencyHandler: timings from the events' monotonic clock."""

from __future__ import annotations

import statistics
import time
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamllm import FakeListLLM, LLMEnd, LLMError, LLMStart, NewToken
from streamllm.handlers import LatencyHandler, LatencyStats
from streamllm.handlers.latency import compute_stats, percentile
from streamllm.testing import RecordingHandler
from tests.handlers.conftest import end_early, run_mode

INPUTS = ["first", "second", "third"]


async def test_stats_match_the_events(mode: str) -> None:
    """For every run, the stats are what the recorded events' monotonic times give."""
    latency, recorder = LatencyHandler(), RecordingHandler()
    model = FakeListLLM(responses=["one two three four five"])
    await run_mode(mode, model, INPUTS, [latency, recorder])
    stats = latency.stats
    assert set(stats) == set(recorder.runs())
    for run_id, events in recorder.runs().items():
        start, end = events[0], events[-1]
        assert isinstance(start, LLMStart)
        assert isinstance(end, LLMEnd)
        times = [e.monotonic for e in events if isinstance(e, NewToken)]
        assert stats[run_id] == compute_stats(start.monotonic, times, end.monotonic)
        s = stats[run_id]
        assert s.tokens == 5
        assert s.reason is None
        assert s.time_to_first_token is not None
        assert 0 <= s.time_to_first_token <= s.duration
        assert s.p50 is not None
        assert s.p95 is not None
        assert s.max_gap is not None
        assert 0 <= s.p50 <= s.p95 <= s.max_gap <= s.duration


async def test_a_run_that_ended_early_has_stats_with_its_reason(ending: str) -> None:
    """Abandoned and failed runs are measured too, up to their LLMError."""
    latency, recorder = LatencyHandler(), RecordingHandler()
    await end_early(ending, [latency, recorder])
    (error,) = recorder.of_type(LLMError)
    s = latency.stats[error.run_id]
    assert s.tokens == 2
    assert s.reason == ("failed" if ending.endswith("fail") else "cancelled")


def _feed(handler: LatencyHandler, start: float, tokens: list[float], end: float) -> None:
    run_id = uuid4()
    common = {"run_id": run_id, "trace_id": run_id, "time": time.time(), "name": "m"}
    handler.on_llm_start(LLMStart(**common, seq=0, monotonic=start, model="m"))
    for i, t in enumerate(tokens):
        handler.on_llm_new_token(NewToken(**common, seq=i + 1, monotonic=t, token="x", index=i))
    result = {"generations": [[{"text": "x" * len(tokens)}]]}
    handler.on_llm_end(
        LLMEnd.model_validate(
            {**common, "seq": len(tokens) + 1, "monotonic": end, "result": result}
        )
    )


def test_known_timings() -> None:
    """Start at 10, tokens at 10.5, 10.6, 10.8, 11.2, end at 11.5."""
    latency = LatencyHandler()
    _feed(latency, 10.0, [10.5, 10.6, 10.8, 11.2], 11.5)
    (s,) = latency.stats.values()
    assert s.time_to_first_token == pytest.approx(0.5)
    assert s.p50 == pytest.approx(0.2)  # gaps 0.1, 0.2, 0.4
    assert s.p95 == pytest.approx(0.38)
    assert s.max_gap == pytest.approx(0.4)
    assert s.tokens_per_second == pytest.approx(3 / 0.7)
    assert s.duration == pytest.approx(1.5)


@pytest.mark.parametrize("tokens", [[], [10.2]])
def test_too_few_tokens_leave_gaps_unknown(tokens: list[float]) -> None:
    """No gap with fewer than two tokens: None, not 0."""
    latency = LatencyHandler()
    _feed(latency, 10.0, tokens, 10.5)
    (s,) = latency.stats.values()
    assert (s.p50, s.p95, s.max_gap, s.tokens_per_second) == (None, None, None, None)
    assert s.time_to_first_token == (pytest.approx(0.2) if tokens else None)
    assert s.duration == pytest.approx(0.5)


def test_stats_are_a_frozen_record() -> None:
    """LatencyStats is immutable."""
    s = LatencyStats(1, 0.1, None, None, None, None, 0.2)
    with pytest.raises(AttributeError):
        s.p50 = 1.0  # type: ignore[misc]


@given(st.lists(st.floats(0, 1e3, allow_nan=False), min_size=2, max_size=50))
def test_percentile_agrees_with_statistics(values: list[float]) -> None:
    """Linear interpolation between ranks, as statistics.quantiles(method='inclusive')."""
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    assert percentile(ordered, 50) == pytest.approx(cuts[49], abs=1e-9)
    assert percentile(ordered, 95) == pytest.approx(cuts[94], abs=1e-9)
    assert percentile(ordered, 0) == ordered[0]
    assert percentile(ordered, 100) == ordered[-1]


def test_clear_forgets_finished_runs() -> None:
    """clear() empties the stats."""
    latency = LatencyHandler()
    FakeListLLM(responses=["x"]).invoke("q", callbacks=[latency])
    latency.clear()
    assert latency.stats == {}
