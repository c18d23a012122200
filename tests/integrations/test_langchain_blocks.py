"""A LangChain chat stream with reasoning and tool calls becomes streamllm's block events."""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, LLMResult

from streamllm.chat import ReasoningBlock, TextBlock, ToolCall
from streamllm.events import BlockDelta, BlockEnd, BlockStart, LLMEnd, LLMError, NewToken
from streamllm.integrations.langchain import StreamLLMCallbackHandler, from_langchain
from streamllm.testing import RecordingHandler
from tests.integrations.conftest import CallRecorder, assert_well_formed

# What langchain-anthropic streams for "think, say, call a tool" (content blocks by index).
CHUNKS = [
    AIMessageChunk(content=[{"type": "thinking", "thinking": "Paris?", "index": 0}]),
    AIMessageChunk(content=[{"type": "text", "text": "Let me", "index": 1}]),
    AIMessageChunk(content=[{"type": "text", "text": " check.", "index": 1}]),
    AIMessageChunk(
        content="",
        tool_call_chunks=[{"name": "weather", "args": '{"city": ', "id": "call_1", "index": 2}],
    ),
    AIMessageChunk(
        content="", tool_call_chunks=[{"name": None, "args": '"Paris"}', "id": None, "index": 2}]
    ),
]
FINAL = AIMessage(
    content="Let me check.",
    tool_calls=[{"name": "weather", "args": {"city": "Paris"}, "id": "call_1"}],
    usage_metadata={"input_tokens": 12, "output_tokens": 9, "total_tokens": 21},
    response_metadata={"stop_reason": "tool_use"},
)


def _stream(handler: Any, run_id: uuid.UUID, upto: int | None = None) -> None:
    handler.on_chat_model_start({"name": "ChatAnthropic"}, [[]], run_id=run_id)
    for chunk in CHUNKS[:upto]:
        handler.on_llm_new_token(
            chunk.content, chunk=ChatGenerationChunk(message=chunk), run_id=run_id
        )


def test_blocks_stream_in_order_and_end_before_the_run() -> None:
    """Reasoning, text and a tool call each get BlockStart, their fragments
    (NewToken for text, BlockDelta otherwise), and BlockEnd with the finished
    block, all before LLMEnd, whose message holds the same blocks."""
    rec = RecordingHandler()
    handler, run_id = StreamLLMCallbackHandler([rec]), uuid.uuid4()
    _stream(handler, run_id)
    handler.on_llm_end(LLMResult(generations=[[ChatGeneration(message=FINAL)]]), run_id=run_id)
    shown = [
        (type(e).__name__, getattr(e, "block", None))
        for e in rec.events
        if isinstance(e, BlockStart | BlockDelta | BlockEnd | NewToken)
    ]
    assert shown == [
        ("BlockStart", 0),
        ("BlockDelta", 0),
        ("BlockStart", 1),
        ("NewToken", 1),
        ("NewToken", 1),
        ("BlockStart", 2),
        ("BlockDelta", 2),
        ("BlockDelta", 2),
        ("BlockEnd", 0),
        ("BlockEnd", 1),
        ("BlockEnd", 2),
    ]
    (tool_start,) = [e for e in rec.of_type(BlockStart) if e.kind == "tool_call"]
    assert (tool_start.id, tool_start.tool_name) == ("call_1", "weather")
    blocks = (
        ReasoningBlock(text="Paris?"),
        TextBlock(text="Let me check."),
        ToolCall(id="call_1", name="weather", args={"city": "Paris"}),
    )
    assert tuple(e.content for e in rec.of_type(BlockEnd)) == blocks
    (end,) = rec.of_type(LLMEnd)
    assert rec.events[-1] is end
    assert end.result.message is not None
    assert end.result.message.content_blocks == blocks
    assert end.result.message.finish_reason == "tool_calls"
    assert end.result.usage is not None
    assert end.result.usage.total_tokens == 21
    assert end.result.text == "Let me check." == "".join(rec.tokens())
    assert_well_formed(rec.events)


def test_a_failure_mid_stream_sends_no_block_end() -> None:
    """After a failure no further BlockEnd; the partial message has the blocks
    as far as they came, raw tool arguments included."""
    rec = RecordingHandler()
    handler, run_id = StreamLLMCallbackHandler([rec]), uuid.uuid4()
    _stream(handler, run_id, upto=4)
    handler.on_llm_error(ConnectionError("reset"), run_id=run_id)
    assert rec.of_type(BlockEnd) == []
    (error,) = rec.of_type(LLMError)
    partial = error.partial.message
    assert partial is not None
    assert [b.type for b in partial.content_blocks] == ["reasoning", "text", "invalid_tool_call"]
    assert partial.content_blocks[2].args_text == '{"city": '  # type: ignore[union-attr]


def test_blocks_round_trip_to_a_langchain_handler() -> None:
    """Through both bridges a LangChain handler's chunks still add up to the
    tool call and the text LangChain streamed."""
    recorder = CallRecorder()
    handler, run_id = StreamLLMCallbackHandler([from_langchain(recorder)]), uuid.uuid4()
    _stream(handler, run_id)
    handler.on_llm_end(LLMResult(generations=[[ChatGeneration(message=FINAL)]]), run_id=run_id)
    chunks = [kw["chunk"].message for _, kw in recorder.of("on_llm_new_token")]
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert total.text == "Let me check."
    assert total.tool_calls == [
        {"name": "weather", "args": {"city": "Paris"}, "id": "call_1", "type": "tool_call"}
    ]
