"""Property: every tool run has exactly one terminal event, last, whatever the
function does (returns, raises, is interrupted or cancelled) and whatever a
raise_error handler does, in sync and async code."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamllm import CallbackHandler, traced
from streamllm.events import BaseEvent, ToolEnd, ToolStart
from streamllm.testing import RecordingHandler
from streamllm.tools import Tool

BEHAVIOURS = ("return", "raise", "interrupt", "bad-args", "cancel")
HANDLER = ("none", "fail-start", "fail-end")

TERMINAL = {"tool_end", "tool_error", "chain_end", "chain_error"}


class _Strict(CallbackHandler):
    raise_error = True

    def __init__(self, on: str) -> None:
        self.on = on

    def on_tool_start(self, event: ToolStart) -> None:
        if self.on == "fail-start":
            raise RuntimeError("start")

    def on_tool_end(self, event: ToolEnd) -> None:
        if self.on == "fail-end":
            raise RuntimeError("end")


def _function(behaviour: str, is_async: bool) -> Any:
    def act(n: int) -> int:
        if behaviour == "raise":
            raise ValueError("no")
        if behaviour == "interrupt":
            raise KeyboardInterrupt
        return n

    if not is_async:
        return act

    async def aact(n: int) -> int:
        if behaviour == "cancel":
            raise asyncio.CancelledError
        await asyncio.sleep(0)
        return act(n)

    return aact


def kind(event: BaseEvent) -> str:
    return str(type(event).model_fields["type"].default)


def _check(events: list[BaseEvent], runs: int) -> None:
    by_run: dict[Any, list[BaseEvent]] = {}
    for e in events:
        by_run.setdefault(e.run_id, []).append(e)
    assert len([r for r in by_run.values() if kind(r[0]) == "tool_start"]) == runs
    for run in by_run.values():
        types = [kind(e) for e in run]
        assert sum(t in TERMINAL for t in types) == 1, types
        assert types[-1] in TERMINAL, types
        assert [e.seq for e in run] == list(range(len(run)))


calls = st.lists(
    st.tuples(st.sampled_from(BEHAVIOURS), st.sampled_from(HANDLER), st.booleans()),
    min_size=1,
    max_size=5,
)


def _one(behaviour: str, handler: str, is_async: bool) -> tuple[Tool, Any, list[Any]]:
    if behaviour == "cancel" and not is_async:
        behaviour = "raise"
    t = Tool(name="t", func=_function(behaviour, is_async))
    args = {"n": "x"} if behaviour == "bad-args" else {"n": 1}
    return t, args, [] if handler == "none" else [_Strict(handler)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls=calls, nested=st.booleans())
def test_sync_invoke_one_terminal_per_run(calls: list[tuple[str, str, bool]], nested: bool) -> None:
    """invoke: one terminal per run (tool and enclosing chain), last in its run."""
    rec = RecordingHandler()
    scope = traced("outer", callbacks=[rec]) if nested else contextlib.nullcontext()
    with contextlib.suppress(BaseException), scope:
        for behaviour, handler, is_async in calls:
            t, args, extra = _one(behaviour, handler, is_async)
            with contextlib.suppress(Exception, KeyboardInterrupt, asyncio.CancelledError):
                t.invoke(args, callbacks=[rec, *extra])
    _check(rec.events, len(calls))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls=calls)
def test_async_ainvoke_one_terminal_per_run(calls: list[tuple[str, str, bool]]) -> None:
    """ainvoke: the same, with cancellation raised inside async functions."""
    rec = RecordingHandler()

    async def main() -> None:
        for behaviour, handler, is_async in calls:
            t, args, extra = _one(behaviour, handler, is_async)
            with contextlib.suppress(Exception, KeyboardInterrupt, asyncio.CancelledError):
                await t.ainvoke(args, callbacks=[rec, *extra])

    asyncio.run(main())
    _check(rec.events, len(calls))
