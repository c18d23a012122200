"""BackgroundHandler: a blocked handler never stalls the stream; overflow policies."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from streamllm import (
    AsyncCallbackHandler,
    CallbackHandler,
    ConfigurationError,
    FakeListLLM,
    HandlerError,
    LLMError,
)
from streamllm.callbacks.background import BackgroundHandler, Overflow
from streamllm.events import BaseEvent
from streamllm.testing import RecordingHandler
from tests.models.helpers import check_run

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
        # The first tokens were kept: the newest ones were dropped. The buffer
        # (5) holds the start and tokens 0-3 at least; the worker frees one
        # more slot when it takes the start event, whenever the scheduler lets
        # its thread run, so the fifth token kept may be any later one.
        assert indexes[:4] == [0, 1, 2, 3]
        assert len(indexes) <= 5
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


def test_async_inner_handler_runs_on_the_library_loop() -> None:
    """Async hooks of a wrapped handler run on the library's one background loop,
    not on an event loop the worker thread makes for itself."""
    threads: list[str] = []

    class Where(AsyncCallbackHandler):
        async def on_llm_end(self, event: Any) -> None:
            threads.append(threading.current_thread().name)

    background = BackgroundHandler(Where())
    FakeListLLM(responses=["a"]).invoke("x", callbacks=[background])
    assert background.close(5.0)
    assert threads == ["streamllm-loop"]


def test_a_strict_inner_handler_fails_the_run_it_failed_in() -> None:
    """raise_error on the wrapped handler is honoured: once the worker has met
    the failure, the run's terminal event raises HandlerError to the caller and
    the other handlers see the run end failed."""

    class StrictStart(CallbackHandler):
        raise_error = True

        def on_llm_start(self, event: Any) -> None:
            raise RuntimeError("strict inner")

        def on_llm_end(self, event: Any) -> None: ...

    background = BackgroundHandler(StrictStart())
    recorder = RecordingHandler()
    # Flushing from a token hook makes the worker meet the failure before the end.
    sync_point = {"on_llm_new_token": lambda e: background.flush(5.0)}
    with pytest.raises(HandlerError) as info:
        FakeListLLM(responses=["a b"]).invoke("x", callbacks=[sync_point, background, recorder])
    assert isinstance(info.value.__cause__, RuntimeError)
    assert isinstance(check_run(recorder.events), LLMError)
    assert background.close(5.0)


def test_a_strict_failure_the_run_outran_is_raised_by_flush() -> None:
    """A raise_error failure the worker meets after the run ended is raised by
    the next flush(), once; failures are logged once per run, not once ever."""
    gate = threading.Event()

    class Late(CallbackHandler):
        raise_error = True

        def on_llm_end(self, event: Any) -> None:
            gate.wait(5.0)
            raise RuntimeError("late")

    background = BackgroundHandler(Late())
    model = FakeListLLM(responses=["a", "b"])
    model.invoke("x", callbacks=[background])
    gate.set()
    with pytest.raises(HandlerError, match="late"):
        background.flush(5.0)
    assert background.flush(5.0)
    model.invoke("x", callbacks=[background])
    with pytest.raises(HandlerError):
        background.close(5.0)
    from streamllm import handler_failures

    assert handler_failures.total == 2
