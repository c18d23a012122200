"""The running sum behind ``AIMessageChunk.__add__``.

``a + b`` must not copy ``a``: over a stream that is quadratic. A sum's state
is therefore shared and grows in place, and the chunk that owned it (the
"tip": the latest sum, the only one that saw every change) keeps a snapshot
of its block sizes, so it still reads as it was. Text is append-only bytes, so
a snapshot is a few integers per block, and a stale sum is a prefix of the
state. Adding to a stale sum copies it first (rare: ``x + a; x + b``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, final

from streamllm.chat._text import Text, tool_block
from streamllm.chat.blocks import Block, BlockKind, ReasoningBlock, TextBlock
from streamllm.chat.message import AIMessage
from streamllm.chat.pieces import BlockChunk
from streamllm.outputs import FinishReason, TokenUsage

__all__ = ["BlockView", "Ref", "State", "finished_block", "message_of"]


@final
class _Acc:
    __slots__ = ("block", "ended", "id", "kind", "name", "sig", "text")

    def __init__(self, block: int, kind: BlockKind, id: str | None, name: str | None) -> None:
        self.block = block
        self.kind: BlockKind = kind
        self.id = id
        self.name = name
        self.text = Text()
        self.sig: Text | None = None
        self.ended = False


class BlockView(NamedTuple):
    """One block as far as it came."""

    block: int
    kind: BlockKind
    id: str | None
    name: str | None
    text: str
    signature: str | None
    ended: bool


#: Per block, in creation order: text size, signature size, ended.
Snapshot = tuple[tuple[int, int, bool], ...]


@final
class State:
    """Blocks by position, growing as pieces are applied."""

    __slots__ = ("accs", "by_pos", "ver")

    def __init__(self) -> None:
        self.accs: list[_Acc] = []
        self.by_pos: dict[int, _Acc] = {}
        self.ver = 0

    def apply(self, pieces: Iterable[BlockChunk]) -> None:
        by_pos = self.by_pos
        for p in pieces:
            acc = by_pos.get(p.block)
            if acc is None:
                acc = by_pos[p.block] = _Acc(p.block, p.kind, p.id, p.name)
                self.accs.append(acc)
            if p.text:
                acc.text.append(p.text)
            if p.signature:
                if acc.sig is None:
                    acc.sig = Text()
                acc.sig.append(p.signature)
            if p.last:
                acc.ended = True
        self.ver += 1

    def snapshot(self) -> Snapshot:
        return tuple((a.text.size, 0 if a.sig is None else a.sig.size, a.ended) for a in self.accs)

    def view(self, snap: Snapshot | None) -> list[BlockView]:
        """The blocks by position, as they are now or as they were at ``snap``."""
        if snap is None:
            snap = self.snapshot()
        out = [
            BlockView(
                a.block,
                a.kind,
                a.id,
                a.name,
                a.text.value(size),
                None if a.sig is None or not sig else a.sig.value(sig),
                ended,
            )
            for a, (size, sig, ended) in zip(self.accs, snap, strict=False)
        ]
        out.sort(key=lambda v: v.block)
        return out


@final
class Ref:
    """A sum chunk's handle on a state: the version it stands for."""

    __slots__ = ("message", "snap", "state", "ver")

    def __init__(self, state: State) -> None:
        self.state = state
        self.ver = state.ver
        self.snap: Snapshot | None = None
        self.message: AIMessage | None = None

    def take(self) -> State | None:
        """The state to grow in place, if this sum is the tip; it keeps a snapshot."""
        if self.snap is not None or self.state.ver != self.ver:
            return None
        self.snap = self.state.snapshot()
        return self.state

    def pieces(self) -> tuple[BlockChunk, ...]:
        return tuple(
            BlockChunk(v.block, v.kind, v.text, v.id, v.name, v.signature, True, v.ended)
            for v in self.state.view(self.snap)
        )


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
