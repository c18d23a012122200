"""BaseChatModel through FakeChatModel: the Runnable interface with messages and blocks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel

from streamllm import ConfigurationError, StreamProtocolError
from streamllm.chat import AIMessage, AIMessageChunk, InvalidToolCall, ToolCall
from streamllm.chat.deltas import ChatDelta
from streamllm.events import (
    BlockDelta,
    BlockEnd,
    BlockStart,
    LLMEnd,
    LLMError,
    LLMStart,
    NewToken,
)
from streamllm.models.chat import BaseChatModel
from streamllm.models.fake_chat import FakeChatModel
from streamllm.request import Request
from streamllm.testing import RecordingHandler

SCRIPT: dict[str, Any] = {
    "reasoning": "The user wants the weather in two cities.",
    "text": "Let me look both up.",
    "tool_calls": [
        {"id": "c1", "name": "weather", "args": {"city": "Oslo"}},
        {"id": "c2", "name": "weather", "args_text": '{"city": "Ber'},
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42},
}


def model(**kwargs: Any) -> FakeChatModel:
    return FakeChatModel(responses=[SCRIPT], interleave=True, args_fragment=4, **kwargs)


def test_invoke_returns_the_message_and_stream_sums_to_it() -> None:
    """invoke gives an AIMessage; the chunks of stream add up to the same message."""
    answer = model().invoke("weather?")
    assert isinstance(answer, AIMessage)
    assert answer.reasoning == SCRIPT["reasoning"]
    assert answer.text == SCRIPT["text"]
    assert answer.tool_calls == (ToolCall(id="c1", name="weather", args={"city": "Oslo"}),)
    assert [c.args_text for c in answer.invalid_tool_calls] == ['{"city": "Ber']
    assert answer.finish_reason == "tool_calls"
    assert answer.usage is not None
    assert answer.usage.total_tokens == 42
    chunks = list(model().stream("weather?"))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert sum(chunks).to_message() == answer  # type: ignore[union-attr]
    # The last chunk carries no text but the usage and finish reason: still yielded.
    assert chunks[-1].text == ""
    assert chunks[-1].usage is not None


def test_events_per_block_and_result_message() -> None:
    """Each block: start, deltas (NewToken for text), end; LLMEnd carries the message."""
    recorder = RecordingHandler()
    answer = model(streaming=True).invoke("weather?", callbacks=[recorder])
    events = recorder.events
    # A chat run always carries messages: the str became one user message.
    assert isinstance(events[0], LLMStart)
    assert events[0].messages is not None
    assert [(m.role, m.text) for m in events[0].messages] == [("user", "weather?")]
    assert isinstance(events[-1], LLMEnd)
    assert events[-1].result.message == answer
    assert events[-1].result.text == answer.text
    starts = [e for e in events if isinstance(e, BlockStart)]
    assert [(s.block, s.kind) for s in starts] == [
        (0, "reasoning"),
        (1, "text"),
        (2, "tool_call"),
        (3, "tool_call"),
    ]
    assert (starts[2].id, starts[2].tool_name) == ("c1", "weather")
    tokens = [e for e in events if isinstance(e, NewToken)]
    assert {t.block for t in tokens} == {1}
    assert "".join(t.token for t in tokens) == answer.text
    for block, content in enumerate(answer.content_blocks):
        deltas = [e.delta for e in events if isinstance(e, BlockDelta) and e.block == block]
        end = [e for e in events if isinstance(e, BlockEnd) and e.block == block]
        assert [e.content for e in end] == [content]
        if isinstance(content, InvalidToolCall):
            assert "".join(deltas) == content.args_text


def test_a_provider_with_generate_streams_only_when_asked() -> None:
    """A provider with _generate: invoke fires only the lifecycle events (as for text
    models); stream still works, from the whole message, with every block event."""

    class Whole(BaseChatModel):
        def _generate(self, request: Request) -> AIMessage:
            return FakeChatModel(responses=[SCRIPT]).invoke("x")

    recorder = RecordingHandler()
    answer = Whole().invoke("weather?", callbacks=[recorder])
    assert [type(e).__name__ for e in recorder.events] == ["LLMStart", "LLMEnd"]
    assert recorder.events[-1].result.message == answer  # type: ignore[attr-defined]
    assert sum(Whole().stream("x")).to_message() == answer  # type: ignore[union-attr]
    streamed = Whole(streaming=True).invoke("x", callbacks=[recorder])
    assert streamed == answer
    assert any(isinstance(e, BlockEnd) for e in recorder.events)


def test_async_forms_batch_and_generate() -> None:
    """ainvoke, astream, abatch, generate and stream_events agree with invoke."""
    expected = model().invoke("x")

    async def main() -> tuple[AIMessage, AIMessage, list[AIMessage]]:
        chunks = [c async for c in model().astream("x")]
        summed = sum(chunks, AIMessageChunk(())).to_message()
        return await model().ainvoke("x"), summed, await model().abatch(["a", "b"])

    one, summed, batch = asyncio.run(main())
    assert one == summed == expected
    assert batch == [expected, expected]
    assert model().batch(["a", "b", "c"], max_concurrency=2) == [expected] * 3
    result = model().generate(["a", "b"])
    assert [g[0].text for g in result.generations] == [expected.text] * 2
    kinds = [e.type for e in model().stream_events("x")]
    assert kinds[0] == "llm_start"
    assert kinds[-1] == "llm_end"
    assert "block_end" in kinds


def test_a_failure_mid_stream_ends_with_the_partial_message() -> None:
    """A provider failing mid-call: LLMError.partial.message holds the blocks so far."""

    class Broken(FakeChatModel):
        def _stream(self, request: Request) -> Any:
            for i, delta in enumerate(super()._stream(request)):
                if i == 8:
                    raise RuntimeError("connection reset")
                yield delta

    recorder = RecordingHandler()
    broken = Broken(responses=[SCRIPT], interleave=True, args_fragment=4)
    with pytest.raises(RuntimeError, match="connection reset"):
        for _ in broken.stream("x", callbacks=[recorder]):
            pass
    last = recorder.events[-1]
    assert isinstance(last, LLMError)
    assert last.reason == "failed"
    partial = last.partial.message
    assert partial is not None
    ended = [e.block for e in recorder.events if isinstance(e, BlockEnd)]
    assert len(partial.content_blocks) > len(ended)


def test_bind_tools_offers_the_tools_and_refuses_bad_ones() -> None:
    """bind_tools: a new model whose requests carry the tools; bad tools and choices are refused."""

    class Weather(BaseModel):
        """Get the weather."""

        city: str

    seen: list[Request] = []

    class Spy(FakeChatModel):
        def _stream(self, request: Request) -> Any:
            seen.append(request)
            yield from super()._stream(request)

    base = Spy(responses=["ok"])
    bound = base.bind_tools([Weather], tool_choice="Weather")
    bound.invoke("x")
    assert [t.name for t in seen[0].tools] == ["Weather"]
    assert base.tools == ()
    assert "tools" not in bound.invocation_params
    with pytest.raises(ConfigurationError, match="tool_choice"):
        base.bind_tools([Weather], tool_choice="Nope")
    with pytest.raises(ConfigurationError):
        base.bind_tools([object()])

    class NoTools(FakeChatModel):
        supports_tools = False

    with pytest.raises(ConfigurationError, match="cannot be offered tools"):
        NoTools(responses=["x"]).bind_tools([Weather])


def test_raw_deltas_and_a_protocol_break() -> None:
    """A scripted delta list streams as given; a stream breaking the block rules fails the run."""
    raw = [ChatDelta("text", "Hi"), ChatDelta("finish", "stop")]
    assert FakeChatModel(responses=[raw]).invoke("x").text == "Hi"
    bad = [
        ChatDelta("start", index=0, block_kind="text"),
        ChatDelta("start", index=0, block_kind="text"),
    ]
    recorder = RecordingHandler()
    with pytest.raises(StreamProtocolError):
        FakeChatModel(responses=[bad], streaming=True).invoke("x", callbacks=[recorder])
    assert isinstance(recorder.events[-1], LLMError)


def test_abandoned_and_cancelled_chat_runs_end_once_with_the_partial_message() -> None:
    """close(), garbage collection and task cancellation each end the run once,
    cancelled, with the blocks streamed so far (and no BlockEnd after it)."""
    import gc

    recorder = RecordingHandler()
    stream = model().stream("x", callbacks=[recorder])
    got = [next(stream), next(stream), next(stream)]
    del stream
    gc.collect()
    last = recorder.events[-1]
    assert isinstance(last, LLMError)
    assert last.reason == "cancelled"
    assert last.partial.message is not None
    assert last.partial.message.content_blocks == sum(got).to_message().content_blocks  # type: ignore[union-attr]
    assert [type(e) for e in recorder.events].count(LLMError) == 1

    slow = FakeChatModel(responses=[SCRIPT], delay=0.02)
    recorder = RecordingHandler()

    async def consume() -> None:
        async for _ in slow.astream("x", callbacks=[recorder]):
            pass

    async def main() -> None:
        task = asyncio.create_task(consume())
        await asyncio.sleep(0.15)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    last = recorder.events[-1]
    assert isinstance(last, LLMError)
    assert last.reason == "cancelled"
    assert any(isinstance(e, BlockStart) for e in recorder.events)


def test_input_shapes_reach_the_provider_as_one_message_class() -> None:
    """Tuples, aliases, tool messages and an earlier AIMessage arrive as Messages."""
    seen: list[Request] = []

    class Spy(FakeChatModel):
        def _stream(self, request: Request) -> Any:
            seen.append(request)
            yield from super()._stream(request)

    first = model().invoke("weather?")
    Spy(responses=["It is 3 C in Oslo."]).invoke(
        [
            ("system", "Be brief."),
            ("human", "Weather in Oslo?"),
            first,
            {"role": "tool", "content": "3 C", "tool_call_id": "c1"},
        ]
    )
    messages = seen[0].messages
    assert messages is not None
    assert [m.role for m in messages] == ["system", "user", "assistant", "tool"]
    assert messages[2].blocks == first.content_blocks
    with pytest.raises(ConfigurationError, match="tool_call_id"):
        Spy(responses=["x"]).invoke([{"role": "tool", "content": "3 C"}])
