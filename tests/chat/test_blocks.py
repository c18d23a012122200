"""Blocks: one discriminated union on ``type`` that survives a JSON round trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from pydantic import TypeAdapter, ValidationError

from streamllm.chat import AIMessage, Block, InvalidToolCall, ReasoningBlock, TextBlock, ToolCall
from tests.chat.strategies import blocks

_ADAPTER: TypeAdapter[Block] = TypeAdapter(Block)


@settings(max_examples=60, deadline=None)
@given(blocks)
def test_a_block_survives_json(block: Block) -> None:
    """Dumped to JSON and read back through the union, a block is equal and of the same class."""
    again = _ADAPTER.validate_json(_ADAPTER.dump_json(block))
    assert again == block
    assert type(again) is type(block)


def test_the_type_field_selects_the_class() -> None:
    """``type`` picks the block class; an unknown type is refused."""
    assert isinstance(_ADAPTER.validate_python({"type": "reasoning", "text": "hm"}), ReasoningBlock)
    call = _ADAPTER.validate_python({"type": "tool_call", "id": "c", "name": "f", "args": {}})
    assert isinstance(call, ToolCall)
    with pytest.raises(ValidationError):
        _ADAPTER.validate_python({"type": "image", "url": "x"})


def test_blocks_are_frozen_and_strict() -> None:
    """Blocks cannot be changed, and unknown fields are refused."""
    block = TextBlock(text="a")
    with pytest.raises(ValidationError):
        block.text = "b"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        TextBlock(text="a", extra=1)  # type: ignore[call-arg]


def test_message_properties_read_the_blocks() -> None:
    """``text``/``content`` join text blocks, ``reasoning`` joins reasoning, calls are split."""
    call = ToolCall(id="c1", name="f", args={"x": 1})
    bad = InvalidToolCall(id="c2", name="g", args_text="{", error="not JSON")
    message = AIMessage(
        content_blocks=[
            ReasoningBlock(text="think "),
            TextBlock(text="Hello "),
            call,
            ReasoningBlock(text="more"),
            TextBlock(text="world"),
            bad,
        ]
    )
    assert message.text == message.content == "Hello world"
    assert message.reasoning == "think more"
    assert message.tool_calls == (call,)
    assert message.invalid_tool_calls == (bad,)
    assert message.role == "assistant"
    assert AIMessage.model_validate_json(message.model_dump_json()) == message
