"""Batch without I/O: which EXPIREs a batch sends."""

from __future__ import annotations

import pytest

from streamllm.bus import batch as batch_module
from streamllm.bus.batch import Batch, Expiry
from streamllm.bus.entries import Numbering
from streamllm.events import BaseEvent
from streamllm.models import FakeListLLM


def run_events() -> list[BaseEvent]:
    seen: list[BaseEvent] = []
    FakeListLLM(responses=["a b c d"]).invoke("hi", callbacks=[seen.append])
    return seen


def expires(batch: Batch, expiry: Expiry, ttl: int = 5) -> int:
    commands, owners = batch.stream_commands(ttl, expiry)
    batch.absorb(owners, [1] * len(commands), expiry)  # Redis took every command
    return sum(1 for c in commands if c[0] == "EXPIRE")


def test_a_trace_is_refreshed_once_per_tenth_of_ttl_and_always_at_its_start_and_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tokens refresh a trace's expiry only when the last refresh is older than
    ttl/10 (at most 1 s); batches with the run's start or the root's end always refresh."""
    now = [1000.0]
    monkeypatch.setattr(batch_module, "_clock", lambda: now[0])
    events = run_events()
    start, tokens, end = events[0], events[1:-1], events[-1]
    numbering, expiry = Numbering(), Expiry()
    assert expires(Batch.of([start], [], numbering, 100), expiry) == 1
    assert expires(Batch.of(tokens[:1], [], numbering, 100), expiry) == 0
    now[0] += 0.4  # a tenth of the ttl is 0.5 s here
    assert expires(Batch.of(tokens[1:2], [], numbering, 100), expiry) == 0
    now[0] += 0.2
    assert expires(Batch.of(tokens[2:3], [], numbering, 100), expiry) == 1
    assert expires(Batch.of(tokens[3:], [], numbering, 100), expiry) == 0
    assert expires(Batch.of([end], [], numbering, 100), expiry) == 1
    assert expiry._at == {}  # the ended trace is forgotten


def test_a_refresh_redis_did_not_confirm_is_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """An EXPIRE whose answer was an error (or 0: no such key yet) is not counted as done."""
    monkeypatch.setattr(batch_module, "_clock", lambda: 1000.0)
    events = run_events()
    numbering, expiry = Numbering(), Expiry()
    batch = Batch.of(events[1:2], [], numbering, 100)
    commands, owners = batch.stream_commands(100, expiry)
    batch.absorb(owners, [0 if c[0] == "EXPIRE" else "1-0" for c in commands], expiry)
    assert expires(Batch.of(events[2:3], [], numbering, 100), expiry) == 1


def test_without_expiry_every_batch_refreshes_every_trace() -> None:
    events = run_events()
    numbering = Numbering()
    for event in events[1:-1]:
        commands, _ = Batch.of([event], [], numbering, 100).stream_commands(100)
        assert [c[0] for c in commands] == ["XADD", "EXPIRE"]
