"""LangChain chat chunks through streamllm's chat assembler: blocks with their boundaries."""

from __future__ import annotations

from langchain_core.messages import AIMessageChunk

from streamllm.chat import Assembler, ReasoningBlock, TextBlock, ToolCall
from streamllm.integrations._lc_deltas import chat_deltas


def _assemble(chunks: list[AIMessageChunk]) -> tuple[list[tuple[int, str, str, bool]], object]:
    asm = Assembler()
    pieces = [p for chunk in chunks for d in chat_deltas(chunk) for p in asm.feed(d)]
    _last, message = asm.finish()
    shown = [(p.block, p.kind, p.text, p.first) for p in pieces]
    return shown, message


def test_anthropic_style_chunks_become_reasoning_text_and_tool_blocks() -> None:
    """Indexed thinking, text and tool-call chunks (as langchain-anthropic
    streams them) give three blocks in order, the call's arguments parsed."""
    pieces, message = _assemble(
        [
            AIMessageChunk(content=[{"type": "thinking", "thinking": "Hm", "index": 0}]),
            AIMessageChunk(content=[{"type": "thinking", "thinking": "m.", "index": 0}]),
            AIMessageChunk(content=[{"type": "text", "text": "Let me", "index": 1}]),
            AIMessageChunk(content=[{"type": "text", "text": " check.", "index": 1}]),
            AIMessageChunk(
                content="",
                tool_call_chunks=[{"name": "weather", "args": '{"city": ', "id": "c1", "index": 2}],
            ),
            AIMessageChunk(
                content="",
                tool_call_chunks=[{"name": None, "args": '"Paris"}', "id": None, "index": 2}],
            ),
        ]
    )
    assert [(b, k, f) for b, k, _, f in pieces] == [
        (0, "reasoning", True),
        (0, "reasoning", False),
        (1, "text", True),
        (1, "text", False),
        (2, "tool_call", True),
        (2, "tool_call", False),
    ]
    assert message.content_blocks == (  # type: ignore[attr-defined]
        ReasoningBlock(text="Hmm."),
        TextBlock(text="Let me check."),
        ToolCall(id="c1", name="weather", args={"city": "Paris"}),
    )


def test_openai_style_string_chunks_continue_one_text_block() -> None:
    """Plain string content (OpenAI's, the fakes') continues one text block;
    empty chunks carry nothing."""
    pieces, message = _assemble(
        [AIMessageChunk(content="Hel"), AIMessageChunk(content=""), AIMessageChunk(content="lo")]
    )
    assert pieces == [(0, "text", "Hel", True), (0, "text", "lo", False)]
    assert message.text == "Hello"  # type: ignore[attr-defined]
