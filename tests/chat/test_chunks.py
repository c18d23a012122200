"""AIMessageChunk: chunks add up (``+``, ``sum``) to the message, whatever the grouping."""

from __future__ import annotations

import functools
import operator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streamllm.chat import (
    AIMessage,
    AIMessageChunk,
    Assembler,
    BlockChunk,
    InvalidToolCall,
    ReasoningBlock,
    TextBlock,
    ToolCall,
    ToolCallChunk,
)
from streamllm.outputs import TokenUsage
from tests.chat.strategies import object_or_none, openai_scripts


def _stream(deltas: list[Any]) -> tuple[list[AIMessageChunk], AIMessage]:
    asm = Assembler()
    chunks = [asm.chunk(p) for p in map(asm.feed, deltas) if p]
    last, message = asm.finish()
    return [*chunks, last], message


def _reference(chunks: list[AIMessageChunk]) -> list[tuple[str, Any]]:
    """What the chunks hold, computed naively: per block, the fragments joined."""
    found: dict[int, list[Any]] = {}
    for chunk in chunks:
        for p in chunk.pieces:
            b = found.setdefault(p.block, [p.kind, p.id, p.name, "", ""])
            b[3] += p.text
            b[4] += p.signature or ""
    return [
        (b[0], (b[1], b[2], b[3]) if b[0] == "tool_call" else b[3])
        for _, b in sorted(found.items())
    ]


def _as_reference(message: AIMessage) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for block in message.content_blocks:
        if isinstance(block, TextBlock | ReasoningBlock):
            out.append((block.type, block.text))
        elif isinstance(block, ToolCall):
            out.append(("tool_call", (block.id, block.name, block.args)))
        else:
            out.append(("tool_call", (block.id, block.name, block.args_text)))
    return out


def _parsed(ref: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    out = []
    for kind, value in ref:
        if kind == "tool_call":
            call_id, name, text = value
            args = object_or_none(text)
            out.append((kind, (call_id, name, text if args is None else args)))
        else:
            out.append((kind, value))
    return out


def test_two_chunks_add_up() -> None:
    """Text pieces of one block join; usage and finish reason come along."""
    a = AIMessageChunk([BlockChunk(0, "text", "Hel", first=True)], id="m1")
    b = AIMessageChunk(
        [BlockChunk(0, "text", "lo", last=True)],
        usage=TokenUsage.of(3, 2),
        finish_reason="stop",
        response_metadata={"finish_reason": "end_turn"},
    )
    message = (a + b).to_message()
    assert message == AIMessage(
        id="m1",
        content_blocks=[TextBlock(text="Hello")],
        usage=TokenUsage.of(3, 2),
        finish_reason="stop",
        response_metadata={"finish_reason": "end_turn"},
    )
    assert sum([a, b]).to_message() == message  # type: ignore[union-attr]


def test_a_chunk_without_text_still_counts() -> None:
    """Usage-only and finish-only chunks change the sum; usages add up."""
    text = AIMessageChunk([BlockChunk(0, "text", "Hi", first=True)])
    u1 = AIMessageChunk(usage=TokenUsage.of(1, None))
    u2 = AIMessageChunk(usage=TokenUsage.of(2, 5), finish_reason="length")
    total = sum([text, u1, u2])
    assert isinstance(total, AIMessageChunk)
    assert total.text == "Hi"
    assert total.usage == TokenUsage.of(1, None) + TokenUsage.of(2, 5)
    assert total.finish_reason == "length"


def test_tool_call_chunks_join_per_call() -> None:
    """A sum has one ToolCallChunk per call, arguments joined; LangChain-shaped input works."""
    chunks = [
        AIMessageChunk([ToolCallChunk(0, "c0", "f", '{"a"')]),
        AIMessageChunk([ToolCallChunk(1, "c1", "g", "[")]),
        AIMessageChunk([ToolCallChunk(0, None, None, ": 1}")]),
    ]
    total = sum(chunks)
    assert isinstance(total, AIMessageChunk)
    assert total.tool_call_chunks == (
        ToolCallChunk(0, "c0", "f", '{"a": 1}'),
        ToolCallChunk(1, "c1", "g", "["),
    )
    assert total.tool_calls == (ToolCall(id="c0", name="f", args={"a": 1}),)
    (bad,) = total.invalid_tool_calls
    assert isinstance(bad, InvalidToolCall)
    assert bad.args_text == "["


def test_a_single_chunk_reads_its_own_pieces() -> None:
    """``text`` and ``reasoning`` of one chunk are its fragments, not a whole message."""
    chunk = AIMessageChunk(
        [BlockChunk(0, "reasoning", "hm"), BlockChunk(1, "text", "Hi", first=True)]
    )
    assert (chunk.text, chunk.content, chunk.reasoning) == ("Hi", "Hi", "hm")


@settings(max_examples=80, deadline=None)
@given(openai_scripts(), st.data())
def test_any_grouping_gives_the_same_message(script: Any, data: st.DataObject) -> None:
    """Left fold, sum(), pairwise trees and branching from a stale sum all agree."""
    deltas, _ = script
    chunks, message = _stream(deltas)
    assert sum(chunks).to_message() == message  # type: ignore[union-attr]
    assert _parsed(_reference(chunks)) == _as_reference(message)

    # A tree: add neighbours pairwise until one is left.
    level = list(chunks)
    while len(level) > 1:
        level = [
            level[i] + level[i + 1] if i + 1 < len(level) else level[i]
            for i in range(0, len(level), 2)
        ]
    assert level[0].to_message() == message

    # Branching: x + rest, then x + rest again. x must still read as it was.
    cut = data.draw(st.integers(1, len(chunks) - 1)) if len(chunks) > 1 else 1
    x = sum(chunks[:cut])
    assert isinstance(x, AIMessageChunk)
    before = x.to_message()
    rest = chunks[cut:]
    y = x + functools.reduce(operator.add, rest) if rest else x
    z = x + functools.reduce(operator.add, rest) if rest else x
    assert y.to_message() == z.to_message() == message
    assert _parsed(_reference(chunks[:cut])) == _as_reference(x.to_message())
    x._message = None  # read the stale sum again, not its cache
    assert x.to_message() == before


def test_sum_of_nothing_is_zero() -> None:
    """sum() keeps Python's meaning for an empty stream."""
    assert sum([]) == 0


def test_chunks_compare_by_their_message() -> None:
    """Two chunks are equal when they add up to the same message."""
    a = AIMessageChunk([BlockChunk(0, "text", "ab", first=True)])
    b = AIMessageChunk([BlockChunk(0, "text", "a")]) + AIMessageChunk([BlockChunk(0, "text", "b")])
    assert a == b
    assert a != AIMessageChunk([BlockChunk(0, "text", "abc")])
