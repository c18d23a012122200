"""``streamllm serve``: the command serves the page and the endpoints."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.web.servers import free_port
from tests.web.sse import events_of, text_of


def _serve(*args: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamllm", "serve", "--provider", "fake", "--delay", "0",
         "--port", str(port), *args],
        stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                httpx.get(url + "/", timeout=1.0)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "streamllm serve did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        _, err = process.communicate(timeout=15)
        assert b"Traceback" not in err, err.decode()


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    yield from _serve("--token", "t0k3n")


def test_serve_runs_the_model_and_streams_its_events(served: str) -> None:
    """One command: the page at /, a run started with POST /runs and followed as SSE."""
    auth = {"Authorization": "Bearer t0k3n"}
    with httpx.Client(base_url=served, headers=auth, timeout=10) as client:
        assert "<title>streamllm</title>" in client.get("/").text
        run = client.post("/runs", json={"input": "Tell me a joke."}).json()
        frames = events_of(client.get(run["events_url"]).text)
    assert frames[-1].event == "llm_end"
    assert text_of(frames).startswith("This is the fake provider")
    assert httpx.get(served + "/runs").status_code == 401


def test_serve_refuses_a_bus_that_is_not_redis() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "streamllm", "serve", "--bus", "ftp://nowhere"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == "streamllm: error: --bus takes a redis:// or rediss:// URL"
