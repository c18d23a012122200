"""The pieces chunks are made of: ``BlockChunk`` (any block) and ``ToolCallChunk``.

Light slotted classes, not pydantic models: one is built per streamed
fragment.
"""

from __future__ import annotations

from typing import Any, final

from streamllm.chat.blocks import Block, BlockKind

__all__ = ["BlockChunk", "ToolCallChunk"]


@final
class BlockChunk:
    """One piece of one block as it streams.

    ``block`` is the block's position in ``content_blocks``; ``text`` is a
    text, reasoning or raw tool-argument fragment (may be empty); a tool
    call's ``id`` and ``name`` come with its first piece (later ones are
    ignored when chunks add up). ``first`` and ``last`` mark the block's
    boundaries; on the last piece the assembler sets ``content``, the finished
    block. A reasoning ``signature`` may come in pieces too (joined).
    """

    __slots__ = ("block", "content", "first", "id", "kind", "last", "name", "signature", "text")

    def __init__(
        self,
        block: int,
        kind: BlockKind,
        text: str = "",
        id: str | None = None,
        name: str | None = None,
        signature: str | None = None,
        first: bool = False,
        last: bool = False,
        content: Block | None = None,
    ) -> None:
        self.block = block
        self.kind: BlockKind = kind
        self.text = text
        self.id = id
        self.name = name
        self.signature = signature
        self.first = first
        self.last = last
        self.content = content

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BlockChunk):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = [repr(self.block), repr(self.kind), repr(self.text)]
        parts += [f"{n}={getattr(self, n)!r}" for n in self.__slots__[:8] if _shown(self, n)]
        return f"BlockChunk({', '.join(parts)})"


def _shown(piece: BlockChunk, name: str) -> bool:
    return name not in ("block", "kind", "text") and getattr(piece, name) not in (None, False)


@final
class ToolCallChunk:
    """A tool call's piece, LangChain's shape: ``index`` is the block's position.

    Pieces with the same ``index`` belong to one call; their ``args_text``
    joined is the raw arguments.
    """

    __slots__ = ("args_text", "id", "index", "name")

    def __init__(
        self, index: int, id: str | None = None, name: str | None = None, args_text: str = ""
    ) -> None:
        self.index = index
        self.id = id
        self.name = name
        self.args_text = args_text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ToolCallChunk):
            return NotImplemented
        return (self.index, self.id, self.name, self.args_text) == (
            other.index,
            other.id,
            other.name,
            other.args_text,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"ToolCallChunk(index={self.index!r}, id={self.id!r}, name={self.name!r}, "
            f"args_text={self.args_text!r})"
        )
