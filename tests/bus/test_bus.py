"""The one bus interface, on MemoryBus, RedisBus and a three-node Redis Cluster."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from streamllm.bus import BusError, BusPublisher, EntriesLost, MemoryBus, RedisBus
from streamllm.bus.base import Bus
from streamllm.events import BaseEvent
from streamllm.models import FakeListLLM
from tests.bus.redis_server import RedisServer

TEXT = "the quick brown fox jumps over the lazy dog"


def run_published(bus: Bus, text: str = TEXT, **model: Any) -> list[BaseEvent]:
    """One model run published on ``bus``; the events an in-process handler saw."""
    seen: list[BaseEvent] = []
    publisher = BusPublisher(bus)
    FakeListLLM(responses=[text], **model).invoke("hi", callbacks=[publisher, seen.append])
    assert publisher.close(10)
    return seen


def events_of(items: list[tuple[str, Any]]) -> list[Any]:
    return [item for _, item in items if not isinstance(item, EntriesLost)]


def test_subscribe_replays_a_finished_trace_exactly_and_ends(any_bus: Bus) -> None:
    """A subscription after the run yields the in-process events, equal, in order, then ends."""
    seen = run_published(any_bus)
    got = list(any_bus.subscribe(seen[0].trace_id))
    assert events_of(got) == seen
    assert [item.type for _, item in got][-1] == "llm_end"
    assert list(any_bus.replay_events(seen[0].trace_id)) == seen


def test_resume_from_any_entry_id_gives_exactly_the_rest(any_bus: Bus) -> None:
    """For every entry id, ``after=id`` gives the entries after it, nothing else."""
    seen = run_published(any_bus)
    entries = any_bus.read(seen[0].trace_id)
    ids = [entry_id for entry_id, _ in entries]
    assert len(ids) == len(set(ids)) == len(seen)
    for i, entry_id in enumerate(ids):
        rest = list(any_bus.subscribe(seen[0].trace_id, after=entry_id))
        assert rest == entries[i + 1 :]


def test_live_subscription_sees_events_as_they_are_published(any_bus: Bus) -> None:
    """A subscriber started before the run sees every event live, then ends at the terminal."""
    seen: list[BaseEvent] = []
    publisher = BusPublisher(any_bus)
    model = FakeListLLM(responses=[TEXT], delay=0.005)
    run_id = UUID(int=7)
    got: list[Any] = []
    reader = threading.Thread(target=lambda: got.extend(any_bus.subscribe(run_id, after="$")))
    reader.start()
    time.sleep(0.2)
    model.invoke("hi", callbacks=[publisher, seen.append], run_id=run_id)
    assert publisher.close(10)
    reader.join(10)
    assert not reader.is_alive()
    assert events_of(got) == seen


def test_runs_lists_runs_with_their_state(any_bus: Bus) -> None:
    """runs() gives each run once, newest first, with its state."""
    first = run_published(any_bus)
    second = run_published(any_bus)
    runs = any_bus.runs()
    assert [r.run_id for r in runs] == [second[0].run_id, first[0].run_id]
    assert {r.state for r in runs} == {"ended"}
    assert runs[0].entry_id == any_bus.read(second[0].trace_id)[0][0]


def test_follow_every_trace(any_bus: Bus) -> None:
    """Without a trace id, a subscription replays every trace, then follows new ones."""
    first = run_published(any_bus)
    got: list[Any] = []

    def follow() -> None:
        for entry in any_bus.subscribe(after="0"):
            got.append(entry)
            if len(events_of(got)) == 2 * len(first):  # both runs have as many events
                return

    reader = threading.Thread(target=follow)
    reader.start()
    second = run_published(any_bus)
    reader.join(10)
    assert not reader.is_alive()
    assert events_of(got) == first + second


@pytest.mark.parametrize("after", ["0", "$"])
async def test_async_subscribe_and_publish(any_bus: Bus, after: str) -> None:
    """asubscribe and apublish carry the same events as the sync forms."""
    seen = run_published(MemoryBus())
    trace = seen[0].trace_id
    reader = asyncio.create_task(_collect(any_bus, trace, after))
    await asyncio.sleep(0.2)
    ids = [await any_bus.apublish(event) for event in seen]
    got = await asyncio.wait_for(reader, 10)
    assert events_of(got) == seen
    assert [i for i, _ in got] == ids
    await any_bus.aclose()


async def _collect(bus: Bus, trace: UUID, after: str) -> list[Any]:
    return [entry async for entry in bus.asubscribe(trace, after=after)]


def test_maxlen_bounds_a_long_run_and_a_late_reader_is_told_what_it_lost(any_bus: Bus) -> None:
    """A capped stream stays near maxlen; a reader from the start gets a notice
    counting exactly the entries trimmed away."""
    any_bus.maxlen = 50  # type: ignore[attr-defined]
    seen = run_published(any_bus, " ".join(["tok"] * 400))
    got = list(any_bus.subscribe(seen[0].trace_id))
    notices = [item for _, item in got if isinstance(item, EntriesLost)]
    assert len(notices) == 1
    assert notices[0].why == "trimmed"
    kept = events_of(got)
    assert notices[0].count + len(kept) == len(seen)
    assert kept == seen[-len(kept) :]
    assert len(kept) <= 50 + 100  # approximate trimming on Redis: whole nodes of 100


def test_stream_expires_ttl_after_the_root_terminal(any_bus: Bus) -> None:
    """A trace's stream is kept while it runs and gone ttl seconds after its end."""
    any_bus.ttl = 1  # type: ignore[attr-defined]
    seen = run_published(any_bus)
    assert any_bus.read(seen[0].trace_id)
    time.sleep(2.2)
    assert any_bus.read(seen[0].trace_id) == []
    # A subscriber that comes later is told, rather than left waiting for an end.
    [(_, notice)] = list(any_bus.subscribe(seen[0].trace_id))
    assert notice == EntriesLost(trace_id=seen[0].trace_id, count=None, why="expired")


