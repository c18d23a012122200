"""The assembler: per block start, deltas, end, in order; the chunks add up to the message."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamllm.chat import (
    AIMessage,
    AIMessageChunk,
    Assembler,
    ChatDelta,
    InvalidToolCall,
    ReasoningBlock,
    TextBlock,
    ToolCall,
)
from streamllm.errors import StreamProtocolError
from tests.chat.strategies import anthropic_scripts, object_or_none, openai_scripts

scripts = openai_scripts() | anthropic_scripts()


def _events(chunks: list[AIMessageChunk]) -> list[tuple[Any, ...]]:
    """What a driver emits for these chunks, in order (as the assembler's docstring says)."""
    out: list[tuple[Any, ...]] = []
    for chunk in chunks:
        for p in chunk.pieces:
            if p.first:
                out.append(("start", p.block, p.kind, p.id, p.name))
            if p.text:
                out.append(("delta", p.block, p.kind, p.text))
            if p.last:
                out.append(("end", p.block, p.content))
    return out


def _raw(block: Any) -> str:
    if isinstance(block, TextBlock | ReasoningBlock):
        return block.text
    if isinstance(block, InvalidToolCall):
        return block.args_text
    raise AssertionError(block)


def _check_blocks(events: list[tuple[Any, ...]], blocks: tuple[Any, ...], ended: bool) -> None:
    """Per block: one start first, deltas joined equal the block, one end last (when ended)."""
    for pos, block in enumerate(blocks):
        mine = [e for e in events if e[1] == pos]
        assert mine, pos
        assert mine[0][0] == "start", mine
        assert [e[0] for e in mine].count("start") == 1
        ends = [i for i, e in enumerate(mine) if e[0] == "end"]
        if ended:
            assert ends == [len(mine) - 1]
            assert mine[-1][2] == block
        joined = "".join(e[3] for e in mine if e[0] == "delta")
        if isinstance(block, ToolCall):
            assert (json.loads(joined) if joined.strip() else {}) == block.args
            assert mine[0][3:5] == (block.id, block.name)
        else:
            assert joined == _raw(block)
    assert {e[1] for e in events} == set(range(len(blocks)))


def _expected_blocks(expected: list[tuple[str, Any]]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for kind, value in expected:
        if kind == "tool_call":
            call_id, name, text = value
            args = object_or_none(text)
            out.append(
                ("bad", call_id, name, text) if args is None else ("call", call_id, name, args)
            )
        else:
            out.append((kind, value))
    return out


def _shape(message: AIMessage) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for b in message.content_blocks:
        if isinstance(b, ToolCall):
            out.append(("call", b.id, b.name, b.args))
        elif isinstance(b, InvalidToolCall):
            out.append(("bad", b.id, b.name, b.args_text))
        else:
            out.append((b.type, b.text))
    return out


@settings(max_examples=150, deadline=None)
@given(scripts)
def test_a_whole_stream_keeps_every_block_guarantee(script: Any) -> None:
    """Random layouts and interleavings: the guarantees per block, and sum(chunks) == message."""
    deltas, expected = script
    asm = Assembler()
    chunks = [asm.chunk(p) for p in map(asm.feed, deltas) if p]
    last, message = asm.finish()
    chunks.append(last)
    assert _shape(message) == _expected_blocks(expected)
    events = _events(chunks)
    _check_blocks(events, message.content_blocks, ended=True)
    assert sum(chunks).to_message() == message  # type: ignore[union-attr]


@settings(max_examples=150, deadline=None)
@given(scripts, st.data())
def test_a_broken_stream_gives_the_blocks_as_far_as_they_came(
    script: Any, data: st.DataObject
) -> None:
    """Stopped at any point: partial() holds every fragment so far, raw arguments included."""
    deltas, _ = script
    cut = data.draw(st.integers(0, len(deltas)))
    asm = Assembler()
    chunks = [asm.chunk(p) for p in map(asm.feed, deltas[:cut]) if p]
    partial = asm.partial()
    events = _events(chunks)
    for pos, block in enumerate(partial.content_blocks):
        mine = [e for e in events if e[1] == pos]
        joined = "".join(e[3] for e in mine if e[0] == "delta")
        if isinstance(block, ToolCall):
            assert (json.loads(joined) if joined.strip() else {}) == block.args
        else:
            assert joined == _raw(block)
        if mine[-1][0] == "end":
            assert mine[-1][2] == block
    if chunks:
        assert sum(chunks).to_message().content_blocks == partial.content_blocks  # type: ignore[union-attr]
    else:
        assert partial.content_blocks == ()


def test_reasoning_then_text_then_parallel_calls() -> None:
    """An OpenAI-style stream: reasoning ends when text starts, calls by index interleave."""
    asm = Assembler()
    deltas = [
        ChatDelta("meta", id="chatcmpl-1", metadata={"model_name": "m"}),
        ChatDelta("reasoning", "Let me "),
        ChatDelta("reasoning", "see."),
        ChatDelta("text", "Checking."),
        ChatDelta("tool", '{"city": ', 0, "call_a", "weather"),
        ChatDelta("tool", "{", 1, "call_b", "time"),
        ChatDelta("tool", '"Paris"}', 0),
        ChatDelta("usage", counts={"prompt_tokens": 10, "completion_tokens": 7}),
        ChatDelta("finish", "tool_calls"),
    ]
    chunks = [asm.chunk(p) for p in map(asm.feed, deltas) if p]
    ends = [e for e in _events(chunks) if e[0] == "end"]
    assert [e[1] for e in ends] == [0, 1, 2, 3]  # reasoning ended by text, text by the calls
    last, message = asm.finish()
    assert last.pieces == ()
    assert message.id == "chatcmpl-1"
    assert message.reasoning == "Let me see."
    assert message.text == "Checking."
    assert message.tool_calls == (ToolCall(id="call_a", name="weather", args={"city": "Paris"}),)
    (bad,) = message.invalid_tool_calls
    assert (bad.id, bad.name, bad.args_text) == ("call_b", "time", "{")
    assert message.finish_reason == "tool_calls"
    assert message.response_metadata == {"model_name": "m", "finish_reason": "tool_calls"}
    assert message.usage is not None
    assert message.usage.total_tokens == 17


def test_a_whole_call_is_one_start_one_delta_one_end() -> None:
    """Ollama's whole tool calls: one piece that starts, carries and ends the block; ids made up."""
    asm = Assembler()
    pieces = asm.feed(ChatDelta("tool_call", name="weather", args={"city": "Oslo"}))
    assert _events([asm.chunk(pieces)]) == [
        ("start", 0, "tool_call", "call_0", "weather"),
        ("delta", 0, "tool_call", '{"city": "Oslo"}'),
        ("end", 0, ToolCall(id="call_0", name="weather", args={"city": "Oslo"})),
    ]
    (piece,) = asm.feed(ChatDelta("tool_call", id="x", name="f", args="not json"))
    assert isinstance(piece.content, InvalidToolCall)


def test_signature_arrives_in_its_own_delta() -> None:
    """Anthropic's signature_delta: no text event, but the ended block carries the signature."""
    asm = Assembler()
    asm.feed(ChatDelta("start", "", 0, block_kind="reasoning"))
    asm.feed(ChatDelta("reasoning", "hmm", 0))
    pieces = asm.feed(ChatDelta("reasoning", "", 0, signature="sig=="))
    assert pieces
    assert _events([asm.chunk(pieces)]) == []
    (end,) = asm.feed(ChatDelta("end", index=0))
    assert end.content == ReasoningBlock(text="hmm", signature="sig==")


def test_metadata_only_deltas_yield_no_chunk() -> None:
    """Usage and meta deltas are kept for the end; the driver has nothing to yield for them."""
    asm = Assembler()
    assert asm.feed(ChatDelta("usage", counts={"prompt_tokens": 1})) == ()
    assert asm.feed(ChatDelta("meta", id="m")) == ()
    last, message = asm.finish()
    assert message.usage is not None
    assert last.usage == message.usage
    assert (message.usage.prompt_tokens, message.usage.completion_tokens) == (1, None)


@pytest.mark.parametrize(
    "deltas",
    [
        [
            ChatDelta("start", "", 0, block_kind="text"),
            ChatDelta("start", "", 0, block_kind="text"),
        ],
        [ChatDelta("text", "a", 0), ChatDelta("end", index=0), ChatDelta("text", "b", 0)],
        [ChatDelta("text", "a", 0), ChatDelta("tool", "{", 0)],
    ],
    ids=["started twice", "delta after end", "wrong kind"],
)
def test_protocol_violations_are_errors(deltas: list[ChatDelta]) -> None:
    """A vendor stream that breaks the block rules is a StreamProtocolError, not a silent mix."""
    asm = Assembler()
    with pytest.raises(StreamProtocolError):
        for d in deltas:
            asm.feed(d)


def test_finish_is_final() -> None:
    """feed() after finish() and a second finish() are driver bugs, said loudly."""
    asm = Assembler()
    asm.finish()
    with pytest.raises(RuntimeError):
        asm.finish()
    with pytest.raises(RuntimeError):
        asm.feed(ChatDelta("text", "late"))


def test_usage_counts_replace_field_by_field() -> None:
    """Anthropic's cumulative counts: the latest known value of each field wins."""
    asm = Assembler()
    asm.feed(ChatDelta("usage", counts={"prompt_tokens": 20, "completion_tokens": 1}))
    asm.feed(ChatDelta("usage", counts={"completion_tokens": 9, "prompt_tokens": None}))
    _, message = asm.finish()
    assert message.usage is not None
    assert (message.usage.prompt_tokens, message.usage.completion_tokens) == (20, 9)
    assert message.usage.total_tokens == 29
    assert message.usage.source == "provider"


def test_tool_fragments_without_an_index() -> None:
    """Servers that number no calls: a new id starts a call, fragments without one continue it."""
    asm = Assembler()
    for d in [
        ChatDelta("tool", '{"a":', id="c1", name="f"),
        ChatDelta("tool", " 1}"),
        ChatDelta("tool", "{}", id="c2", name="g"),
        ChatDelta("tool", "", id="c2"),
        ChatDelta("text", "done"),
    ]:
        asm.feed(d)
    _, message = asm.finish()
    assert message.content_blocks == (
        ToolCall(id="c1", name="f", args={"a": 1}),
        ToolCall(id="c2", name="g", args={}),
        TextBlock(text="done"),
    )


def test_finish_ends_open_blocks_in_position_order() -> None:
    """OpenAI sends no block ends: the finish reason ends every open block, by position."""
    asm = Assembler()
    asm.feed(ChatDelta("tool", "{}", 1, "b", "g"))
    asm.feed(ChatDelta("tool", "{}", 0, "a", "f"))
    ends = asm.feed(ChatDelta("finish", "tool_calls"))
    assert [(p.block, p.last, p.content) for p in ends] == [
        (0, True, ToolCall(id="b", name="g", args={})),
        (1, True, ToolCall(id="a", name="f", args={})),
    ]
    last, _ = asm.finish()
    assert last.pieces == ()


_any_delta = st.builds(
    ChatDelta,
    kind=st.sampled_from(
        ["text", "reasoning", "tool", "tool_call", "start", "end", "usage", "finish", "meta"]
    ),
    text=st.sampled_from(["", "a", "{", "}", '{"k": 1}']),
    index=st.none() | st.integers(0, 2),
    id=st.none() | st.sampled_from(["x", "y"]),
    name=st.none() | st.just("f"),
    signature=st.none() | st.just("s"),
    block_kind=st.none() | st.sampled_from(["text", "reasoning", "tool_call"]),
    args=st.none() | st.just({"a": 1}) | st.just("raw"),
    counts=st.none() | st.just({"prompt_tokens": 1}),
    metadata=st.none() | st.just({"model_name": "m"}),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_any_delta, max_size=12))
def test_any_delta_sequence_is_a_message_or_a_protocol_error(deltas: list[ChatDelta]) -> None:
    """Garbage in: pieces keeping the block rules, or a StreamProtocolError; nothing else."""
    asm = Assembler()
    chunks: list[AIMessageChunk] = []
    try:
        for d in deltas:
            pieces = asm.feed(d)
            if pieces:
                chunks.append(asm.chunk(pieces))
    except StreamProtocolError:
        partial = asm.partial()
        if chunks:
            total = sum(chunks)
            assert isinstance(total, AIMessageChunk)
            assert total.to_message().content_blocks == partial.content_blocks
        return
    last, message = asm.finish()
    chunks.append(last)
    _check_blocks(_events(chunks), message.content_blocks, ended=True)
    assert sum(chunks).to_message() == message  # type: ignore[union-attr]
