"""The bus across real processes: subscribers, worker groups, a Redis that dies."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from streamllm.bus import BusError, BusPublisher, EntriesLost, RedisBus
from streamllm.events import BaseEvent, parse_event
from streamllm.models import FakeListLLM
from tests.bus.conftest import spawn
from tests.bus.redis_server import RedisServer, free_port

WORDS = " ".join(f"word{i}" for i in range(30))


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _wait(proc: Any, timeout: float = 30) -> None:
    try:
        _, err = proc.communicate(timeout=timeout)
    except Exception:
        proc.kill()
        proc.communicate()
        raise
    assert proc.returncode in (0, -signal.SIGTERM), err.decode()


def _until(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_other_process_sees_exactly_the_in_process_events_live_and_replayed(
    redis_url: str, tmp_path: Path
) -> None:
    """A subscriber in another process, started before the run and after it, sees the
    very events (same order, same fields) an in-process handler saw."""
    run_id = uuid.uuid4()
    live = spawn("subscribe", redis_url, str(run_id), "0", str(tmp_path / "live"))
    _until(lambda: (tmp_path / "live.ready").exists())
    seen: list[BaseEvent] = []
    publisher = BusPublisher(RedisBus(redis_url))
    FakeListLLM(responses=[WORDS], delay=0.01).invoke(
        "hi", callbacks=[publisher, seen.append], run_id=run_id
    )
    assert publisher.close(10)
    _wait(live)
    replay = spawn("subscribe", redis_url, str(run_id), "0", str(tmp_path / "replay"))
    _wait(replay)
    for name in ("live", "replay"):
        got = [parse_event(json.dumps(line["item"])) for line in _lines(tmp_path / name)]
        assert got == seen, name
    # Live: the first event reached the other process while the run still streamed.
    assert _lines(tmp_path / "live")[0]["at"] < seen[-1].time


def test_group_member_killed_mid_run_each_event_handled_once(
    redis_url: str, tmp_path: Path
) -> None:
    """Two workers of one group, one SIGKILLed while inside a handler: the other takes
    over its traces, and every event is handled exactly once by the group."""
    a = spawn("worker", redis_url, "g", "a", str(tmp_path / "a"), "15")
    bus = RedisBus(redis_url)
    publisher = BusPublisher(bus)
    seen: list[BaseEvent] = []
    model = FakeListLLM(responses=[WORDS], delay=0.002)
    for _ in range(3):
        model.invoke("hi", callbacks=[publisher, seen.append])
    assert publisher.flush(10)
    _until(lambda: (tmp_path / "a.stalled").exists())
    b = spawn("worker", redis_url, "g", "b", str(tmp_path / "b"))
    a.send_signal(signal.SIGKILL)
    a.communicate(timeout=10)
    for _ in range(2):
        model.invoke("hi", callbacks=[publisher, seen.append])
    assert publisher.close(10)
    expected = Counter((str(e.run_id), e.seq) for e in seen)
    handled = lambda: Counter(  # noqa: E731
        (h["run"], h["seq"]) for n in "ab" for h in _lines(tmp_path / n)
    )
    _until(lambda: sum(handled().values()) >= len(seen))
    time.sleep(1.5)  # room for a duplicate to show up, if there were one
    b.terminate()
    _wait(b)
    assert handled() == expected
    assert {h["by"] for h in _lines(tmp_path / "b")} == {"b"}
    assert _lines(tmp_path / "a")


def test_redis_killed_and_restarted_mid_run(tmp_path: Path) -> None:
    """Redis dies and comes back during a run: the run is unchanged, every lifecycle
    event is on the bus afterwards, and only the counted tokens are missing."""
    server = RedisServer(tmp_path / "redis", persist=True).start()
    try:
        bus = RedisBus(server.url)
        publisher = BusPublisher(bus, maxsize=10)
        seen: list[BaseEvent] = []
        text = " ".join(f"t{i}" for i in range(150))
        out: list[str] = []
        run = threading.Thread(
            target=lambda: out.append(
                FakeListLLM(responses=[text], delay=0.005).invoke(
                    "hi", callbacks=[publisher, seen.append]
                )
            )
        )
        run.start()
        time.sleep(0.25)
        server.kill()
        time.sleep(0.5)
        server.start()
        run.join(30)
        assert out == [text]
        assert publisher.close(20)
        got = bus.read(seen[0].trace_id)
        events = [item for _, item in got if not isinstance(item, EntriesLost)]
        dropped = sum(item.count or 0 for _, item in got if isinstance(item, EntriesLost))
        lifecycle = [e for e in seen if e.type != "new_token"]
        assert [e for e in events if e.type != "new_token"] == lifecycle
        tokens = [e for e in events if e.type == "new_token"]
        assert publisher.dropped > 0
        assert dropped == publisher.dropped
        assert len(tokens) + publisher.dropped == len(seen) - len(lifecycle)
        assert [t.index for t in tokens] == sorted({t.index for t in tokens})  # no duplicate
        bus.close()
    finally:
        server.stop()


def test_unreachable_or_wrong_url_fails_fast_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bus nobody answers on: BusError within a second, the run unchanged, and the
    password in no message, cause, log record or repr."""
    url = f"redis://:s3cr3t-pw@127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    with pytest.raises(BusError) as info:
        RedisBus(url).ping()
    assert time.monotonic() - started < 1.0
    texts = [str(info.value), repr(info.value), repr(info.value.__cause__)]
    with pytest.raises(BusError) as wrong:
        RedisBus("http://:s3cr3t-pw@127.0.0.1:6379")
    texts.append(str(wrong.value))
    caplog.set_level(logging.DEBUG, logger="streamllm")
    publisher = BusPublisher(RedisBus(url))
    text = FakeListLLM(responses=[WORDS]).invoke("hi", callbacks=[publisher])
    assert text == WORDS
    assert not publisher.close(0.3)  # nothing could be written; the writer gave up
    texts += [r.getMessage() for r in caplog.records] + [repr(publisher)]
    assert any("127.0.0.1" in t for t in texts)
    assert not [t for t in texts if "s3cr3t-pw" in t]


def test_200_runs_from_4_processes_consumed_by_a_group_of_3(redis_url: str, tmp_path: Path) -> None:
    """Nothing lost, nothing handled twice, and each run's events in order."""
    workers = [spawn("worker", redis_url, "g", n, str(tmp_path / n)) for n in "xyz"]
    producers = [spawn("produce", redis_url, "50", str(tmp_path / f"p{i}")) for i in range(4)]
    for p in producers:
        _wait(p, 60)
    seen = [
        json.loads(line) for i in range(4) for line in (tmp_path / f"p{i}").read_text().splitlines()
    ]
    assert len({e["run_id"] for e in seen}) == 200
    handled = lambda: [h for n in "xyz" for h in _lines(tmp_path / n)]  # noqa: E731
    _until(lambda: len(handled()) >= len(seen), 60)
    time.sleep(0.5)
    for w in workers:
        w.terminate()
    for w in workers:
        _wait(w)
    got = Counter((h["run"], h["seq"]) for h in handled())
    assert got == Counter((e["run_id"], e["seq"]) for e in seen)
    for n in "xyz":
        by_run: dict[str, list[int]] = defaultdict(list)
        for h in _lines(tmp_path / n):
            by_run[h["run"]].append(h["seq"])
        assert all(seqs == sorted(seqs) for seqs in by_run.values())
    assert all(_lines(tmp_path / n) for n in "xyz")  # the work was shared
