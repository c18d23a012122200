"""Tool calls as runs of their own: ToolStart, then exactly one of ToolEnd or
ToolError, nested under the current parent run, with the handlers a model call
would get; ``invoke`` and ``ainvoke`` alike (one body for both where they agree)."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import pytest

from streamllm import (
    CallbackHandler,
    FakeListLLM,
    HandlerError,
    ToolArgumentsError,
    set_global_handlers,
    traced,
    tracing,
)
from streamllm.chat import InvalidToolCall, ToolCall, to_chat_messages
from streamllm.errors import ConfigurationError
from streamllm.events import BaseEvent, ToolEnd, ToolError, ToolStart
from streamllm.messages import Message
from streamllm.testing import AsyncRecordingHandler, RecordingHandler
from streamllm.tools import Tool, ToolMessage, tool


@tool
def add(a: int, b: int = 1) -> int:
    """Add two numbers."""
    return a + b


@tool
async def aadd(a: int, b: int = 1) -> int:
    """Add two numbers, asynchronously."""
    await asyncio.sleep(0)
    return a + b


Invoke = Callable[..., Awaitable[Any]]


async def _sync(t: Tool, *args: Any, **kwargs: Any) -> Any:
    return t.invoke(*args, **kwargs)


async def _async(t: Tool, *args: Any, **kwargs: Any) -> Any:
    return await t.ainvoke(*args, **kwargs)


#: Each tool kind through each entry point: sync/async function x invoke/ainvoke.
WAYS = [(add, _sync), (add, _async), (aadd, _sync), (aadd, _async)]
IDS = ["sync-invoke", "sync-ainvoke", "async-invoke", "async-ainvoke"]


def kind(event: BaseEvent) -> str:
    return str(type(event).model_fields["type"].default)


def kinds(events: list[BaseEvent]) -> list[str]:
    return [kind(e) for e in events]


@pytest.mark.parametrize(("t", "call"), WAYS, ids=IDS)
async def test_dict_arguments_give_the_output_and_one_run(t: Tool, call: Invoke) -> None:
    """With a dict, the caller gets the output; the run is ToolStart (the tool's
    name, the arguments as sent) then ToolEnd (the output), at the root."""
    rec = RecordingHandler()
    assert await call(t, {"a": 2, "b": "3"}, callbacks=[rec]) == 5
    start, end = rec.events
    assert isinstance(start, ToolStart)
    assert isinstance(end, ToolEnd)
    assert (start.name, start.tool_call_id, dict(start.args)) == (t.name, None, {"a": 2, "b": "3"})
    assert end.output == 5
    assert start.run_id == end.run_id == start.trace_id
    assert start.parent_run_id is None
    assert (start.seq, end.seq) == (0, 1)


@pytest.mark.parametrize(("t", "call"), WAYS, ids=IDS)
async def test_a_tool_call_gives_a_tool_message_for_the_conversation(t: Tool, call: Invoke) -> None:
    """With a ToolCall the caller gets the tool message answering it (the one
    Message class, so a conversation and its events read back equal);
    ToolStart carries the call's id."""
    rec = RecordingHandler()
    message = await call(t, ToolCall(id="call_7", name=t.name, args={"a": 1}), callbacks=[rec])
    assert type(message) is Message
    assert message == ToolMessage("2", tool_call_id="call_7", name=t.name)
    assert (message.role, message.content, message.tool_call_id, message.name) == (
        "tool",
        "2",
        "call_7",
        t.name,
    )
    assert rec.of_type(ToolStart)[0].tool_call_id == "call_7"
    assert to_chat_messages([("user", "hi"), message])[1] == message


def test_a_tool_call_dict_is_accepted_and_outputs_become_json() -> None:
    """A ToolCall given as its dict works too; a non-str output is JSON in the message."""

    @tool
    def forecast(city: str) -> dict[str, Any]:
        """Forecast."""
        return {"city": city, "temps": [21, 23]}

    msg = forecast.invoke(
        {"type": "tool_call", "id": "c1", "name": "forecast", "args": {"city": "Oslo"}}
    )
    assert msg.content == '{"city":"Oslo","temps":[21,23]}'


@pytest.mark.parametrize(("t", "call"), WAYS, ids=IDS)
async def test_bad_arguments_raise_naming_the_field_and_end_the_run(t: Tool, call: Invoke) -> None:
    """Arguments of the wrong type, missing or unknown: ToolArgumentsError naming
    each field; the run ends with ToolError carrying it."""
    rec = RecordingHandler()
    with pytest.raises(ToolArgumentsError) as info:
        await call(t, {"a": "many", "c": 1}, callbacks=[rec])
    assert "a: Input should be a valid integer" in str(info.value)
    assert "c: Extra inputs are not permitted" in str(info.value)
    assert info.value.tool == t.name
    assert [e["loc"] for e in info.value.errors or []] == [("a",), ("c",)]
    assert kinds(rec.events) == ["tool_start", "tool_error"]
    error = rec.events[1]
    assert isinstance(error, ToolError)
    assert (error.error.type, error.reason) == ("ToolArgumentsError", "failed")


