"""A finished message as the deltas that stream it: scripts for fake chat models and tests.

:func:`deltas_for` turns an :class:`~streamllm.chat.message.AIMessage` into
numbered deltas (each block: a start, its fragments, an end), so assembling
them gives the message back, block for block: ``invoke`` and ``sum(stream)``
of a fake model agree by construction.

>>> from streamllm.chat import Assembler, TextBlock, ToolCall
>>> message = AIMessage(content_blocks=[TextBlock(text="Hi there"),
...                                     ToolCall(id="c1", name="f", args={"x": 1})])
>>> asm = Assembler()
>>> pieces = [p for d in deltas_for(message) for p in asm.feed(d)]
>>> asm.finish()[1] == message
True
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Literal

from streamllm.chat.blocks import Block, InvalidToolCall, ReasoningBlock, TextBlock, ToolCall
from streamllm.chat.deltas import ChatDelta
from streamllm.chat.message import AIMessage

__all__ = ["deltas_for", "words"]

_WORD = re.compile(r"\S+\s*|\s+")


def words(text: str) -> list[str]:
    """``text`` cut into words that keep their trailing spaces (as FakeListLLM streams).

    >>> words("Hello  big world")
    ['Hello  ', 'big ', 'world']
    """
    return _WORD.findall(text)


def deltas_for(
    message: AIMessage, *, args_fragment: int = 8, interleave: bool = False
) -> list[ChatDelta]:
    """The deltas that stream ``message``: text and reasoning word by word, arguments
    in ``args_fragment``-character pieces, then usage and the finish reason.

    With ``interleave``, the argument fragments of consecutive tool calls
    alternate, as parallel calls do on the wire.
    """
    out: list[ChatDelta] = [
        ChatDelta(
            "meta",
            id=message.id,
            metadata={k: v for k, v in message.response_metadata.items() if k != "finish_reason"},
        )
    ]
    blocks = list(enumerate(message.content_blocks))
    i = 0
    while i < len(blocks):
        group = [blocks[i]]
        if interleave and _is_call(blocks[i][1]):
            while i + len(group) < len(blocks) and _is_call(blocks[i + len(group)][1]):
                group.append(blocks[i + len(group)])
        out += _group(group, args_fragment)
        i += len(group)
    usage = message.usage
    if usage is not None:
        out.append(ChatDelta("usage", counts=usage.model_dump(exclude={"source"})))
    finish = message.response_metadata.get("finish_reason", message.finish_reason)
    if finish is not None:
        out.append(ChatDelta("finish", str(finish)))
    return out


def _is_call(block: Block) -> bool:
    return isinstance(block, ToolCall | InvalidToolCall)


def _group(group: list[tuple[int, Block]], size: int) -> list[ChatDelta]:
    """Starts, fragments (round robin across the group) and ends of some blocks."""
    out = [_start(index, block) for index, block in group]
    bodies = [list(_body(index, block, size)) for index, block in group]
    for step in range(max((len(b) for b in bodies), default=0)):
        out += [body[step] for body in bodies if step < len(body)]
    out += [ChatDelta("end", index=index) for index, _ in group]
    return out


def _start(index: int, block: Block) -> ChatDelta:
    if isinstance(block, TextBlock):
        return ChatDelta("start", index=index, block_kind="text")
    if isinstance(block, ReasoningBlock):
        return ChatDelta("start", index=index, block_kind="reasoning")
    return ChatDelta("start", "", index, block.id, block.name, block_kind="tool_call")


def _body(index: int, block: Block, size: int) -> Iterator[ChatDelta]:
    if isinstance(block, TextBlock | ReasoningBlock):
        kind: Literal["text", "reasoning"] = "text" if isinstance(block, TextBlock) else "reasoning"
        for word in words(block.text):
            yield ChatDelta(kind, word, index)
        if isinstance(block, ReasoningBlock) and block.signature is not None:
            yield ChatDelta("reasoning", "", index, signature=block.signature)
        return
    text = json.dumps(block.args) if isinstance(block, ToolCall) else block.args_text
    for start in range(0, len(text), max(size, 1)):
        yield ChatDelta("tool", text[start : start + size], index)