class _Gate(MemoryBus):
    """A MemoryBus whose writes wait until the gate opens (Redis away)."""

    def __init__(self) -> None:
        super().__init__()
        self.open = threading.Event()

    def send(self, batch: Any) -> None:
        self.open.wait()
        super().send(batch)


def test_full_buffer_drops_only_tokens_counts_them_and_tells_readers() -> None:
    """With the bus stuck, only tokens are dropped (counted); every lifecycle event
    arrives once the bus answers, and the stream says how many tokens are missing."""
    bus = _Gate()
    publisher = BusPublisher(bus, maxsize=5)
    seen: list[BaseEvent] = []
    text = FakeListLLM(responses=[TEXT * 4]).invoke("hi", callbacks=[publisher, seen.append])
    assert text == TEXT * 4  # the run is unchanged
    assert publisher.dropped > 0
    bus.open.set()
    assert publisher.close(10)
    got = list(bus.subscribe(seen[0].trace_id))
    notices = [item for _, item in got if isinstance(item, EntriesLost)]
    assert sum(n.count or 0 for n in notices) == publisher.dropped
    assert {n.why for n in notices} == {"dropped"}
    assert notices[0].run_id == seen[0].run_id
    events = events_of(got)
    assert [e for e in seen if e.type != "new_token"] == [
        e for e in events if e.type != "new_token"
    ]
    tokens = [e for e in events if e.type == "new_token"]
    assert len(tokens) + publisher.dropped == len([e for e in seen if e.type == "new_token"])


