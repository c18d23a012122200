"""ResultCollector: results rebuilt from events equal the runs' own results."""

from __future__ import annotations

import time
from typing import Any
from uuid import uuid4

from streamllm import (
    FakeListLLM,
    FakeNonStreamingLLM,
    Generation,
    LLMEnd,
    LLMError,
    LLMResult,
    NewToken,
    TokenUsage,
)
from streamllm.handlers import ResultCollector
from streamllm.testing import RecordingHandler
from tests.handlers.conftest import end_early, run_mode

INPUTS = ["first", "second", "third"]


async def test_result_equals_llm_end_result(mode: str) -> None:
    """For every run, the rebuilt result equals the LLMEnd result, field by field."""
    collector, recorder = ResultCollector(), RecordingHandler()
    model = FakeListLLM(responses=["Hello big world", "Why  not?", "x"])
    texts = await run_mode(mode, model, INPUTS, [collector, recorder])
    ends = recorder.of_type(LLMEnd)
    assert len(ends) == len(INPUTS)
    results = collector.results
    assert set(results) == {e.run_id for e in ends}
    for end in ends:
        assert results[end.run_id] == end.result
    assert sorted(r.text for r in results.values()) == sorted(texts)
    assert collector.errors == {}


async def test_provider_usage_and_finish_reason_come_from_the_terminal_event(mode: str) -> None:
    """Usage, model and finish reason are the provider's, as the end event carries them."""
    collector = ResultCollector()
    usage = TokenUsage.of(5, 3)
    model = FakeListLLM(responses=["a b c"], usage=usage, model="my-model")
    await run_mode(mode, model, ["q"], [collector])
    (result,) = collector.results.values()
    assert result.usage == usage
    assert result.model == "my-model"
    assert result.finish_reason == "stop"
    assert result.generations[0][0].provider_finish_reason == "stop"


async def test_partial_result_of_a_run_that_ended_early(ending: str) -> None:
    """A failed or abandoned run's result holds its partial text; errors has the LLMError."""
    collector, recorder = ResultCollector(), RecordingHandler()
    consumed = await end_early(ending, [collector, recorder])
    (error,) = recorder.of_type(LLMError)
    assert error.reason == ("failed" if ending.endswith("fail") else "cancelled")
    result = collector.results[error.run_id]
    assert result.text == consumed == "one two"
    assert result == error.partial
    assert collector.errors == {error.run_id: error}


async def test_a_provider_that_does_not_stream_still_gets_its_result(mode: str) -> None:
    """No NewToken at all (a non-streaming provider): the end event's text is the record."""
    collector, recorder = ResultCollector(), RecordingHandler()
    model = FakeNonStreamingLLM(responses=["whole answer"])
    await run_mode(mode, model, INPUTS, [collector, recorder])
    for end in recorder.of_type(LLMEnd):
        assert collector.results[end.run_id] == end.result


def _event(cls: type, run_id: object, seq: int, **fields: object) -> object:
    common = {
        "run_id": run_id,
        "trace_id": run_id,
        "seq": seq,
        "time": time.time(),
        "monotonic": time.monotonic(),
        "name": "m",
    }
    return cls(**common, **fields)


def test_text_is_built_from_the_tokens_not_copied() -> None:
    """The text is the join of the tokens seen, even where the end event disagrees."""
    collector = ResultCollector()
    run_id = uuid4()
    collector.on_llm_new_token(_event(NewToken, run_id, 1, token="to", index=0))  # type: ignore[arg-type]
    collector.on_llm_new_token(_event(NewToken, run_id, 2, token="kens", index=1))  # type: ignore[arg-type]
    claimed = LLMResult(generations=((Generation(text="something else"),),), run_ids=(run_id,))
    collector.on_llm_end(_event(LLMEnd, run_id, 3, result=claimed))  # type: ignore[arg-type]
    assert collector.results[run_id].text == "tokens"


def test_clear_forgets_finished_runs() -> None:
    """clear() empties results and errors."""
    collector = ResultCollector()
    FakeListLLM(responses=["x"]).invoke("q", callbacks=[collector])
    assert len(collector.results) == 1
    collector.clear()
    assert collector.results == {}


def test_a_long_stream_is_kept_in_blocks_not_one_str_per_token() -> None:
    """Tokens are joined in blocks while they come (issue 11.10): the collector
    holds far fewer strings than tokens, and the text is still exact."""
    from streamllm.handlers import collector as module

    n = 3 * module.BLOCK + 7
    text = "".join(f"t{i} " for i in range(n))
    model = FakeListLLM(responses=[text])
    collector = ResultCollector()
    seen: list[int] = []

    def probe(event: Any) -> None:
        for streamed in collector._tokens.values():
            seen.append(len(streamed.tokens) + len(streamed.blocks))

    model.invoke("x", callbacks=[collector, {"on_llm_new_token": probe}])
    assert max(seen) <= module.BLOCK + n // module.BLOCK + 1
    assert [r.text for r in collector.results.values()] == [text]


def test_the_text_comes_from_the_tokens_even_when_the_end_reports_another() -> None:
    """The collector shares the terminal event's str only when the tokens spell it."""
    from streamllm.handlers.collector import _Text

    streamed = _Text()
    for token in ["a", " b", " c"]:
        streamed.add(token)
    reported = "".join(["a", " b", " c"])
    assert streamed.text(reported) is reported
    other = _Text()
    for token in ["a", " b"]:
        other.add(token)
    assert other.text("a bX") == "a b"
