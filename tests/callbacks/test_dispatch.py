"""Delivery and the error policy of DESIGN.md section 3."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import pytest

from streamllm import (
    AsyncCallbackHandler,
    CallbackHandler,
    ConfigurationError,
    FakeListLLM,
    HandlerError,
    LLMError,
    NewToken,
    handler_failures,
)
from streamllm.callbacks import loop
from streamllm.testing import AsyncRecordingHandler, RecordingHandler
from tests.models.helpers import check_run


class AlwaysFails(CallbackHandler):
    def on_llm_start(self, event: Any) -> None:
        raise RuntimeError("start")

    def on_llm_new_token(self, event: Any) -> None:
        raise RuntimeError("token")

    def on_llm_end(self, event: Any) -> None:
        raise RuntimeError("end")


class StrictOnToken(CallbackHandler):
    raise_error = True

    def __init__(self, at: int = 1) -> None:
        self.at = at

    def on_llm_new_token(self, event: NewToken) -> None:
        if event.index == self.at:
            raise RuntimeError("strict handler refuses this token")


class StrictOnEnd(CallbackHandler):
    raise_error = True

    def on_llm_end(self, event: Any) -> None:
        raise RuntimeError("strict handler refuses the end")


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_failing_handler_changes_nothing_and_logs_once(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler raising on every hook leaves the output unchanged and gives one
    log record (with the traceback) per handler and run, not one per token."""
    caplog.set_level(logging.ERROR, logger="streamllm")
    model = FakeListLLM(responses=["a b c d e f g h"])
    handlers = [AlwaysFails(), AlwaysFails()]
    if mode == "stream":
        text = "".join(model.stream("x", callbacks=handlers))
    else:

        async def consume() -> str:
            return "".join([t async for t in model.astream("x", callbacks=handlers)])

        text = asyncio.run(consume())
    assert text == "a b c d e f g h"
    records = [r for r in caplog.records if r.name == "streamllm.callbacks"]
    assert len(records) == 2
    assert all(r.exc_info is not None for r in records)
    assert "AlwaysFails" in records[0].getMessage()
    assert handler_failures.total == 2 * (1 + 8 + 1)


def test_raise_error_stops_run_after_delivering_to_others() -> None:
    """A raise_error handler failing on a token: every other handler still gets
    that token, the run ends with LLMError(failed), the caller gets HandlerError."""
    recorder = RecordingHandler()
    model = FakeListLLM(responses=["a b c d"])
    received = []
    with pytest.raises(HandlerError) as info:
        for token in model.stream("x", callbacks=[StrictOnToken(at=1), recorder]):
            received.append(token)
    assert received == ["a"], "the failing token never reached the consumer"
    assert isinstance(info.value.__cause__, RuntimeError)
    assert info.value.event is not None
    assert info.value.event.type == "new_token"
    terminal = check_run(recorder.events)
    assert isinstance(terminal, LLMError)
    assert terminal.reason == "failed"
    assert terminal.error.type == "HandlerError"
    assert terminal.partial.text == "a b"


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_raise_error_on_terminal_sends_no_second_terminal(mode: str) -> None:
    """Failing on LLMEnd raises HandlerError and sends no second terminal event:
    the other handlers get one LLMError(failed) in place of the end."""
    recorder = RecordingHandler()
    model = FakeListLLM(responses=["a b"])
    with pytest.raises(HandlerError):
        if mode == "invoke":
            model.invoke("x", callbacks=[StrictOnEnd(), recorder])
        else:
            asyncio.run(model.ainvoke("x", callbacks=[StrictOnEnd(), recorder]))
    assert [e.type for e in recorder.events][-1] == "llm_error"
    check_run(recorder.events)


def test_keyboard_interrupt_is_never_swallowed() -> None:
    """A handler raising KeyboardInterrupt stops the call; the run ends cancelled."""
    recorder = RecordingHandler()

    def interrupt(event: Any) -> None:
        if isinstance(event, NewToken) and event.index == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        list(FakeListLLM(responses=["a b c"]).stream("x", callbacks=[interrupt, recorder]))
    terminal = check_run(recorder.events)
    assert isinstance(terminal, LLMError)
    assert terminal.reason == "cancelled"