def test_consumer_group_handles_every_event_once_in_trace_order(any_bus: Bus) -> None:
    """Two consumers of one group share the traces: each event once, per-trace order."""
    handled: list[tuple[str, BaseEvent]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def consumer(name: str) -> threading.Thread:
        def handle(event: BaseEvent) -> None:
            with lock:
                handled.append((name, event))

        t = threading.Thread(
            target=any_bus.consume, args=("g", name, [handle]), kwargs={"stop": stop}
        )
        t.start()
        return t

    threads = [consumer("a"), consumer("b")]
    time.sleep(0.3)
    seen = [e for _ in range(6) for e in run_published(any_bus)]
    deadline = time.monotonic() + 10
    while len(handled) < len(seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(10)
    assert sorted(str(e.run_id) + str(e.seq) for _, e in handled) == sorted(
        str(e.run_id) + str(e.seq) for e in seen
    )
    by_run: dict[UUID, list[int]] = defaultdict(list)
    for _, e in handled:
        by_run[e.run_id].append(e.seq)
    assert all(seqs == sorted(seqs) for seqs in by_run.values())


def test_wrong_password_is_a_bus_error_without_the_password(tmp_path: Path) -> None:
    """A wrong password: BusError naming the URL with the password redacted."""
    server = RedisServer(tmp_path, extra=("--requirepass", "the-right-one")).start()
    try:
        bus = RedisBus(server.url.replace("redis://", "redis://:hunter2@"))
        assert repr(bus) == f"RedisBus('redis://:***@127.0.0.1:{server.port}/0')"
        with pytest.raises(BusError, match=r"on redis://:\*\*\*@127\.0\.0\.1") as info:
            bus.ping()
        assert "hunter2" not in str(info.value)
        assert "hunter2" not in repr(info.value.__cause__)
        assert RedisBus(server.url.replace("redis://", "redis://:the-right-one@")).ping() is None
    finally:
        server.stop()


def test_replay_takes_a_bus_as_its_source(any_bus: Bus) -> None:
    """replay(bus, handlers) plays what the bus holds, trace by trace, like a recording."""
    from streamllm.handlers import replay
    from streamllm.testing import RecordingHandler

    first = run_published(any_bus)
    second = run_published(any_bus, "another answer")
    recorder = RecordingHandler()
    assert replay(any_bus, [recorder]) == first + second
    assert recorder.events == first + second


async def test_aconsume_hands_events_to_handlers_until_cancelled(any_bus: Bus) -> None:
    """aconsume runs a group member from async code; cancelling it stops it."""
    handled: list[BaseEvent] = []
    task = asyncio.create_task(any_bus.aconsume("g", "solo", [handled.append]))
    await asyncio.sleep(0.3)
    seen = run_published(MemoryBus())
    for event in seen:
        await any_bus.apublish(event)
    for _ in range(200):
        if len(handled) == len(seen):
            break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert handled == seen
    await any_bus.aclose()


def test_a_consumer_behind_a_trimmed_stream_is_told_how_many_it_lost(any_bus: Bus) -> None:
    """A group that reaches a trace after maxlen trimmed it: on_lost gets the count,
    and the handlers get the rest, in order."""
    any_bus.maxlen = 50  # type: ignore[attr-defined]
    seen = run_published(any_bus, " ".join(["tok"] * 400))
    handled: list[BaseEvent] = []
    lost: list[EntriesLost] = []
    stop = threading.Event()

    def handle(event: BaseEvent) -> None:
        handled.append(event)
        if event.type == "llm_end":
            stop.set()

    any_bus.consume("late", "c", [handle], stop=stop, on_lost=lost.append, start="0")
    assert [n.why for n in lost] == ["trimmed"]
    assert lost[0].count is not None
    assert lost[0].count + len(handled) == len(seen)
    assert handled == seen[-len(handled) :]


@pytest.mark.parametrize("nudge", [None, 0.0])
def test_publisher_delivers_everything_with_the_nudge_off_or_always_on(nudge: float | None) -> None:
    """nudge=None never lets go of the GIL early, 0.0 at every event past the
    first: either way every event is published, in order."""
    bus = MemoryBus()
    publisher = BusPublisher(bus, nudge=nudge)
    seen: list[BaseEvent] = []
    FakeListLLM(responses=[TEXT]).invoke("hi", callbacks=[publisher, seen.append])
    assert publisher.close(10)
    assert events_of(list(bus.subscribe(seen[0].trace_id))) == seen
