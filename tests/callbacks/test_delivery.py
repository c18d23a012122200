"""The one delivery path: catch-all hooks, hook signatures, read-only payloads,
raise_error on the terminal event, and hung async handlers (issues 11 and 12)."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from streamllm import (
    AsyncCallbackHandler,
    CallbackHandler,
    ConfigurationError,
    FakeListLLM,
    HandlerError,
    LLMEnd,
    LLMError,
    handler_failures,
    traced,
)
from streamllm.callbacks import loop
from streamllm.callbacks.base import HandlerWrapper
from streamllm.events import BaseEvent, ChainEnd, ChainError, LLMStart, NewToken
from streamllm.testing import AsyncRecordingHandler, RecordingHandler
from tests.models.helpers import check_run


class StrictOnEnd(CallbackHandler):
    raise_error = True

    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_event(self, event: BaseEvent) -> None:
        self.seen.append(event.type)  # type: ignore[attr-defined]
        if isinstance(event, LLMEnd | ChainEnd):
            raise RuntimeError("strict handler refuses the end")


def _run(mode: str, model: FakeListLLM, handlers: list[Any]) -> str:
    if mode == "invoke":
        return model.invoke("x", callbacks=handlers)
    return asyncio.run(model.ainvoke("x", callbacks=handlers))


# -- on_event and wrappers ------------------------------------------------------


def test_on_event_receives_every_kind_without_its_own_hook() -> None:
    """A handler overriding only on_event gets every event; a specific hook wins
    for its own kind; a mapping can name on_event too."""

    class Mixed(CallbackHandler):
        def __init__(self) -> None:
            self.other: list[str] = []
            self.tokens: list[str] = []

        def on_event(self, event: BaseEvent) -> None:
            self.other.append(event.type)  # type: ignore[attr-defined]

        def on_llm_new_token(self, event: NewToken) -> None:
            self.tokens.append(event.token)

    mixed, every = Mixed(), RecordingHandler()
    seen: list[str] = []
    FakeListLLM(responses=["a b"]).invoke(
        "x", callbacks=[mixed, every, {"on_event": lambda e: seen.append(e.type)}]
    )
    assert mixed.other == ["llm_start", "llm_end"]
    assert mixed.tokens == ["a", " b"]
    assert [e.type for e in every.events] == ["llm_start", "new_token", "new_token", "llm_end"]
    assert seen == [e.type for e in every.events]


def test_a_wrapper_gets_exactly_what_the_wrapped_handler_wants() -> None:
    """A HandlerWrapper's on_event receives only the kinds its wrapped handler
    has hooks for, and carries the wrapped handler's raise_error."""

    class Tagging(HandlerWrapper):
        def __init__(self, wrapped: Any) -> None:
            self.wrapped = wrapped
            self.got: list[str] = []

        def on_event(self, event: BaseEvent) -> None:
            self.got.append(event.type)  # type: ignore[attr-defined]
            if isinstance(event, LLMEnd):
                raise RuntimeError("wrapped strict handler")

    class EndsOnly(CallbackHandler):
        raise_error = True

        def on_llm_end(self, event: LLMEnd) -> None: ...

    wrapper = Tagging(EndsOnly())
    with pytest.raises(HandlerError):
        FakeListLLM(responses=["a b"]).invoke("x", callbacks=[wrapper])
    assert wrapper.got == ["llm_end"]


# -- hook signatures (issue 11.9) ------------------------------------------------


class LangChainStyle(CallbackHandler):
    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:  # type: ignore[override]
        pass


class TwoArguments(CallbackHandler):
    def on_llm_end(self, response: Any, run_id: Any) -> None:  # type: ignore[override]
        pass


@pytest.mark.parametrize(
    ("handler", "hook"),
    [
        (LangChainStyle(), "on_llm_new_token"),
        (TwoArguments(), "on_llm_end"),
        ({"on_llm_end": lambda response, **kwargs: None}, "on_llm_end"),
        (lambda event, run_id: None, "__call__"),
    ],
)
def test_a_hook_that_does_not_take_one_event_is_refused(handler: Any, hook: str) -> None:
    """LangChain-style hooks are refused before the provider runs, naming the hook,
    saying how to write it and where the LangChain bridge is."""
    calls: list[str] = []

    class Spy(FakeListLLM):
        def _stream(self, request: Any) -> Any:
            calls.append("called")
            return super()._stream(request)

    with pytest.raises(ConfigurationError) as info:
        Spy(responses=["a"]).invoke("x", callbacks=[handler])
    message = str(info.value)
    assert hook in message
    assert "exactly one event" in message
    assert "from_langchain" in message
    assert calls == []