def test_async_handlers_in_sync_code_see_every_event_in_order() -> None:
    """Async hooks run on the library's loop, in order, drained before return."""
    arecorder = AsyncRecordingHandler()
    text = FakeListLLM(responses=["one two three"], streaming=True).invoke(
        "x", callbacks=[arecorder]
    )
    assert text == "one two three"
    check_run(arecorder.events)
    assert "".join(arecorder.tokens()) == text
    assert loop.background_loop.thread is not None
    assert loop.background_loop.thread.name == "streamllm-loop"


def test_async_raise_error_in_sync_code_is_raised_after_run() -> None:
    """An async raise_error handler run from sync code cannot stop the run at the
    failing event: its failure reaches the caller after the run ended."""

    class StrictAsync(AsyncCallbackHandler):
        raise_error = True

        async def on_llm_new_token(self, event: NewToken) -> None:
            raise RuntimeError("async strict")

    recorder = RecordingHandler()
    received: list[str] = []
    with pytest.raises(HandlerError):
        for token in FakeListLLM(responses=["a b c"]).stream(
            "x", callbacks=[StrictAsync(), recorder]
        ):
            received.append(token)
    assert "".join(received) == "a b c"
    assert recorder.events[-1].type == "llm_error", "the caller's HandlerError is the run's end"


def test_hung_async_handler_is_logged_and_call_returns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A hung async handler delays a sync call by the drain timeout, no more."""
    monkeypatch.setattr(loop, "DRAIN_TIMEOUT", 0.2)
    release = threading.Event()

    class Hangs(AsyncCallbackHandler):
        async def on_llm_end(self, event: Any) -> None:
            # Polls a threading.Event: the test thread releases it, not this loop.
            while not release.is_set():  # noqa: ASYNC110
                await asyncio.sleep(0.01)

    started = time.monotonic()
    assert FakeListLLM(responses=["a"]).invoke("x", callbacks=[Hangs()]) == "a"
    assert time.monotonic() - started < 5
    release.set()
    assert any("handler hung" in r.getMessage() for r in caplog.records)


def test_sync_handler_runs_inline_on_the_loop() -> None:
    """In async code a sync handler runs in the loop's own thread (no thread hop)."""
    threads: set[int] = set()

    async def main() -> None:
        async for _ in FakeListLLM(responses=["a b"]).astream(
            "x", callbacks=[lambda e: threads.add(threading.get_ident())]
        ):
            pass

    asyncio.run(main())
    assert threads == {threading.get_ident()}


def test_mapping_handler_like_the_seed() -> None:
    """{"on_llm_new_token": fn} works like the seed's handleLLMNewToken."""
    tokens: list[str] = []
    model = FakeListLLM(responses=["Q: Why? A: Because."], streaming=True)
    out = model.invoke("x", callbacks=[{"on_llm_new_token": lambda e: tokens.append(e.token)}])
    assert "".join(tokens) == out


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        ({"on_new_token": print}, "unknown hook name"),
        ({"on_llm_new_token": 42}, "not a callable"),
        (object(), "is not a handler"),
        (RecordingHandler, "is a class, not a handler"),
    ],
)
def test_bad_handlers_are_refused_before_the_provider_runs(handler: Any, message: str) -> None:
    """Unknown hook names and non-handlers raise ConfigurationError at call start."""
    calls: list[str] = []

    class Spy(FakeListLLM):
        def _stream(self, request: Any) -> Any:
            calls.append("called")
            return super()._stream(request)

    with pytest.raises(ConfigurationError, match=message):
        Spy(responses=["a"]).invoke("x", callbacks=[handler])
    assert calls == []


def test_one_handler_from_several_sources_sees_a_run_once() -> None:
    """A handler attached to the model and to the call appears once per run."""
    recorder = RecordingHandler()
    FakeListLLM(responses=["a b"], callbacks=[recorder]).invoke("x", callbacks=[recorder])
    assert [e.type for e in recorder.events] == ["llm_start", "new_token", "new_token", "llm_end"]


def test_no_token_event_built_without_listeners(monkeypatch: pytest.MonkeyPatch) -> None:
    """No NewToken is built when no handler and no signal receiver wants one."""
    from streamllm.callbacks.manager import RunManager

    def boom(*args: Any) -> Any:
        raise AssertionError("a NewToken was built")

    for builder in ("token_event", "token", "atoken"):
        monkeypatch.setattr(RunManager, builder, boom)
    only_end: dict[str, Any] = {"on_llm_end": lambda e: None}
    assert list(FakeListLLM(responses=["a b"]).stream("x", callbacks=[only_end])) == ["a", " b"]
