"""from_langchain for tool runs and content blocks, read by their agreed field names.

Tool runs (``ToolStart``/``ToolEnd``/``ToolError``) and block events
(``BlockStart``/``BlockDelta``, DESIGN.md sections 11 and 12) fed to the wrapper
directly, built from JSON as a recording or the bus would give them.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk

from streamllm.events import parse_event
from streamllm.integrations.langchain import from_langchain
from tests.integrations.conftest import CallRecorder


def _event(type_: str, **fields: Any) -> Any:
    common = {
        "type": type_,
        "run_id": uuid.uuid4(),
        "parent_run_id": None,
        "trace_id": uuid.uuid4(),
        "seq": 0,
        "time": 0.0,
        "monotonic": 0.0,
        "name": "get_weather",
        "tags": ("t",),
        "metadata": {},
    }
    return parse_event({**common, **fields})


def test_a_tool_run_calls_langchains_tool_hooks() -> None:
    """ToolStart -> on_tool_start(serialized, input_str, inputs=, tool_call_id=),
    ToolEnd -> on_tool_end(output), ToolError -> on_tool_error(exception)."""
    recorder = CallRecorder()
    wrapper: Any = from_langchain(recorder)
    start = _event("tool_start", tool_call_id="call_1", args={"city": "Paris"})
    wrapper.on_tool_start(start)
    wrapper.on_tool_end(_event("tool_end", output="22 C"))
    error = {"type": "ValueError", "message": "no such city"}
    wrapper.on_tool_error(_event("tool_error", error=error, reason="failed"))
    assert recorder.names() == ["on_tool_start", "on_tool_end", "on_tool_error"]
    (serialized, input_str), kw = recorder.of("on_tool_start")[0]
    assert serialized["name"] == "get_weather"
    assert input_str == "{'city': 'Paris'}"
    assert kw["inputs"] == {"city": "Paris"}
    assert kw["tool_call_id"] == "call_1"
    assert kw["run_id"] == start.run_id
    assert recorder.of("on_tool_end")[0][0] == ("22 C",)
    (exc,), _ = recorder.of("on_tool_error")[0]
    assert isinstance(exc, ValueError)
    assert str(exc) == "no such city"


def test_tool_hooks_follow_ignore_agent() -> None:
    """LangChain sends tool callbacks under ignore_agent; so does the wrapper."""

    class NoAgent(CallRecorder):
        @property
        def ignore_agent(self) -> bool:
            return True

    recorder = NoAgent()
    wrapper: Any = from_langchain(recorder)
    wrapper.on_tool_start(_event("tool_start", tool_call_id=None, args={}))
    assert recorder.calls == []


def test_tool_call_and_reasoning_blocks_stream_as_langchain_chunks() -> None:
    """A tool call's BlockStart and BlockDeltas become on_llm_new_token calls
    whose tool_call_chunks LangChain merges by index into the whole call; a
    reasoning delta is a reasoning content block; a text BlockStart is nothing."""
    recorder = CallRecorder()
    wrapper: Any = from_langchain(recorder)
    run = {"run_id": uuid.uuid4(), "name": "model"}
    wrapper.on_block_start(_event("block_start", block=0, kind="text", **run))
    wrapper.on_block_delta(_event("block_delta", block=1, kind="reasoning", delta="hmm", **run))
    start = _event(
        "block_start", block=2, kind="tool_call", id="call_1", tool_name="get_weather", **run
    )
    wrapper.on_block_start(start)
    for part in ('{"city": ', '"Paris"}'):
        wrapper.on_block_delta(_event("block_delta", block=2, kind="tool_call", delta=part, **run))
    calls = recorder.of("on_llm_new_token")
    assert len(calls) == 4
    reasoning = calls[0][1]["chunk"].message
    assert reasoning.content == [{"type": "reasoning", "reasoning": "hmm", "index": 1}]
    merged = calls[1][1]["chunk"].message
    for _, kw in calls[2:]:
        merged = merged + kw["chunk"].message
    assert isinstance(merged, AIMessageChunk)
    assert merged.tool_calls == [
        {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1", "type": "tool_call"}
    ]


@pytest.mark.parametrize("hook", ["on_block_start", "on_block_delta"])
def test_block_events_skip_handlers_without_a_token_hook(hook: str) -> None:
    """A handler that does not stream gets no block hooks at all."""
    from langchain_core.callbacks import StdOutCallbackHandler

    assert not hasattr(from_langchain(StdOutCallbackHandler()), hook)