def test_hooks_with_an_optional_extra_or_positional_only_event_are_accepted() -> None:
    """What can be called with one event and takes no **kwargs is a valid hook."""

    class Fine(CallbackHandler):
        def on_llm_end(self, event: LLMEnd, /, extra: int = 0) -> None:
            self.ended = True

    fine = Fine()
    FakeListLLM(responses=["a"]).invoke("x", callbacks=[fine])
    assert fine.ended


# -- read-only payloads (issue 11.3) ----------------------------------------------


def test_a_handler_cannot_change_what_others_see_or_what_the_model_sends() -> None:
    """Writing into invocation_params or metadata raises inside that handler, is
    isolated and counted; the next handler and the next run see the originals."""

    class Writer(CallbackHandler):
        def on_llm_start(self, event: LLMStart) -> None:
            event.invocation_params["temperature"] = 99  # type: ignore[index]

        def on_llm_end(self, event: LLMEnd) -> None:
            event.metadata["user"] = "mallory"  # type: ignore[index]

    model = FakeListLLM(responses=["a", "b"], callbacks=[Writer()])
    params_before = dict(model.invocation_params)
    first, second = RecordingHandler(), RecordingHandler()
    model.invoke("x", callbacks=[first], metadata={"user": "ada"})
    model.invoke("x", callbacks=[second], metadata={"user": "ada"})
    assert handler_failures.total == 4
    for recorder in (first, second):
        start = recorder.of_type(LLMStart)[0]
        assert start.invocation_params.get("temperature") != 99
        assert all(e.metadata == {"user": "ada"} for e in recorder.events)
    assert dict(model.invocation_params) == params_before


# -- raise_error and the terminal event (issue 11.8) ------------------------------


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_strict_failure_on_the_end_is_an_error_for_every_other_handler(mode: str) -> None:
    """A raise_error handler failing on LLMEnd: the strict one saw the end, every
    other handler sees one LLMError(failed) instead, and the caller gets the
    HandlerError: handlers and caller agree."""
    strict, recorder = StrictOnEnd(), RecordingHandler()
    with pytest.raises(HandlerError) as info:
        _run(mode, FakeListLLM(responses=["a b"]), [recorder, strict])
    terminal = check_run(recorder.events)
    assert isinstance(terminal, LLMError)
    assert terminal.reason == "failed"
    assert terminal.error.type == "HandlerError"
    assert terminal.partial.text == "a b"
    assert strict.seen[-1] == "llm_end"
    assert strict.seen.count("llm_error") == 0, "no second terminal for the strict handler"
    assert isinstance(info.value.__cause__, RuntimeError)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_strict_failure_on_chain_end_is_a_chain_error(mode: str) -> None:
    """The same rule for a traced block: ChainError for the others, HandlerError out."""
    strict, recorder = StrictOnEnd(), RecordingHandler()
    block = traced("step", callbacks=[recorder, strict])
    with pytest.raises(HandlerError):
        if mode == "sync":
            with block:
                pass
        else:
            async with block:
                pass
    assert [type(e) for e in recorder.events] == [
        type(recorder.events[0]),
        ChainError,
    ]


def test_async_strict_failure_from_sync_code_ends_the_run_failed_for_everyone() -> None:
    """An async raise_error handler run from sync code failing on a token: the
    stream is unchanged, then the run ends with LLMError(failed) for every
    handler and the caller gets the HandlerError."""

    class StrictAsync(AsyncCallbackHandler):
        raise_error = True

        async def on_llm_new_token(self, event: NewToken) -> None:
            raise RuntimeError("async strict")

    recorder, arecorder = RecordingHandler(), AsyncRecordingHandler()
    received: list[str] = []
    with pytest.raises(HandlerError):
        for token in FakeListLLM(responses=["a b c"]).stream(
            "x", callbacks=[StrictAsync(), recorder, arecorder]
        ):
            received.append(token)
    assert "".join(received) == "a b c"
    for events in (recorder.events, arecorder.events):
        terminal = check_run(events)
        assert isinstance(terminal, LLMError)
        assert terminal.reason == "failed"


def test_async_strict_failure_on_the_end_from_sync_code() -> None:
    """An async raise_error handler failing on LLMEnd from sync code: it sees the
    end first, the sync handlers then see LLMError, the caller the HandlerError."""

    class StrictAsyncEnd(AsyncCallbackHandler):
        raise_error = True

        async def on_llm_end(self, event: LLMEnd) -> None:
            raise RuntimeError("async strict end")

    recorder = RecordingHandler()
    with pytest.raises(HandlerError):
        FakeListLLM(responses=["a b"]).invoke("x", callbacks=[StrictAsyncEnd(), recorder])
    assert isinstance(check_run(recorder.events), LLMError)


