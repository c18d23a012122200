"""The chat events (blocks, tools) and LLMResult.message: JSON round trips, read-only payloads."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from streamllm._frozen import FrozenDict
from streamllm.callbacks.kinds import DROPPABLE, ENDS, TERMINAL
from streamllm.chat import AIMessage, InvalidToolCall, ReasoningBlock, TextBlock, ToolCall
from streamllm.events import (
    BlockDelta,
    BlockEnd,
    BlockStart,
    ErrorInfo,
    LLMEnd,
    ToolEnd,
    ToolError,
    ToolStart,
    parse_event,
)
from streamllm.outputs import Generation, LLMResult
from streamllm.usage import TokenUsage


def common(**extra: Any) -> dict[str, Any]:
    run = uuid4()
    fields = {"run_id": run, "trace_id": run, "seq": 1, "time": 1.0, "monotonic": 2.0, "name": "m"}
    return {**fields, **extra}


MESSAGE = AIMessage(
    id="msg-1",
    content_blocks=(
        ReasoningBlock(text="think", signature="sig"),
        TextBlock(text="Hi"),
        ToolCall(id="c1", name="get", args={"city": "Oslo", "days": [1, 2]}),
        InvalidToolCall(id="c2", name="get", args_text='{"city": ', error="not JSON"),
    ),
    usage=TokenUsage.of(3, 4, reasoning_tokens=2),
    finish_reason="tool_calls",
    response_metadata={"finish_reason": "tool_calls"},
)


@pytest.mark.parametrize(
    "event",
    [
        BlockStart(**common(block=0, kind="tool_call", id="c1", tool_name="get")),
        BlockStart(**common(block=2, kind="text")),
        BlockDelta(**common(block=1, kind="reasoning", delta="\ud83d half an emoji")),
        *(BlockEnd(**common(block=i, content=b)) for i, b in enumerate(MESSAGE.content_blocks)),
        ToolStart(**common(tool_call_id="c1", args={"city": "Oslo", "n": [1, {"a": None}]})),
        ToolEnd(**common(output={"temp": 3.5, "ok": True})),
        ToolEnd(**common(output="plain text")),
        ToolError(**common(error=ErrorInfo(type="ValueError", message="bad"), reason="failed")),
        LLMEnd(
            **common(result=LLMResult(generations=((Generation(text="Hi"),),), message=MESSAGE))
        ),
    ],
    ids=lambda e: e.type,
)
def test_each_new_event_reads_back_equal(event: Any) -> None:
    """A recording of any chat event (blocks, tool runs, a result with a message) replays equal."""
    again = parse_event(event.model_dump_json())
    assert again == event
    assert type(again) is type(event)


def test_payloads_are_read_only() -> None:
    """A handler cannot change the tool arguments the next handler (or the tool) sees."""
    start = ToolStart(**common(tool_call_id="c1", args={"a": {"b": 1}}))
    inner = start.args["a"]
    assert isinstance(inner, dict)
    with pytest.raises(TypeError):
        inner["b"] = 2
    end = BlockEnd(**common(block=0, content=ToolCall(id="c", name="f", args={"x": [1]})))
    assert isinstance(end.content, ToolCall)
    args_x = end.content.args["x"]
    assert isinstance(args_x, list)
    with pytest.raises(TypeError):
        args_x.append(2)
    assert isinstance(end.content.args, FrozenDict)


def test_tool_end_fails_into_its_error_twin() -> None:
    """A raise_error handler failing on ToolEnd turns it into ToolError: same run and seq."""
    end = ToolEnd(**common(output=1))
    failed = end.as_failure(ErrorInfo(type="X", message="y"))
    assert isinstance(failed, ToolError)
    assert (failed.run_id, failed.seq, failed.reason) == (end.run_id, end.seq, "failed")
    assert parse_event(failed.model_dump_json()) == failed


def test_lifecycle_tables_know_the_new_kinds() -> None:
    """Tool runs have one terminal each; block deltas may be dropped, block ends never."""
    assert {ToolEnd.slot, ToolError.slot} <= TERMINAL
    assert ToolEnd.slot in ENDS
    assert BlockDelta.slot in DROPPABLE
    assert not {BlockStart.slot, BlockEnd.slot, ToolStart.slot} & (DROPPABLE | TERMINAL)


def test_result_message_defaults_to_none_and_combine_keeps_a_single_runs_message() -> None:
    """A text result has no message; combining one chat run keeps it, several runs drop it."""
    text = LLMResult(generations=((Generation(text="a"),),))
    assert text.message is None
    chat = LLMResult(generations=((Generation(text="Hi"),),), message=MESSAGE)
    assert LLMResult.combine([chat]).message == MESSAGE
    assert LLMResult.combine([chat, chat]).message is None
