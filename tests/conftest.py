"""Suite-wide fixtures: failure counters reset, and no thread left behind."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from streamllm import handler_failures

# The library's own background loop thread is allowed to outlive a test.
_ALLOWED = ("streamllm-loop",)


def _extra_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t not in before and t.is_alive() and not t.name.startswith(_ALLOWED)
    ]


@pytest.fixture(autouse=True)
def _no_leaks() -> Iterator[None]:
    """Each test starts with zeroed failure counts and leaves no thread running."""
    handler_failures.reset()
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2.0
    while _extra_threads(before) and time.monotonic() < deadline:
        time.sleep(0.01)
    leaked = _extra_threads(before)
    assert not leaked, f"threads left running: {[t.name for t in leaked]}"
