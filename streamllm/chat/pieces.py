"""The pieces chunks are made of: ``BlockChunk`` (any block) and ``ToolCallChunk``.

Named tuples, not pydantic models or slotted classes: one is built per
streamed fragment, and a tuple is the cheapest object Python builds.
"""

from __future__ import annotations

from typing import NamedTuple

from streamllm.chat.blocks import Block, BlockKind

__all__ = ["BlockChunk", "ToolCallChunk"]


class BlockChunk(NamedTuple):
    """One piece of one block as it streams.

    ``block`` is the block's position in ``content_blocks``; ``text`` is a
    text, reasoning or raw tool-argument fragment (may be empty); a tool
    call's ``id`` and ``name`` come with its first piece (later ones are
    ignored when chunks add up). ``first`` and ``last`` mark the block's
    boundaries; on the last piece the assembler sets ``content``, the finished
    block. A reasoning ``signature`` may come in pieces too (joined).

    >>> BlockChunk(0, "text", "Hi", first=True)
    BlockChunk(0, 'text', 'Hi', first=True)
    """

    block: int
    kind: BlockKind
    text: str = ""
    id: str | None = None
    name: str | None = None
    signature: str | None = None
    first: bool = False
    last: bool = False
    content: Block | None = None

    def __repr__(self) -> str:
        shown = [repr(self.block), repr(self.kind), repr(self.text)]
        for name in ("id", "name", "signature", "first", "last", "content"):
            value = getattr(self, name)
            if value is not None and value is not False:
                shown.append(f"{name}={value!r}")
        return f"BlockChunk({', '.join(shown)})"


class ToolCallChunk(NamedTuple):
    """A tool call's piece, LangChain's shape: ``index`` is the block's position.

    Pieces with the same ``index`` belong to one call; their ``args_text``
    joined is the raw arguments.
    """

    # Shadows tuple.index(): LangChain's name for it, kept for its users.
    index: int  # type: ignore[assignment]
    id: str | None = None
    name: str | None = None
    args_text: str = ""
