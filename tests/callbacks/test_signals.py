"""Blinker signals: per-model receivers, isolation, weak references (DESIGN.md section 4)."""

from __future__ import annotations

import gc
import logging
from typing import Any

import pytest

from streamllm import (
    CallbackManager,
    ChainStart,
    FakeListLLM,
    LLMEnd,
    NewToken,
    handler_failures,
    signals,
)
from streamllm.callbacks.parent_runs import traced
from streamllm.testing import RecordingHandler


class Collect:
    """A receiver object that keeps what it gets (held by the test, so weak refs live)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, Any]] = []

    def __call__(self, sender: Any, *, event: Any) -> None:
        self.calls.append((sender, event))


async def test_a_receiver_connected_to_one_model_gets_only_its_tokens() -> None:
    """``llm_new_token.connect(fn, sender=model)`` hears that model, not another."""
    mine = FakeListLLM(responses=["mine here"])
    other = FakeListLLM(responses=["other there"])
    receiver = Collect()
    with signals.llm_new_token.connected_to(receiver, sender=mine):
        assert mine.invoke("a") == "mine here"
        assert other.invoke("b") == "other there"
        assert await mine.ainvoke("c") == "mine here"
        assert list(other.stream("d")) == ["other", " there"]
    assert all(sender is mine for sender, _ in receiver.calls)
    tokens = [event.token for _, event in receiver.calls]
    assert tokens == ["mine", " here", "mine", " here"]
    assert all(isinstance(event, NewToken) for _, event in receiver.calls)


def test_a_receiver_without_sender_hears_every_model_and_chains() -> None:
    """Connected without a sender, a receiver hears all models; chains send with None."""
    first = FakeListLLM(responses=["x"])
    second = FakeListLLM(responses=["y"])
    ends = Collect()
    chains = Collect()
    with (
        signals.llm_end.connected_to(ends),
        signals.chain_start.connected_to(chains),
        traced("block"),
    ):
        first.invoke("1")
        second.invoke("2")
    assert [sender for sender, _ in ends.calls] == [first, second]
    assert all(isinstance(event, LLMEnd) for _, event in ends.calls)
    ((sender, event),) = chains.calls
    assert sender is None
    assert isinstance(event, ChainStart)
    assert event.name == "block"


def test_a_raising_receiver_is_isolated(caplog: pytest.LogCaptureFixture) -> None:
    """A receiver that raises is logged and counted like a handler; the stream, the
    handlers and the other receivers carry on."""
    model = FakeListLLM(responses=["one two three"])
    recorder = RecordingHandler()
    good = Collect()

    def bad(sender: Any, *, event: Any) -> None:
        raise RuntimeError("receiver broke")

    caplog.set_level(logging.ERROR)
    with (
        signals.llm_new_token.connected_to(bad, sender=model),
        signals.llm_new_token.connected_to(good, sender=model),
    ):
        assert list(model.stream("hi", callbacks=[recorder])) == ["one", " two", " three"]
    assert len(good.calls) == 3
    assert recorder.tokens() == ["one", " two", " three"]
    assert recorder.events[-1].type == "llm_end"  # type: ignore[attr-defined]
    assert handler_failures.total == 3
    assert "receiver broke" in caplog.text


def test_blinker_holds_receivers_weakly_by_default() -> None:
    """The documented caveat: a closure connected without ``weak=False`` vanishes when
    nothing else holds it; with ``weak=False`` it stays until disconnected."""
    model = FakeListLLM(responses=["tok"])
    seen: list[str] = []

    def connect(weak: bool) -> Any:
        def on_token(sender: Any, *, event: NewToken) -> None:
            seen.append(event.token)

        signals.llm_new_token.connect(on_token, sender=model, weak=weak)
        return on_token

    connect(weak=True)  # the only reference is dropped here
    gc.collect()
    model.invoke("a")
    assert seen == []

    strong = connect(weak=False)
    try:
        model.invoke("b")
        assert seen == ["tok"]
    finally:
        # Without a sender: blinker keeps a receiver disconnected from one sender in
        # ``receivers``, and then every run builds token events for nobody.
        signals.llm_new_token.disconnect(strong)


def test_no_receiver_no_token_events() -> None:
    """Without handlers or receivers a run wants no tokens; a receiver turns them on."""
    run = CallbackManager().start_run(name="r", sender=None)
    assert not run.wants_tokens()
    receiver = Collect()
    with signals.llm_new_token.connected_to(receiver):
        assert run.wants_tokens()
    assert not run.wants_tokens()
