"""``streamllm tail`` and ``streamllm worker``, and ``STREAMLLM_TRACING=redis:URL``."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamllm.bus import BusPublisher, RedisBus
from streamllm.callbacks.env import reset_env_tracing
from streamllm.errors import ConfigurationError
from streamllm.events import BaseEvent, parse_event
from streamllm.models import FakeListLLM
from tests.bus.conftest import ROOT
from tests.bus.redis_server import free_port

WORDS = " ".join(f"w{i}" for i in range(25))


_started: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _stop_leftover_processes() -> Iterator[None]:
    """A failing test must not leave its CLI processes (and their pipes) behind for
    a later test's garbage collection to trip over."""
    yield
    while _started:
        proc = _started.pop()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def cli(*args: str, **env: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamllm", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _started.append(proc)
    return proc


def finished(proc: subprocess.Popen[str], timeout: float = 30) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def test_tail_follows_one_trace_live_and_ends_with_it(redis_url: str) -> None:
    """``tail --trace ID --json`` prints the run's events as they come, then exits 0."""
    run_id = uuid.uuid4()
    tail = cli("tail", "--bus", redis_url, "--trace", str(run_id), "--json")
    time.sleep(0.5)
    seen: list[BaseEvent] = []
    publisher = BusPublisher(RedisBus(redis_url))
    FakeListLLM(responses=[WORDS], delay=0.005).invoke(
        "hi", callbacks=[publisher, seen.append], run_id=run_id
    )
    assert publisher.close(10)
    code, out, err = finished(tail)
    assert code == 0, err
    assert [parse_event(line) for line in out.splitlines()] == seen


def test_tail_text_lines_name_the_entry_and_the_event(redis_url: str) -> None:
    """Without --json, one readable line per event, starting with its entry id."""
    seen: list[BaseEvent] = []
    publisher = BusPublisher(RedisBus(redis_url))
    FakeListLLM(responses=["a b"]).invoke("hi", callbacks=[publisher, seen.append])
    assert publisher.close(10)
    code, out, err = finished(cli("tail", "--bus", redis_url, "--trace", str(seen[0].trace_id)))
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == len(seen)
    assert "llm_start" in lines[0]
    assert "new_token #0 'a'" in lines[1]
    assert lines[-1].split()[0].count("-") == 1  # an entry id <ms>-<n>


@pytest.mark.parametrize(
    ("url", "code"),
    [
        (f"redis://:s3cr3t-pw@127.0.0.1:{free_port()}/0", 1),
        ("http://:s3cr3t-pw@127.0.0.1:6379", 2),
    ],
)
def test_tail_on_a_bad_bus_fails_fast_in_one_line(url: str, code: int) -> None:
    """Unreachable: exit 1; not a Redis URL: exit 2; one line, no password."""
    started = time.monotonic()
    got, _, err = finished(cli("tail", "--bus", url))
    assert time.monotonic() - started < 10  # the interpreter's start included
    assert got == code
    assert len(err.strip().splitlines()) == 1
    assert "s3cr3t-pw" not in err
    assert "***" in err


def test_workers_share_a_group_and_take_over_a_killed_one(redis_url: str, tmp_path: Path) -> None:
    """Two ``streamllm worker --handler jsonl:PATH``: one SIGKILLed mid-run, the other
    handles what it left; the two files hold every event."""
    common = ("--bus", redis_url, "--group", "rec", "--claim-idle", "1", "--from", "0")
    a = cli("worker", *common, "--handler", f"jsonl:{tmp_path / 'a.jsonl'}", "--name", "a")
    b = cli("worker", *common, "--handler", f"jsonl:{tmp_path / 'b.jsonl'}", "--name", "b")
    publisher = BusPublisher(RedisBus(redis_url))
    seen: list[BaseEvent] = []
    model = FakeListLLM(responses=[WORDS], delay=0.01)
    for i in range(4):
        if i == 1:
            time.sleep(0.1)
            a.send_signal(signal.SIGKILL)
        model.invoke("hi", callbacks=[publisher, seen.append])
    assert publisher.close(10)

    def handled() -> Counter[tuple[str, int]]:
        # Only whole lines: a live worker may be between the two writes of one line,
        # and a SIGKILLed one may have died there (that event was not acknowledged,
        # so the other worker handles it).
        events = [
            json.loads(line)
            for name in ("a.jsonl", "b.jsonl")
            if (tmp_path / name).exists()
            for line in (tmp_path / name).read_text().split("\n")[1:-1]  # after the header
        ]
        return Counter((e["run_id"], e["seq"]) for e in events)

    deadline = time.monotonic() + 30
    while len(handled()) < len(seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    b.send_signal(signal.SIGTERM)
    assert finished(b)[0] == 0
    finished(a)
    got = handled()
    assert set(got) == {(str(e.run_id), e.seq) for e in seen}  # nothing lost
    # A worker killed between writing a line and moving the group's checkpoint
    # (one round trip) leaves that one event to be handled again.
    assert sum(got.values()) - len(got) <= 1


def test_worker_otel_exports_spans_set_up_from_the_otel_environment(redis_url: str) -> None:
    """``worker --handler otel`` sets up a tracer provider from ``OTEL_*``: with the
    console exporter, the worker prints one span per run it handled."""
    env = {
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_SERVICE_NAME": "bus-test",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    worker = cli(
        "worker", "--bus", redis_url, "--group", "otel", "--from", "0", "--handler", "otel", **env
    )
    publisher = BusPublisher(RedisBus(redis_url))
    seen: list[BaseEvent] = []
    FakeListLLM(responses=["a b c"]).invoke("hi", callbacks=[publisher, seen.append])
    assert publisher.close(10)
    time.sleep(2)
    worker.send_signal(signal.SIGTERM)
    code, out, err = finished(worker)
    assert code == 0, err
    spans = json.loads("[" + out.replace("}\n{", "},{") + "]")
    mine = [
        s
        for s in spans
        if s["context"]["trace_id"] and s["attributes"].get("gen_ai.operation.name")
    ]
    assert len(mine) == 1, out
    assert mine[0]["resource"]["attributes"]["service.name"] == "bus-test"
    usage = seen[-1].result.usage  # type: ignore[attr-defined]
    assert mine[0]["attributes"]["gen_ai.usage.output_tokens"] == usage.completion_tokens


def test_worker_otel_without_the_otlp_exporter_says_what_to_install(redis_url: str) -> None:
    """OTLP asked for (an endpoint set) but the exporter not installed: one clear
    line, exit 2, before connecting."""
    pytest.importorskip("opentelemetry.sdk")
    if importlib.util.find_spec("opentelemetry.exporter") is not None:
        pytest.skip("an OpenTelemetry exporter package is installed here")
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    code, _, err = finished(
        cli("worker", "--bus", redis_url, "--group", "g", "--handler", "otel", **env)
    )
    assert code != 0
    assert "pip install opentelemetry-exporter-otlp" in err


@pytest.fixture
def env_tracing(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    reset_env_tracing()
    yield monkeypatch
    monkeypatch.delenv("STREAMLLM_TRACING", raising=False)
    reset_env_tracing()


def test_streamllm_tracing_redis_publishes_every_run(
    redis_url: str, env_tracing: pytest.MonkeyPatch
) -> None:
    """``STREAMLLM_TRACING=redis:URL`` attaches a BusPublisher to every run."""
    env_tracing.setenv("STREAMLLM_TRACING", f"redis:{redis_url}")
    seen: list[BaseEvent] = []
    FakeListLLM(responses=[WORDS]).invoke("hi", callbacks=[seen.append])
    reset_env_tracing()  # closes (flushes) the publisher it attached
    bus = RedisBus(redis_url)
    assert [e for _, e in bus.read(seen[0].trace_id)] == seen
    bus.close()


def test_streamllm_tracing_redis_with_a_bad_url(env_tracing: pytest.MonkeyPatch) -> None:
    """Not a Redis URL: ConfigurationError naming the variable, before the provider is called."""
    env_tracing.setenv("STREAMLLM_TRACING", "redis:http://:pw@127.0.0.1:1")
    with pytest.raises(ConfigurationError, match="STREAMLLM_TRACING") as info:
        FakeListLLM(responses=[WORDS]).invoke("hi")
    assert ":pw@" not in str(info.value)


def test_cli_run_published_by_streamllm_tracing_reaches_tail(redis_url: str) -> None:
    """The README's two processes: ``streamllm tail`` and a run published from the
    environment variable, in another process."""
    tail = cli("tail", "--bus", redis_url, "--json")
    time.sleep(1.0)
    code, out, err = finished(
        cli("say it", "--provider", "fake", STREAMLLM_TRACING=f"redis:{redis_url}")
    )
    assert code == 0, err
    assert out.strip() == "say it"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        runs = RedisBus(redis_url).runs()
        if runs and runs[0].state == "ended":
            break
        time.sleep(0.1)
    time.sleep(0.5)
    tail.send_signal(signal.SIGINT)
    code, out, _ = finished(tail)
    assert code == 130
    events = [parse_event(line) for line in out.splitlines()]
    assert [e.type for e in events] == ["llm_start", "new_token", "new_token", "llm_end"]
