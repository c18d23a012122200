"""``streamllm serve``: the command serves the page and the endpoints."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.web.servers import serve_command
from tests.web.sse import events_of, text_of


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    yield from serve_command("--token", "t0k3n")


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
