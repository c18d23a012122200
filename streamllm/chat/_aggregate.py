"""The running sum behind ``AIMessageChunk.__add__``.

``a + b`` must not copy ``a``: over a stream that is quadratic. A sum's state
is therefore shared and grows in place, and the chunk that owned it (the
"tip": the latest sum, the only one that saw every change) keeps a snapshot
of the block sizes, so it still reads as it was. Text is append-only bytes, so
a snapshot is three integers per block (one tuple copy), and a stale sum reads
a prefix of the state. Adding to a stale sum copies it first (rare: ``x + a;
x + b``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, final

from streamllm.chat._args import tool_block
from streamllm.chat.blocks import Block, BlockKind, ReasoningBlock, TextBlock
from streamllm.chat.message import AIMessage
from streamllm.chat.pieces import BlockChunk
from streamllm.usage import FinishReason, TokenUsage

__all__ = ["BlockView", "Snapshot", "State", "finished_block", "message_of"]


@final
class _Acc:
    __slots__ = ("block", "id", "kind", "name", "sig", "text")

    def __init__(self, block: int, kind: BlockKind, id: str | None, name: str | None) -> None:
        self.block = block
        self.kind: BlockKind = kind
        self.id = id
        self.name = name
        # UTF-8 bytes, not a list of fragments: a list keeps a str object and a
        # pointer per fragment (about 60 bytes for a one-character token).
        self.text = bytearray()
        self.sig: bytearray | None = None


class BlockView(NamedTuple):
    """One block as far as it came."""

    block: int
    kind: BlockKind
    id: str | None
    name: str | None
    text: str
    signature: str | None
    ended: bool


#: Per block, in creation order: text size, signature size, ended (0 or 1), flat.
Snapshot = tuple[int, ...]


@final
class State:
    """Blocks by position, growing as pieces are applied."""

    __slots__ = ("accs", "by_pos", "sizes", "ver")

    def __init__(self) -> None:
        self.accs: list[_Acc] = []
        self.by_pos: dict[int, int] = {}  # position -> index in accs
        self.sizes: list[int] = []
        self.ver = 0

    def apply(self, pieces: Iterable[BlockChunk]) -> None:
        by_pos, accs, sizes = self.by_pos, self.accs, self.sizes
        for p in pieces:
            k = by_pos.get(p.block)
            if k is None:
                k = by_pos[p.block] = len(accs)
                accs.append(_Acc(p.block, p.kind, p.id, p.name))
                sizes += (0, 0, 0)
            acc = accs[k]
            if p.text:
                acc.text += p.text.encode()
                sizes[3 * k] = len(acc.text)
            if p.signature:
                if acc.sig is None:
                    acc.sig = bytearray()
                acc.sig += p.signature.encode()
                sizes[3 * k + 1] = len(acc.sig)
            if p.last:
                sizes[3 * k + 2] = 1
        self.ver += 1

    def snapshot(self) -> Snapshot:
        return tuple(self.sizes)

    def pieces(self, snap: Snapshot | None) -> tuple[BlockChunk, ...]:
        """One whole piece per block, as the blocks are now or were at ``snap``."""
        return tuple(
            BlockChunk(v.block, v.kind, v.text, v.id, v.name, v.signature, True, v.ended)
            for v in self.view(snap)
        )

    def view(self, snap: Snapshot | None) -> list[BlockView]:
        """The blocks by position, as they are now or as they were at ``snap``."""
        sizes = self.sizes if snap is None else snap
        out = []
        for k, a in enumerate(self.accs[: len(sizes) // 3]):
            size, sig, ended = sizes[3 * k : 3 * k + 3]
            signature = None if a.sig is None or not sig else _decode(a.sig, sig)
            text = _decode(a.text, size)
            out.append(BlockView(a.block, a.kind, a.id, a.name, text, signature, ended == 1))
        out.sort(key=lambda v: v.block)
        return out


def _decode(buf: bytearray, size: int) -> str:
    # Slicing copies: only a stale sum (a prefix) pays for it.
    return buf.decode() if size == len(buf) else buf[:size].decode()


def finished_block(view: BlockView) -> Block:
    """The block a view stands for; a tool call's arguments are parsed (never raises)."""
    if view.kind == "text":
        return TextBlock(text=view.text)
    if view.kind == "reasoning":
        return ReasoningBlock(text=view.text, signature=view.signature)
    # A call without an id (a hand-made chunk; the assembler always sets one)
    # gets one from its position, so the sum stays a valid message.
    call_id = view.id if view.id is not None else f"call_{view.block}"
    return tool_block(call_id, view.name, view.text)


def message_of(
    blocks: Iterable[Block],
    *,
    id: str | None,
    usage: TokenUsage | None,
    finish_reason: FinishReason | None,
    response_metadata: Mapping[str, Any],
) -> AIMessage:
    return AIMessage(
        id=id,
        content_blocks=tuple(blocks),
        usage=usage,
        finish_reason=finish_reason,
        response_metadata=dict(response_metadata),
    )
