"""Async subscriptions of one RedisBus on one event loop share one blocking read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest

from streamllm.bus import BusError, EntriesLost, RedisBus, shared
from streamllm.events import BaseEvent
from streamllm.models import FakeListLLM


@pytest.fixture
async def redis_bus(redis_url: str) -> AsyncIterator[RedisBus]:
    bus = RedisBus(redis_url)
    yield bus
    await bus.aclose()


def run_events(tokens: int = 8) -> list[BaseEvent]:
    """One run's events, in memory (published by hand, when the test says)."""
    seen: list[BaseEvent] = []
    words = " ".join(f"w{i}" for i in range(tokens))
    FakeListLLM(responses=[words]).invoke("hi", callbacks=[seen.append])
    return seen


class Follow:
    """One subscription running as a task; ``first`` is set when it saw an entry."""

    def __init__(self, entries: AsyncIterator[tuple[str, Any]], stop_after: int = 0) -> None:
        self.got: list[tuple[str, Any]] = []
        self.first = asyncio.Event()
        self.ends = 0
        self._stop_after = stop_after
        self.task = asyncio.create_task(self._run(entries))

    async def _run(self, entries: AsyncIterator[tuple[str, Any]]) -> list[tuple[str, Any]]:
        async for entry in entries:
            self.got.append(entry)
            self.first.set()
            if getattr(entry[1], "type", "") == "llm_end":
                self.ends += 1
                if self.ends == self._stop_after:
                    break
        return self.got


async def blocked_clients(bus: RedisBus) -> int:
    info = await (await bus._aclient()).info("clients")
    return int(info["blocked_clients"])


async def test_many_subscriptions_share_one_blocking_read_and_see_exactly_their_entries(
    redis_bus: RedisBus,
) -> None:
    """20 runs, each followed from the start, from its first entry and from "$",
    plus one follower of every trace: while they wait, Redis holds one blocked
    client; afterwards each saw exactly what its trace's stream holds after its
    starting point, in order."""
    bus = redis_bus
    runs = [run_events() for _ in range(20)]
    first_ids = [await bus.apublish(events[0]) for events in runs]
    traces = [events[0].trace_id for events in runs]
    everything = Follow(bus.asubscribe(None, after="0"), stop_after=len(runs))
    followers: dict[tuple[UUID, str], Follow] = {}
    for trace, first in zip(traces, first_ids, strict=True):
        for after in ("0", first):
            followers[trace, after] = Follow(bus.asubscribe(trace, after=after))
    for follow in [everything, *(f for (_, after), f in followers.items() if after == "0")]:
        await asyncio.wait_for(follow.first.wait(), 30)
    for trace in traces:  # "$" joins once the others are waiting
        followers[trace, "$"] = Follow(bus.asubscribe(trace, after="$"))
    await asyncio.sleep(0.2)
    assert await blocked_clients(bus) <= 1
    for i in range(1, len(runs[0])):
        for events in runs:
            await bus.apublish(events[i])
    for (trace, after), follow in followers.items():
        got = await asyncio.wait_for(follow.task, 30)
        start = {"0": "0", "$": first_ids[traces.index(trace)]}.get(after, after)
        assert got == bus.read(trace, after=start), (trace, after)
    got = await asyncio.wait_for(everything.task, 30)
    for trace, events in zip(traces, runs, strict=True):
        assert [item for _, item in got if item.trace_id == trace] == events


async def test_a_reader_that_falls_behind_is_let_go_and_still_sees_everything_once(
    redis_bus: RedisBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subscription that stops consuming while entries pile up past the buffer
    is let go from the shared read; when it goes on, it reads the rest on its
    own: nothing missing, nothing twice, in order."""
    bus = redis_bus
    monkeypatch.setattr(shared, "_BUFFER", 5)
    let_go: list[shared.Member] = []
    original = shared.SharedReader._let_go

    def counting(self: shared.SharedReader, member: shared.Member) -> None:
        let_go.append(member)
        original(self, member)

    monkeypatch.setattr(shared.SharedReader, "_let_go", counting)
    events = run_events(tokens=60)
    trace = events[0].trace_id
    await bus.apublish(events[0])
    slow = bus.asubscribe(trace)
    first = await anext(slow)  # read on its own, catching up
    second_read = asyncio.ensure_future(anext(slow))  # joins the shared read
    await bus.apublish(events[1])
    second = await asyncio.wait_for(second_read, 30)  # then it stops consuming
    fast = Follow(bus.asubscribe(trace))
    await asyncio.wait_for(fast.first.wait(), 30)
    for event in events[2:]:
        await bus.apublish(event)
    # The fast one saw the end: every read of the trace, which the slow one's
    # member received too, is done.
    await asyncio.wait_for(fast.task, 30)
    assert let_go
    rest = [entry async for entry in slow]
    assert [first, second, *rest] == fast.got == bus.read(trace)
    assert not any(isinstance(item, EntriesLost) for _, item in rest)


async def test_a_subscription_that_is_closed_leaves_the_shared_read(redis_bus: RedisBus) -> None:
    """Breaking out of a subscription leaves the reader; the others go on."""
    bus = redis_bus
    one, two = run_events(), run_events()
    for events in (one, two):
        await bus.apublish(events[0])
    stays = Follow(bus.asubscribe(two[0].trace_id))
    leaving = bus.asubscribe(one[0].trace_id)
    await anext(leaving)  # caught up on its own
    second_read = asyncio.ensure_future(anext(leaving))  # joins the shared read
    await bus.apublish(one[1])
    await asyncio.wait_for(second_read, 30)
    await asyncio.wait_for(stays.first.wait(), 30)
    reader = bus._readers[asyncio.get_running_loop()]
    assert len(reader._members) == 2
    await leaving.aclose()  # type: ignore[attr-defined]
    assert len(reader._members) == 1
    for event in two[1:]:
        await bus.apublish(event)
    assert [item for _, item in await asyncio.wait_for(stays.task, 30)] == two
    await bus.aclose()
    assert reader._task is not None
    assert reader._task.done()  # aclose stopped it


async def test_closing_the_bus_ends_a_waiting_subscription_with_a_bus_error(
    redis_bus: RedisBus,
) -> None:
    """aclose() stops the shared read at once; a subscription still waiting in
    it raises BusError rather than waiting forever."""
    bus = redis_bus
    events = run_events()
    await bus.apublish(events[0])
    waiting = bus.asubscribe(events[0].trace_id)
    await anext(waiting)
    joined = asyncio.ensure_future(anext(waiting))
    await bus.apublish(events[1])
    await asyncio.wait_for(joined, 30)
    still = asyncio.ensure_future(anext(waiting))
    await asyncio.sleep(0.1)  # let it wait in the shared read
    await bus.aclose()
    with pytest.raises(BusError, match="closed"):
        await asyncio.wait_for(still, 30)


async def test_more_live_subscriptions_than_the_connection_pool_holds(redis_bus: RedisBus) -> None:
    """150 subscriptions start at once and wait live on one loop (redis-py's
    async pool holds 100 connections: one blocking read each could not work)."""
    bus = redis_bus
    runs = [run_events(tokens=1) for _ in range(150)]
    for events in runs:
        await bus.apublish(events[0])
    follows = [Follow(bus.asubscribe(events[0].trace_id)) for events in runs]
    for follow in follows:
        await asyncio.wait_for(follow.first.wait(), 60)
    for events in runs:
        for event in events[1:]:
            await bus.apublish(event)
    for follow, events in zip(follows, runs, strict=True):
        assert [item for _, item in await asyncio.wait_for(follow.task, 60)] == events
