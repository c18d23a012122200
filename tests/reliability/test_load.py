"""Load: 1,000 concurrent astream runs with a counter, a recorder and a slow
handler behind BackgroundHandler. Nothing is lost and memory stays bounded."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import tracemalloc
from pathlib import Path
from uuid import UUID

from streamllm import BackgroundHandler, FakeListLLM, TokenUsage
from streamllm.events import BaseEvent
from streamllm.handlers import JSONLRecorder, TokenCounter, read_recording
from tests.models.helpers import check_runs

RUNS = 1000
WORDS = 20


class Slow:
    """A deliberately slow handler: 1 ms per event, on its worker thread."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, event: BaseEvent) -> None:
        time.sleep(0.001)
        with self.lock:
            self.count += 1


class Digest:
    """Keeps a running hash of each run's events, not the events: so the memory
    measured is the library's (queues, runs in flight), not the test's."""

    def __init__(self) -> None:
        self.runs: dict[UUID, hashlib._Hash] = {}
        self.count = 0

    def __call__(self, event: BaseEvent) -> None:
        digest = self.runs.setdefault(event.run_id, hashlib.sha256())
        digest.update(event.model_dump_json().encode())
        self.count += 1

    def hexdigests(self) -> dict[UUID, str]:
        return {run: d.hexdigest() for run, d in self.runs.items()}


def test_thousand_concurrent_astreams_lose_nothing(tmp_path: Path) -> None:
    """Recorded events equal delivered events, counter totals are exact, and the
    slow handler's queue bounds memory (its drops are counted, never lifecycle)."""
    answer = " ".join(f"w{i}" for i in range(WORDS))
    usage = TokenUsage.of(3, WORDS)
    model = FakeListLLM(responses=[answer], usage=usage, delay=0.001)
    counter, delivered = TokenCounter(), Digest()
    recorder = JSONLRecorder(tmp_path / "load.jsonl")
    slow = Slow()
    background = BackgroundHandler(slow, maxsize=500, overflow="drop_oldest")

    async def one(i: int) -> str:
        return "".join(
            [
                t
                async for t in model.astream(
                    f"p{i}", callbacks=[counter, recorder, delivered, background]
                )
            ]
        )

    async def main() -> list[str]:
        return await asyncio.gather(*(one(i) for i in range(RUNS)))

    tracemalloc.start()
    outputs = asyncio.run(main())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    recorder.close()
    assert background.close(timeout=60)

    assert outputs == [answer] * RUNS
    # Nothing lost: the recording holds exactly the delivered events, in order.
    recorded = read_recording(tmp_path / "load.jsonl")
    runs = check_runs(recorded)
    assert len(runs) == RUNS
    replayed = Digest()
    for event in recorded:
        replayed(event)
    assert replayed.count == delivered.count == (2 + WORDS) * RUNS
    assert replayed.hexdigests() == delivered.hexdigests()
    # Totals exact: provider usage summed over every run.
    assert counter.totals == TokenUsage(
        prompt_tokens=3 * RUNS,
        completion_tokens=WORDS * RUNS,
        total_tokens=(3 + WORDS) * RUNS,
        source="provider",
    )
    # The slow handler saw every lifecycle event; only tokens were dropped.
    lifecycle = 2 * RUNS
    tokens = WORDS * RUNS
    assert slow.count + background.dropped == lifecycle + tokens
    assert slow.count >= lifecycle
    # Memory: bounded by the queue (500 events) and the runs in flight, not by
    # the 22,000 events streamed (holding them all takes ~45 MB traced).
    print(f"peak traced memory {peak / 1e6:.1f} MB")
    assert peak < 20_000_000, f"peak traced memory {peak / 1e6:.1f} MB"
