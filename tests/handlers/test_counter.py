"""TokenCounter: exact totals per model and overall, provenance, cost, concurrency."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamllm import FakeListLLM, LLMEnd, LLMError, TokenUsage
from streamllm.handlers import DEFAULT_PRICES, Price, TokenCounter
from streamllm.testing import RecordingHandler
from tests.handlers.conftest import end_early, run_mode

INPUTS = ["first", "second", "third"]


async def test_provider_counts_add_up_exactly(mode: str) -> None:
    """Provider usage: totals, by_model and provider_totals are the exact sums."""
    counter = TokenCounter()
    model = FakeListLLM(responses=["a b c"], usage=TokenUsage.of(7, 3), model="m1")
    await run_mode(mode, model, INPUTS, [counter])
    expected = TokenUsage.of(21, 9)
    assert counter.totals == expected
    assert counter.provider_totals == expected
    assert counter.estimated_totals == TokenUsage.of(0, 0, "estimated")
    assert counter.by_model == {"m1": expected}
    assert counter.runs == 3


async def test_estimates_are_kept_apart(mode: str) -> None:
    """Without provider usage, counts are estimates: in estimated_totals, not provider_totals."""
    counter, recorder = TokenCounter(), RecordingHandler()
    await run_mode(mode, FakeListLLM(responses=["Hello big world"]), INPUTS, [counter, recorder])
    expected = TokenUsage.total(e.result.usage for e in recorder.of_type(LLMEnd))
    assert expected is not None
    assert expected.source == "estimated"
    assert counter.estimated_totals == expected
    assert counter.totals == expected
    assert counter.provider_totals == TokenUsage.of(0, 0)


async def test_mixed_sources_and_models() -> None:
    """Two models, one reporting usage and one estimated: per model and overall."""
    counter = TokenCounter()
    exact = FakeListLLM(responses=["x"], usage=TokenUsage.of(10, 5), model="exact")
    guessed = FakeListLLM(responses=["twelve chars"], model="guessed")
    exact.invoke("q", callbacks=[counter])
    await guessed.ainvoke("four", callbacks=[counter])
    assert counter.by_model["exact"] == TokenUsage.of(10, 5)
    assert counter.by_model["guessed"] == TokenUsage.of(1, 3, "estimated")
    assert counter.provider_totals == TokenUsage.of(10, 5)
    assert counter.estimated_totals == TokenUsage.of(1, 3, "estimated")
    assert counter.totals == TokenUsage.of(11, 8, "estimated")


async def test_a_run_that_ended_early_counts_its_partial_usage(ending: str) -> None:
    """Abandoned and failed runs consumed tokens: their partial usage is counted."""
    counter, recorder = TokenCounter(), RecordingHandler()
    await end_early(ending, [counter, recorder])
    (error,) = recorder.of_type(LLMError)
    assert counter.totals == error.partial.usage


def test_cost_from_the_price_table() -> None:
    """USD per million tokens, input and output priced apart."""
    counter = TokenCounter(prices={"m": (2.0, 8.0)})
    FakeListLLM(responses=["x"], usage=TokenUsage.of(1_000_000, 500_000), model="m").invoke(
        "q", callbacks=[counter]
    )
    assert counter.cost == pytest.approx(6.0)
    assert counter.cost_by_model == {"m": pytest.approx(6.0)}


def test_an_unknown_model_costs_none() -> None:
    """One model without a price makes the total cost unknown, not 0."""
    counter = TokenCounter(prices={"known": Price(1.0, 1.0)})
    for name in ("known", "mystery"):
        FakeListLLM(responses=["x"], usage=TokenUsage.of(10, 10), model=name).invoke(
            "q", callbacks=[counter]
        )
    assert counter.cost_by_model["known"] == pytest.approx(20e-6)
    assert counter.cost_by_model["mystery"] is None
    assert counter.cost is None


def test_nothing_counted_costs_zero() -> None:
    """No run yet: nothing spent."""
    assert TokenCounter().cost == 0.0
    assert TokenCounter().totals == TokenUsage.of(0, 0)


def test_price_table_extends_the_defaults_and_matches_dated_names() -> None:
    """User prices override and extend the defaults; dated names take the base price."""
    counter = TokenCounter(prices={"gpt-4o": (1.0, 1.0), "local": (0.0, 0.0)})
    assert counter.price_of("gpt-4o") == Price(1.0, 1.0)
    assert counter.price_of("gpt-4o-mini") == DEFAULT_PRICES["gpt-4o-mini"]
    assert counter.price_of("gpt-4o-mini-2024-07-18") == DEFAULT_PRICES["gpt-4o-mini"]
    assert counter.price_of("gpt-4o-2024-08-06") == Price(1.0, 1.0)
    assert counter.price_of("gpt-4omega") is None
    assert counter.price_of("local") == Price(0.0, 0.0)
    only = TokenCounter(prices={"local": (0.0, 0.0)}, extend_defaults=False)
    assert only.price_of("gpt-4o") is None


def test_unknown_counts_stay_unknown() -> None:
    """A provider that reports only prompt tokens: totals are None, never 0; cost None."""
    counter = TokenCounter(prices={"m": (1.0, 1.0)})
    usage = TokenUsage(prompt_tokens=4, completion_tokens=None, total_tokens=None)
    FakeListLLM(responses=["x"], usage=usage, model="m").invoke("q", callbacks=[counter])
    assert counter.totals.prompt_tokens == 4
    assert counter.totals.completion_tokens is None
    assert counter.cost is None


def test_exact_with_8_threads() -> None:
    """batch with 8 worker threads, 400 runs: the totals are exact."""
    counter = TokenCounter()
    model = FakeListLLM(responses=["a b c d"], usage=TokenUsage.of(3, 4))
    model.batch([f"q{i}" for i in range(400)], callbacks=[counter], max_concurrency=8)
    assert counter.totals == TokenUsage.of(1200, 1600)
    assert counter.runs == 400


def test_exact_with_8_raw_threads_hammering_one_counter() -> None:
    """8 plain threads invoking at once (a shared counter on the model): exact."""
    counter = TokenCounter()
    model = FakeListLLM(responses=["a b"], usage=TokenUsage.of(1, 2), callbacks=[counter])
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        for _ in range(100):
            model.invoke("q")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.totals == TokenUsage.of(800, 1600)


async def test_exact_with_200_concurrent_astream_tasks() -> None:
    """200 astream tasks interleaving on one loop: the totals are exact."""
    counter = TokenCounter()
    model = FakeListLLM(responses=["a b c"], usage=TokenUsage.of(2, 3), delay=0.001)

    async def consume(i: int) -> str:
        return "".join([t async for t in model.astream(f"q{i}", callbacks=[counter])])

    texts = await asyncio.gather(*(consume(i) for i in range(200)))
    assert texts == ["a b c"] * 200
    assert counter.totals == TokenUsage.of(400, 600)
    assert counter.by_model == {"fake": TokenUsage.of(400, 600)}


def test_reset_forgets_everything() -> None:
    """reset() returns the counter to zero."""
    counter = TokenCounter()
    FakeListLLM(responses=["x"], usage=TokenUsage.of(1, 1)).invoke("q", callbacks=[counter])
    counter.reset()
    assert counter.totals == TokenUsage.of(0, 0)
    assert counter.by_model == {}
    assert counter.runs == 0


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.integers(0, 10_000),
            st.integers(0, 10_000),
        ),
        max_size=8,
    )
)
def test_totals_are_the_sum_of_the_runs(runs: list[tuple[str, int, int]]) -> None:
    """Any sequence of runs over several models: per model and overall sums match."""
    counter = TokenCounter(prices={"a": (1.0, 2.0), "b": (0.5, 0.5), "c": (3.0, 0.0)})
    for name, prompt, completion in runs:
        model = FakeListLLM(responses=["x"], usage=TokenUsage.of(prompt, completion), model=name)
        model.invoke("q", callbacks=[counter])
    assert counter.totals == TokenUsage.of(sum(p for _, p, _ in runs), sum(c for *_, c in runs))
    for name in {n for n, *_ in runs}:
        mine = [(p, c) for n, p, c in runs if n == name]
        assert counter.by_model[name] == TokenUsage.of(
            sum(p for p, _ in mine), sum(c for _, c in mine)
        )
    cost = counter.cost
    assert cost is not None
    assert cost >= 0


def test_cache_and_reasoning_tokens_are_counted_and_cache_reads_priced() -> None:
    """DESIGN 11: detail counts add up; cached prompt tokens take their own price."""
    from streamllm import FakeListLLM, TokenUsage
    from streamllm.handlers import TokenCounter
    from streamllm.handlers.counter import Price

    usage = TokenUsage.of(
        1000, 100, cache_read_tokens=600, cache_write_tokens=100, reasoning_tokens=40
    )
    counter = TokenCounter(prices={"fake": Price(1.0, 4.0, cache_read=0.1, cache_write=2.0)})
    FakeListLLM(responses=["Hi"], usage=usage).batch(["a", "b"], callbacks=[counter])
    totals = counter.totals
    assert totals.cache_read_tokens == 1200
    assert totals.cache_write_tokens == 200
    assert totals.reasoning_tokens == 80
    # Per run: 300 plain input + 600 read + 100 written + 100 output.
    per_run = (300 * 1.0 + 600 * 0.1 + 100 * 2.0 + 100 * 4.0) / 1_000_000
    assert counter.cost == pytest.approx(2 * per_run)
    # Without cache prices every prompt token is billed as input.
    plain = TokenCounter(prices={"fake": (1.0, 4.0)})
    FakeListLLM(responses=["Hi"], usage=usage).invoke("a", callbacks=[plain])
    assert plain.cost == pytest.approx((1000 * 1.0 + 100 * 4.0) / 1_000_000)
