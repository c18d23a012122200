"""The I/O-free state machine between a provider's deltas and a chat run's events.

The run driver feeds it :class:`~streamllm.chat.deltas.ChatDelta`\\ s and gets
back, per delta, the :class:`~streamllm.chat.chunks.AIMessageChunk` to yield
(or None). Each chunk's pieces say, in order, what to emit::

    for piece in chunk.pieces:
        if piece.first:
            ...  # BlockStart(block=piece.block, kind=piece.kind, id=piece.id, name=piece.name)
        if piece.text:
            ...  # NewToken(token, block) for "text", else BlockDelta(block, kind, delta)
        if piece.last:
            ...  # BlockEnd(block=piece.block, content=piece.content)

``finish()`` ends the blocks still open and gives the last chunk (usage,
finish reason) and the :class:`~streamllm.chat.message.AIMessage`, which equals
the sum of every chunk. After a failure, ``partial()`` is the message as far as
it came (no further block ends are emitted).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, final

from streamllm.chat._aggregate import BlockView, finished_block, message_of
from streamllm.chat._text import Text
from streamllm.chat.blocks import Block, BlockKind
from streamllm.chat.chunks import AIMessageChunk
from streamllm.chat.deltas import ChatDelta
from streamllm.chat.message import AIMessage
from streamllm.chat.pieces import BlockChunk
from streamllm.chat.usage import merge_counts, usage_of
from streamllm.errors import StreamProtocolError
from streamllm.outputs import normalize_finish_reason

__all__ = ["Assembler"]


@final
class _Open:
    __slots__ = ("content", "id", "kind", "name", "sig", "text")

    def __init__(self, kind: BlockKind, id: str | None, name: str | None) -> None:
        self.content: Block | None = None  # set when the block ends
        self.kind: BlockKind = kind
        self.id = id
        self.name = name
        self.text = Text()
        self.sig: Text | None = None


@final
class Assembler:
    """Deltas in, chunks (with their block boundaries) out; one per chat run.

    Blocks get positions in the order they start; numbered blocks (Anthropic's
    ``index``, OpenAI's tool-call ``index``) may interleave. Unnumbered text
    and reasoning continue the open block of their kind; a fragment of
    another kind ends it. Tool calls without an id get ``call_<position>``.
    """

    __slots__ = (
        "_blocks",
        "_by_index",
        "_counts",
        "_current",
        "_done",
        "_finish",
        "_id",
        "_last_tool",
        "_metadata",
    )

    def __init__(self) -> None:
        self._blocks: list[_Open] = []
        self._by_index: dict[int | str, int] = {}
        self._current: int | None = None  # the open unnumbered text/reasoning block
        self._last_tool: int | None = None
        self._counts: dict[str, int] = {}
        self._finish: str | None = None
        self._id: str | None = None
        self._metadata: dict[str, Any] = {}
        self._done = False

    # -- feeding ---------------------------------------------------------
    def feed(self, delta: ChatDelta) -> AIMessageChunk | None:
        """The chunk to yield for ``delta``, or None when it only carried metadata."""
        if self._done:
            raise RuntimeError("the assembler is finished: feed() after finish()")
        kind = delta.kind
        out: list[BlockChunk] = []
        if kind == "text" or kind == "reasoning":
            self._fragment(kind, delta, out)
        elif kind == "tool":
            self._tool_fragment(delta, out)
        elif kind == "tool_call":
            self._whole_call(delta, out)
        elif kind == "start":
            self._start(delta, out)
        elif kind == "end":
            self._end_index(delta.index, out)
        elif kind == "usage":
            if delta.counts:
                merge_counts(self._counts, delta.counts)
        elif kind == "finish":
            self._finish = delta.text or self._finish
            self._end_all(out)
        elif kind == "meta":
            self._meta(delta.id, delta.metadata)
        return AIMessageChunk._of(tuple(out), self._id) if out else None

    def _fragment(self, kind: BlockKind, delta: ChatDelta, out: list[BlockChunk]) -> None:
        index = delta.index
        if index is None:
            pos = self._current
            if pos is None or self._blocks[pos].kind != kind:
                self._end_current(out)
                pos = self._current = self._open(kind, None, None)
                first = True
            else:
                first = False
        else:
            found = self._by_index.get(index)
            if found is None:
                pos = self._by_index[index] = self._open(kind, None, None)
                first = True
            else:
                pos, first = self._check(found, kind, index), False
        self._append(pos, kind, delta.text, delta.signature, first, out)

    def _tool_fragment(self, delta: ChatDelta, out: list[BlockChunk]) -> None:
        key: int | str | None = delta.index
        if key is None:  # servers that number nothing: match by id, else the latest call
            key = f"id:{delta.id}" if delta.id is not None else None
            if key is None and self._last_tool is not None:
                found: int | None = self._last_tool
            else:
                found = self._by_index.get(key) if key is not None else None
        else:
            found = self._by_index.get(key)
        if found is None:
            self._end_current(out)
            pos = self._open("tool_call", delta.id, delta.name)
            if key is not None:
                self._by_index[key] = pos
            self._last_tool = pos
            self._append(pos, "tool_call", delta.text, None, True, out)
        else:
            self._append(
                self._check(found, "tool_call", key), "tool_call", delta.text, None, False, out
            )

    def _whole_call(self, delta: ChatDelta, out: list[BlockChunk]) -> None:
        self._end_current(out)
        args = delta.args
        text = args if isinstance(args, str) else ("" if args is None else json.dumps(args))
        pos = self._open("tool_call", delta.id, delta.name)
        self._append(pos, "tool_call", text, None, True, out)
        out[-1] = self._ended(pos, out[-1])

    def _start(self, delta: ChatDelta, out: list[BlockChunk]) -> None:
        kind = delta.block_kind or "text"
        if delta.index is not None and delta.index in self._by_index:
            raise StreamProtocolError(f"block {delta.index} started twice")
        self._end_current(out)
        pos = self._open(kind, delta.id, delta.name)
        if delta.index is not None:
            self._by_index[delta.index] = pos
        elif kind != "tool_call":
            self._current = pos
        if kind == "tool_call":
            self._last_tool = pos
        self._append(pos, kind, delta.text, delta.signature, True, out)

    def _meta(self, id: str | None, metadata: Mapping[str, Any] | None) -> None:
        if self._id is None:
            self._id = id
        if metadata:
            self._metadata.update(metadata)

    # -- blocks ----------------------------------------------------------
    def _open(self, kind: BlockKind, id: str | None, name: str | None) -> int:
        pos = len(self._blocks)
        if kind == "tool_call" and id is None:
            id = f"call_{pos}"
        self._blocks.append(_Open(kind, id, name))
        return pos

    def _check(self, pos: int, kind: BlockKind, index: int | str | None) -> int:
        block = self._blocks[pos]
        if block.content is not None:
            raise StreamProtocolError(f"a delta for block {index!r} after its end")
        if block.kind != kind:
            raise StreamProtocolError(f"a {kind} delta for the {block.kind} block {index!r}")
        return pos

    def _append(
        self,
        pos: int,
        kind: BlockKind,
        text: str,
        signature: str | None,
        first: bool,
        out: list[BlockChunk],
    ) -> None:
        block = self._blocks[pos]
        if text:
            block.text.append(text)
        if signature:
            if block.sig is None:
                block.sig = Text()
            block.sig.append(signature)
        if first:
            out.append(BlockChunk(pos, kind, text, block.id, block.name, signature, True))
        else:
            out.append(BlockChunk(pos, kind, text, None, None, signature))

    def _ended(self, pos: int, piece: BlockChunk | None) -> BlockChunk:
        block = self._blocks[pos]
        content = block.content = finished_block(self._view(pos))
        if piece is None:
            piece = BlockChunk(pos, block.kind)
        piece.last = True
        piece.content = content
        return piece

    def _end_current(self, out: list[BlockChunk]) -> None:
        if self._current is not None:
            out.append(self._ended(self._current, None))
            self._current = None

    def _end_index(self, index: int | None, out: list[BlockChunk]) -> None:
        if index is None:
            self._end_current(out)
            return
        pos = self._by_index.get(index)
        if pos is not None and self._blocks[pos].content is None:
            out.append(self._ended(pos, None))

    def _end_all(self, out: list[BlockChunk]) -> None:
        for pos, block in enumerate(self._blocks):
            if block.content is None:
                out.append(self._ended(pos, None))
        self._current = None

    def _view(self, pos: int) -> BlockView:
        b = self._blocks[pos]
        sig = None if b.sig is None else b.sig.value()
        return BlockView(pos, b.kind, b.id, b.name, b.text.value(), sig, b.content is not None)

    # -- the end ---------------------------------------------------------
    def finish(self) -> tuple[AIMessageChunk, AIMessage]:
        """End the open blocks; the last chunk (usage, finish reason) and the message."""
        if self._done:
            raise RuntimeError("finish() called twice")
        out: list[BlockChunk] = []
        self._end_all(out)
        self._done = True
        message = self.partial()
        last = AIMessageChunk._of(tuple(out), self._id)
        last.usage = message.usage
        last.finish_reason = message.finish_reason
        last.response_metadata = message.response_metadata
        return last, message

    def partial(self) -> AIMessage:
        """The message as far as it came: open blocks included (raw arguments kept)."""
        metadata = dict(self._metadata)
        if self._finish is not None:
            metadata["finish_reason"] = self._finish
        return message_of(
            (b.content or finished_block(self._view(pos)) for pos, b in enumerate(self._blocks)),
            id=self._id,
            usage=usage_of(self._counts),
            finish_reason=normalize_finish_reason(self._finish),
            response_metadata=metadata,
        )
