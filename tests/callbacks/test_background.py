"""BackgroundHandler: a blocked handler never stalls the stream; overflow policies."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from streamllm import ConfigurationError, FakeListLLM
from streamllm.callbacks.background import BackgroundHandler, Overflow
from streamllm.events import BaseEvent

TOKENS = 50
ANSWER = " ".join(str(i) for i in range(TOKENS))


class Blocked:
    """A handler that waits on an event before recording each event it gets."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.seen: list[BaseEvent] = []

    def __call__(self, event: BaseEvent) -> None:
        self.gate.wait()
        self.seen.append(event)


@pytest.mark.parametrize("overflow", ["block", "drop_oldest", "drop_newest"])
def test_blocked_handler_does_not_stall_stream(overflow: Overflow) -> None:
    """The stream completes while the handler is blocked; only tokens are dropped,
    the drop counter is exact, and start and end are delivered."""
    blocked = Blocked()
    background = BackgroundHandler(blocked, maxsize=5, overflow=overflow, timeout=0.1)
    text = "".join(FakeListLLM(responses=[ANSWER]).stream("x", callbacks=[background]))
    assert text == ANSWER
    assert not blocked.gate.is_set()
    blocked.gate.set()
    assert background.close(5.0)
    types = [e.type for e in blocked.seen]
    assert types[0] == "llm_start"
    assert types[-1] == "llm_end"
    tokens = [e for e in blocked.seen if e.type == "new_token"]
    assert len(tokens) + background.dropped == TOKENS
    assert background.dropped > 0
    indexes = [e.index for e in tokens]  # type: ignore[attr-defined]
    assert indexes == sorted(indexes), "FIFO order is kept"
    if overflow == "drop_newest":
        # The first tokens were kept: the newest ones were dropped.
        assert indexes == list(range(len(indexes)))
    if overflow == "drop_oldest":
        # The last token survived: the oldest ones made room.
        assert indexes[-1] == TOKENS - 1


def test_block_policy_waits_for_room_when_handler_is_slow_but_alive() -> None:
    """With room freed in time, "block" drops nothing: every token arrives."""
    seen: list[Any] = []
    background = BackgroundHandler(seen.append, maxsize=2, overflow="block", timeout=5.0)
    FakeListLLM(responses=[ANSWER]).invoke("x", callbacks=[background])
    assert background.flush(5.0)
    assert background.dropped == 0
    assert len([e for e in seen if e.type == "new_token"]) == TOKENS
    background.close()
    background.close()


def test_inner_failures_are_isolated_and_counted() -> None:
    """A failing wrapped handler is logged and counted; the stream is unaffected."""
    from streamllm import handler_failures

    def fails(event: BaseEvent) -> None:
        raise RuntimeError("inner")

    background = BackgroundHandler(fails)
    assert FakeListLLM(responses=["a b"]).invoke("x", callbacks=[background]) == "a b"
    assert background.close(5.0)
    assert handler_failures.total == 4


def test_only_wanted_kinds_are_queued() -> None:
    """Wrapping a handler without on_llm_new_token queues no tokens at all."""
    ends: list[Any] = []
    background = BackgroundHandler({"on_llm_end": ends.append}, maxsize=1)
    FakeListLLM(responses=[ANSWER]).invoke("x", callbacks=[background])
    assert background.close(5.0)
    assert background.dropped == 0
    assert len(ends) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"maxsize": 0}, "maxsize"),
        ({"overflow": "sometimes"}, "overflow"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    """Bad sizes and policies raise ConfigurationError."""
    with pytest.raises(ConfigurationError, match=message):
        BackgroundHandler(print, **kwargs)
