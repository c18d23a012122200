"""deltas_for: a message streamed from its own script assembles back to itself."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streamllm.chat import AIMessage, Assembler, ChatDelta, TextBlock, ToolCall
from streamllm.chat.script import deltas_for, words
from streamllm.outputs import TokenUsage
from tests.chat.strategies import anthropic_scripts, openai_scripts


def _assemble(deltas: list[ChatDelta]) -> AIMessage:
    asm = Assembler()
    for d in deltas:
        asm.feed(d)
    return asm.finish()[1]


@settings(max_examples=100, deadline=None)
@given(openai_scripts() | anthropic_scripts(), st.booleans(), st.integers(1, 12))
def test_a_message_survives_its_script(script: Any, interleave: bool, size: int) -> None:
    """Any assembled message, streamed again through deltas_for, comes back equal."""
    message = _assemble(script[0])
    assert _assemble(deltas_for(message, args_fragment=size, interleave=interleave)) == message


def test_adjacent_blocks_stay_apart_and_usage_and_finish_come_back() -> None:
    """Two text blocks in a row stay two blocks; interleaved calls alternate their fragments."""
    message = AIMessage(
        id="m",
        content_blocks=[
            TextBlock(text="one "),
            TextBlock(text="two"),
            ToolCall(id="a", name="f", args={"k": "vvvvvvvv"}),
            ToolCall(id="b", name="g", args={"k": "wwwwwwww"}),
        ],
        usage=TokenUsage.of(3, 4),
        finish_reason="tool_calls",
        response_metadata={"model_name": "fake", "finish_reason": "tool_calls"},
    )
    deltas = deltas_for(message, args_fragment=4, interleave=True)
    assert _assemble(deltas) == message
    calls = [d.index for d in deltas if d.kind == "tool"]
    assert calls[:4] == [2, 3, 2, 3]


def test_words_keep_their_spaces() -> None:
    """Joined, the words are the text."""
    text = "  lead, mid  end\n"
    assert "".join(words(text)) == text