def test_an_invalid_tool_call_is_a_failed_run() -> None:
    """A call whose arguments were not JSON (InvalidToolCall) fails its run with
    ToolArgumentsError saying why; the function is never called."""
    rec = RecordingHandler()
    bad = InvalidToolCall(id="c9", name="add", args_text="{a: 1", error="not JSON")
    with pytest.raises(ToolArgumentsError, match="not JSON"):
        add.invoke(bad, callbacks=[rec])
    assert kinds(rec.events) == ["tool_start", "tool_error"]


def test_inputs_that_are_not_arguments_are_refused_before_any_run() -> None:
    """A str, or a call for another tool: ConfigurationError, and no event."""
    rec = RecordingHandler()
    with pytest.raises(ConfigurationError, match="dict of arguments or a ToolCall"):
        add.invoke("2 + 2", callbacks=[rec])  # type: ignore[call-overload]
    with pytest.raises(ConfigurationError, match="for the tool 'mul', not 'add'"):
        add.invoke(ToolCall(id="c", name="mul", args={}), callbacks=[rec])
    assert rec.events == []


@pytest.mark.parametrize("call", [_sync, _async], ids=["invoke", "ainvoke"])
async def test_what_the_function_raises_reaches_the_caller_and_fails_the_run(
    call: Invoke,
) -> None:
    """The function's exception reaches the caller as it is; ToolError(failed)."""

    @tool
    def boom(x: int) -> int:
        """Fail."""
        raise LookupError(f"no {x}")

    rec = RecordingHandler()
    with pytest.raises(LookupError, match="no 3"):
        await call(boom, {"x": 3}, callbacks=[rec])
    error = rec.events[-1]
    assert kinds(rec.events) == ["tool_start", "tool_error"]
    assert isinstance(error, ToolError)
    assert (error.error.type, error.error.message, error.reason) == (
        "LookupError",
        "no 3",
        "failed",
    )


def test_ctrl_c_in_a_tool_ends_its_run_cancelled() -> None:
    """KeyboardInterrupt inside the function: ToolError(cancelled), and the
    interrupt reaches the caller as itself."""

    @tool
    def interrupted() -> None:
        """Ctrl-C."""
        raise KeyboardInterrupt

    rec = RecordingHandler()
    with pytest.raises(KeyboardInterrupt):
        interrupted.invoke({}, callbacks=[rec])
    assert [(kind(e), getattr(e, "reason", None)) for e in rec.events] == [
        ("tool_start", None),
        ("tool_error", "cancelled"),
    ]