# -- hung async handlers (issue 11.7) ---------------------------------------------


def test_a_hung_async_handler_is_waited_for_once_and_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """After a handler was found hung, later sync calls do not wait for it (no
    more drain timeouts, no more log records) while a healthy async handler
    still sees every event; once the hook returns it is waited for again."""
    caplog.set_level(logging.ERROR, logger="streamllm")
    monkeypatch.setattr(loop, "DRAIN_TIMEOUT", 0.2)
    release = threading.Event()
    timeouts: list[bool] = []
    real_wait = loop.AsyncDrain._wait

    def spy(self: Any, mark: Any, timeout: Any, run_id: Any = None) -> bool:
        reached: bool = real_wait(self, mark, timeout, run_id)
        timeouts.append(not reached)
        return reached

    monkeypatch.setattr(loop.AsyncDrain, "_wait", spy)

    class Hangs(AsyncCallbackHandler):
        async def on_llm_end(self, event: Any) -> None:
            while not release.is_set():  # noqa: ASYNC110 - released from the test thread
                await asyncio.sleep(0.01)

    hangs = Hangs()
    model = FakeListLLM(responses=["a b"])
    healthy = [AsyncRecordingHandler() for _ in range(3)]
    for recorder in healthy:
        assert model.invoke("x", callbacks=[hangs, recorder]) == "a b"
    # The first call waited its drain timeout (its healthy handler queued behind
    # the hung one); the later ones did not wait, and their healthy handler
    # saw each run whole.
    assert timeouts == [True, False, False]
    for recorder in healthy[1:]:
        check_run(recorder.events)
    hung_records = [r for r in caplog.records if "handler hung" in r.getMessage()]
    assert len(hung_records) == 1
    release.set()
    # Its hooks return: it is no longer hung, and a later call waits for it again.
    for _ in range(200):
        if not loop.is_hung(loop_entry(hangs)):
            break
        threading.Event().wait(0.01)
    assert not loop.is_hung(loop_entry(hangs))


def loop_entry(handler: Any) -> Any:
    from streamllm.callbacks.registry import resolve

    return resolve(handler)


# -- a new event kind needs nothing in the callbacks layer (issue 12.1) -----------


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_new_event_kinds_flow_through_every_rule_without_callbacks_code(mode: str) -> None:
    """Block and tool events (added as classes only) reach their hooks, on_event,
    signals and the raise_error-on-the-end rule (ToolEnd -> ToolError) alike."""
    from streamllm import signals
    from streamllm.callbacks import CallbackManager
    from streamllm.callbacks.registry import resolve_all
    from streamllm.events import BlockDelta, ToolEnd, ToolError, ToolStart

    class StrictTool(CallbackHandler):
        raise_error = True

        def on_tool_end(self, event: ToolEnd) -> None:
            raise RuntimeError("refuses the tool's output")

    deltas: list[str] = []
    recorder = RecordingHandler()
    handlers = [StrictTool(), {"on_block_delta": lambda e: deltas.append(e.delta)}, recorder]
    signalled: list[BaseEvent] = []

    def receiver(sender: object, event: BaseEvent) -> None:
        signalled.append(event)

    manager = CallbackManager.configure(local=resolve_all(handlers))
    run = manager.start_run(name="search", sender=None, mode=mode)  # type: ignore[arg-type]
    start = {"tool_call_id": "call_1", "args": {"q": "x"}}
    delta = {"block": 0, "kind": "reasoning", "delta": "thinking"}
    with signals.namespace.signal("tool_error").connected_to(receiver), pytest.raises(HandlerError):
        if mode == "sync":
            run.emit(run.build(ToolStart, start))
            run.step(BlockDelta, delta)
            run.finish(run.build(ToolEnd, {"output": {"hits": 3}}))
        else:
            await run.aemit(run.build(ToolStart, start))
            await run.astep(BlockDelta, delta)
            await run.afinish(run.build(ToolEnd, {"output": {"hits": 3}}))
    assert deltas == ["thinking"]
    assert [e.type for e in recorder.events] == ["tool_start", "block_delta", "tool_error"]
    assert [e.seq for e in recorder.events] == [0, 1, 2]
    assert isinstance(signalled[0], ToolError)
    assert run.done


def test_a_langchain_handler_is_pointed_at_the_bridge() -> None:
    """Passing a langchain-core handler as it is names the from_langchain bridge."""
    lc = pytest.importorskip("langchain_core.callbacks")
    with pytest.raises(ConfigurationError, match="from_langchain"):
        FakeListLLM(responses=["a"]).invoke("x", callbacks=[lc.StdOutCallbackHandler()])
