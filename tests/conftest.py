"""Suite-wide fixtures: failure counters reset, and no thread or task left behind."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from streamllm import handler_failures

# Session fixtures: the real llama-server (integration tests, README snippets)
# and the project's own loopback servers (fault matrix, Ollama look-alike).
from tests.llama_server import llama_server, llama_server_url
from tests.servers.fixtures import fault_server, ollama_server

__all__ = ["fault_server", "llama_server", "llama_server_url", "ollama_server"]

# The library's own background loop thread is allowed to outlive a test.
_ALLOWED = ("streamllm-loop",)


def _extra_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t not in before and t.is_alive() and not t.name.startswith(_ALLOWED)
    ]


_loop_reports: list[dict[str, object]] = []
_report = asyncio.BaseEventLoop.call_exception_handler


def _record_report(loop: asyncio.BaseEventLoop, context: dict[str, object]) -> None:
    # A task destroyed while pending, an exception never retrieved, an unclosed
    # transport: asyncio only logs these. Here they fail the test.
    _loop_reports.append(context)
    _report(loop, context)


asyncio.BaseEventLoop.call_exception_handler = _record_report  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _no_leaks() -> Iterator[None]:
    """Each test starts with zeroed failure counts and leaves no thread running
    and no asyncio task or transport behind."""
    handler_failures.reset()
    _loop_reports.clear()
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2.0
    while _extra_threads(before) and time.monotonic() < deadline:
        time.sleep(0.01)
    leaked = _extra_threads(before)
    assert not leaked, f"threads left running: {[t.name for t in leaked]}"
    reports = [str(r.get("message")) for r in _loop_reports]
    assert not reports, f"asyncio reported: {reports}"