@pytest.mark.parametrize("blocking", [False, True], ids=["async-function", "sync-in-thread"])
async def test_a_cancelled_task_ends_the_tool_run_cancelled(blocking: bool) -> None:
    """Cancelling the task awaiting ainvoke ends the run with ToolError(cancelled)
    at once, also while a sync function runs in its worker thread."""
    started, release = threading.Event(), threading.Event()

    def wait_sync() -> str:
        started.set()
        release.wait(5)
        return "late"

    async def wait_async() -> str:
        started.set()
        await asyncio.sleep(5)
        return "late"

    t = Tool(name="wait", func=wait_sync) if blocking else Tool(name="wait", func=wait_async)
    rec = RecordingHandler()
    task = asyncio.ensure_future(t.ainvoke({}, callbacks=[rec]))
    assert await asyncio.to_thread(started.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    assert [(kind(e), getattr(e, "reason", None)) for e in rec.events] == [
        ("tool_start", None),
        ("tool_error", "cancelled"),
    ]


async def test_an_async_tool_invoked_from_inside_a_running_loop() -> None:
    """Sync invoke of an async tool from async code runs it on a loop of its own
    (in a worker thread) instead of deadlocking, and it stays in the trace."""
    rec = RecordingHandler()
    with traced("outer", callbacks=[rec]) as outer:
        assert aadd.invoke({"a": 40, "b": 2}) == 42
    assert rec.of_type(ToolStart)[0].parent_run_id == outer.run_id


def _tree(events: list[BaseEvent]) -> list[tuple[str, str, UUID | None]]:
    """(type, name, parent run id) of each run's first event."""
    firsts: dict[UUID, BaseEvent] = {}
    for e in events:
        firsts.setdefault(e.run_id, e)
    return [(kind(e), e.name, e.parent_run_id) for e in firsts.values()]


@pytest.mark.parametrize("call", [_sync, _async], ids=["invoke", "ainvoke"])
async def test_tool_runs_nest_under_traced_and_models_nest_under_tools(call: Invoke) -> None:
    """Inside traced, a tool run is a child of the chain; a model called inside
    the tool is a child of the tool run; one trace; the handlers of traced
    reach them all."""
    llm = FakeListLLM(responses=["sunny"])

    @tool
    def weather(city: str) -> str:
        """Ask the model."""
        return llm.invoke(f"weather in {city}?")

    rec = RecordingHandler()

    @traced(name="loop", callbacks=[rec])
    async def loop() -> Any:
        return await call(weather, {"city": "Rome"})

    assert await loop() == "sunny"
    events = rec.events
    chain, tool_run, model = (e.run_id for e in (events[0], rec.of_type(ToolStart)[0], events[2]))
    assert _tree(events) == [
        ("chain_start", "loop", None),
        ("tool_start", "weather", chain),
        ("llm_start", "fake", tool_run),
    ]
    assert len({e.trace_id for e in events}) == 1
    assert model != tool_run
    assert kinds(events)[-3:] == ["llm_end", "tool_end", "chain_end"]


def test_global_scoped_tool_config_and_call_handlers_all_see_the_run() -> None:
    """Global, scoped, the tool's own, config's and the call's handlers: each once;
    tags and metadata merge; run_name and run_id apply."""
    seen: dict[str, list[str]] = {k: [] for k in ("global", "scoped", "tool", "config", "call")}

    def grab(key: str) -> Callable[[BaseEvent], None]:
        return lambda e: seen[key].append(kind(e))

    both = grab("call")
    t = Tool(func=add.func, name="adder", callbacks=[grab("tool")], tags=["t"], metadata={"k": 1})
    rec = RecordingHandler()
    set_global_handlers([grab("global")])
    try:
        with tracing(grab("scoped")):
            run_id = UUID(int=7)
            t.invoke(
                {"a": 1},
                {"callbacks": [grab("config"), rec], "tags": ["c"], "run_id": run_id},
                callbacks=[both, both],
                metadata={"m": 2},
                run_name="renamed",
            )
    finally:
        set_global_handlers([])
    assert all(v == ["tool_start", "tool_end"] for v in seen.values()), seen
    start = rec.events[0]
    assert (start.name, start.run_id, start.tags) == ("renamed", run_id, ("t", "c"))
    assert dict(start.metadata) == {"k": 1, "m": 2}


class _FailsOnEnd(CallbackHandler):
    raise_error = True

    def on_tool_end(self, event: ToolEnd) -> None:
        raise RuntimeError("handler broke")


@pytest.mark.parametrize(("t", "call"), WAYS, ids=IDS)
async def test_a_raise_error_handler_failing_on_the_end(t: Tool, call: Invoke) -> None:
    """A raise_error handler failing on ToolEnd: the caller gets HandlerError, and
    every other handler sees ToolError in its place: one terminal each."""
    rec = RecordingHandler()
    with pytest.raises(HandlerError):
        await call(t, {"a": 1}, callbacks=[_FailsOnEnd(), rec])
    assert kinds(rec.events) == ["tool_start", "tool_error"]


async def test_a_failing_ordinary_handler_changes_nothing_for_the_caller() -> None:
    """A handler that raises (without raise_error) does not change the output."""

    def broken(event: BaseEvent) -> None:
        raise RuntimeError("ignored")

    assert add.invoke({"a": 1}, callbacks=[broken]) == 2
    assert await add.ainvoke({"a": 1}, callbacks=[broken]) == 2


def test_async_handlers_see_a_sync_tool_run_in_order() -> None:
    """An async handler on a sync invoke gets both events, in order, before invoke returns."""
    rec = AsyncRecordingHandler()
    add.invoke({"a": 1}, callbacks=[rec])
    assert kinds(rec.events) == ["tool_start", "tool_end"]


def test_outputs_json_cannot_hold_are_shown_by_repr() -> None:
    """An output JSON cannot hold reaches the caller as it is; ToolEnd shows its repr."""
    marker = object()
    t = Tool(name="opaque", func=lambda: marker)
    rec = RecordingHandler()
    assert t.invoke({}, callbacks=[rec]) is marker
    assert rec.of_type(ToolEnd)[0].output == repr(marker)


def test_no_handler_no_event_built() -> None:
    """Without handlers the tool still runs (and nothing is built for nobody)."""
    assert add.invoke({"a": 41}) == 42


def test_a_parameter_named_type_is_not_mistaken_for_a_call() -> None:
    """A tool whose arguments include "type": "tool_call" gets them as arguments."""

    @tool
    def classify(type: str) -> str:
        """Echo the type."""
        return type

    assert classify.invoke({"type": "tool_call"}) == "tool_call"


def test_python_arguments_json_cannot_hold_reach_the_function_and_show_as_repr() -> None:
    """A caller's dict may hold Python objects the schema takes (a datetime):
    the function gets them; ToolStart shows them as JSON-safe text."""

    @tool
    def year(when: dt.datetime) -> int:
        """The year."""
        return when.year

    rec = RecordingHandler()
    when = dt.datetime(2026, 12, 2, tzinfo=dt.UTC)
    assert year.invoke({"when": when}, callbacks=[rec]) == 2026
    assert rec.of_type(ToolStart)[0].args["when"] == repr(when)
