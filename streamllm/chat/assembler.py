"""The I/O-free state machine between a provider's deltas and a chat run's events.

The run driver feeds it :class:`~streamllm.chat.deltas.ChatDelta`\\ s and gets
back, per delta, the :class:`~streamllm.chat.pieces.BlockChunk`\\ s to emit
(often one, sometimes none). Each piece says, in order, what to fire::

    for piece in asm.feed(delta):
        if piece.first:
            ...  # BlockStart(block=piece.block, kind=piece.kind, id=piece.id, name=piece.name)
        if piece.text:
            ...  # NewToken(token, block) for "text", else BlockDelta(block, kind, delta)
        if piece.last:
            ...  # BlockEnd(block=piece.block, content=piece.content)
    # streaming: yield asm.chunk(pieces) when there are pieces

``finish()`` ends the blocks still open and gives the last chunk (its pieces,
usage, finish reason) and the :class:`~streamllm.chat.message.AIMessage`,
which equals the sum of every chunk. After a failure or cancellation,
``partial()`` is the message as far as it came; nothing more is emitted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, final

from streamllm.chat._aggregate import BlockView, finished_block, message_of
from streamllm.chat.blocks import Block, BlockKind
from streamllm.chat.chunks import AIMessageChunk
from streamllm.chat.deltas import ChatDelta
from streamllm.chat.message import AIMessage
from streamllm.chat.pieces import BlockChunk
from streamllm.chat.usage import merge_counts, usage_of
from streamllm.errors import StreamProtocolError
from streamllm.usage import normalize_finish_reason

__all__ = ["Assembler", "Hot", "Pieces"]

#: What one delta asks the driver to emit.
Pieces = tuple[BlockChunk, ...]
#: The open unnumbered text or reasoning block: its kind, its position, and
#: what a fragment's text goes through (see :attr:`Assembler.hot`).
Hot = tuple[BlockKind, int, Callable[[str], None]]
_NONE: Pieces = ()
_new = tuple.__new__


@final
class _Open:
    __slots__ = ("content", "id", "kind", "name", "parts", "sig")

    def __init__(self, kind: BlockKind, id: str | None, name: str | None) -> None:
        self.kind: BlockKind = kind
        self.id = id
        self.name = name
        # Fragments joined once, when the block ends (DESIGN: never str + str).
        self.parts: list[str] = []
        self.sig: list[str] | None = None
        self.content: Block | None = None  # set when the block ends

    def view(self, pos: int) -> BlockView:
        sig = None if self.sig is None else "".join(self.sig)
        return BlockView(
            pos, self.kind, self.id, self.name, "".join(self.parts), sig, self.content is not None
        )


@final
class Assembler:
    """Deltas in, pieces with their block boundaries out; one per chat run.

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
        "_hot",
        "_hot_parts",
        "_last_tool",
        "_metadata",
        "hot",
        "id",
    )

    def __init__(self) -> None:
        self._blocks: list[_Open] = []
        self._by_index: dict[int | str, int] = {}
        self._current: int | None = None  # the open unnumbered text/reasoning block
        # Its kind and fragments, for feed's hot path (None: no such block open).
        self._hot: BlockKind | None = None
        self._hot_parts: list[str] = []
        #: The same, for a driver that inlines feed's hot path (one call less
        #: per fragment): while ``hot`` is ``(kind, pos, append)``, feeding a
        #: delta of that kind with no ``index`` and no ``signature`` is exactly
        #: ``append(delta.text)`` (when not empty) and the one piece
        #: ``BlockChunk(pos, kind, delta.text)``. Only :meth:`feed` changes it.
        self.hot: Hot | None = None
        self._last_tool: int | None = None
        self._counts: dict[str, int] = {}
        self._finish: str | None = None
        self._metadata: dict[str, Any] = {}
        self._done = False
        #: The message id, once the provider said it.
        self.id: str | None = None

    # -- feeding ---------------------------------------------------------
    def feed(self, delta: ChatDelta) -> Pieces:
        """The pieces to emit for ``delta``, in order (none when it only carried metadata)."""
        kind = delta.kind
        if kind == self._hot and delta.index is None and delta.signature is None:
            # The hot path: one more fragment of the open unnumbered block of this kind.
            text = delta.text
            if text:
                self._hot_parts.append(text)
            return (
                _new(BlockChunk, (self._current, kind, text, None, None, None, False, False, None)),
            )
        if self._done:
            raise RuntimeError("the assembler is finished: feed() after finish()")
        if kind == "text" or kind == "reasoning":
            # One more fragment of an open (numbered) block of this kind.
            index = delta.index
            pos = self._current if index is None else self._by_index.get(index)
            if pos is not None and delta.signature is None:
                block = self._blocks[pos]
                if block.kind == kind and block.content is None:
                    text = delta.text
                    if text:
                        block.parts.append(text)
                    return (
                        _new(BlockChunk, (pos, kind, text, None, None, None, False, False, None)),
                    )
            return self._fragment(kind, delta)
        if kind == "tool":
            found = self._by_index.get(delta.index) if delta.index is not None else None
            if found is not None and delta.id is None:
                block = self._blocks[found]
                if block.content is None and block.kind == "tool_call":
                    text = delta.text
                    if text:
                        block.parts.append(text)
                    return (
                        _new(
                            BlockChunk,
                            (found, "tool_call", text, None, None, None, False, False, None),
                        ),
                    )
            return self._tool_fragment(delta)
        if kind == "tool_call":
            return self._whole_call(delta)
        if kind == "start":
            return self._start(delta)
        if kind == "end":
            return self._end_index(delta.index)
        if kind == "usage":
            if delta.counts:
                merge_counts(self._counts, delta.counts)
        elif kind == "finish":
            self._finish = delta.text or self._finish
            return self._end_all()
        elif kind == "meta":
            self._meta(delta.id, delta.metadata)
        return _NONE

    def chunk(self, pieces: Pieces) -> AIMessageChunk:
        """The chunk to yield for pieces from :meth:`feed` (stamped with the message id)."""
        return AIMessageChunk._of(pieces, self.id)

    def _fragment(self, kind: BlockKind, delta: ChatDelta) -> Pieces:
        index = delta.index
        out: list[BlockChunk] = []
        if index is None:
            pos = self._current
            if pos is None or self._blocks[pos].kind != kind:
                self._end_current(out)
                pos = self._open(kind, None, None)
                self._set_current(pos)
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
        out.append(self._append(pos, delta.text, delta.signature, first))
        return tuple(out)

    def _tool_fragment(self, delta: ChatDelta) -> Pieces:
        key: int | str | None = delta.index
        if key is None:  # servers that number nothing: match by id, else the latest call
            key = f"id:{delta.id}" if delta.id is not None else None
            found = self._by_index.get(key) if key is not None else self._last_tool
        else:
            found = self._by_index.get(key)
        if found is not None:
            return (self._append(self._check(found, "tool_call", key), delta.text, None, False),)
        out: list[BlockChunk] = []
        self._end_current(out)
        pos = self._open("tool_call", delta.id, delta.name)
        if key is not None:
            self._by_index[key] = pos
        self._last_tool = pos
        out.append(self._append(pos, delta.text, None, True))
        return tuple(out)

    def _whole_call(self, delta: ChatDelta) -> Pieces:
        out: list[BlockChunk] = []
        self._end_current(out)
        args = delta.args
        text = args if isinstance(args, str) else ("" if args is None else json.dumps(args))
        pos = self._open("tool_call", delta.id, delta.name)
        out.append(self._ended(pos, self._append(pos, text, None, True)))
        return tuple(out)

    def _start(self, delta: ChatDelta) -> Pieces:
        kind = delta.block_kind or "text"
        if delta.index is not None and delta.index in self._by_index:
            raise StreamProtocolError(f"block {delta.index} started twice")
        out: list[BlockChunk] = []
        self._end_current(out)
        pos = self._open(kind, delta.id, delta.name)
        if delta.index is not None:
            self._by_index[delta.index] = pos
        elif kind != "tool_call":
            self._set_current(pos)
        if kind == "tool_call":
            self._last_tool = pos
        out.append(self._append(pos, delta.text, delta.signature, True))
        return tuple(out)

    def _meta(self, id: str | None, metadata: Mapping[str, Any] | None) -> None:
        if self.id is None:
            self.id = id
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

    def _append(self, pos: int, text: str, signature: str | None, first: bool) -> BlockChunk:
        block = self._blocks[pos]
        if text:
            block.parts.append(text)
        if signature:
            if block.sig is None:
                block.sig = []
            block.sig.append(signature)
        if first:
            return BlockChunk(pos, block.kind, text, block.id, block.name, signature, True)
        return BlockChunk(pos, block.kind, text, None, None, signature)

    def _ended(self, pos: int, piece: BlockChunk | None) -> BlockChunk:
        block = self._blocks[pos]
        content = block.content = finished_block(block.view(pos))
        if piece is None:
            return BlockChunk(pos, block.kind, last=True, content=content)
        return piece._replace(last=True, content=content)

    def _set_current(self, pos: int | None) -> None:
        self._current = pos
        if pos is None:
            self._hot, self._hot_parts, self.hot = None, [], None
        else:
            block = self._blocks[pos]
            self._hot, self._hot_parts = block.kind, block.parts
            self.hot = (block.kind, pos, block.parts.append)

    def _end_current(self, out: list[BlockChunk]) -> None:
        if self._current is not None:
            out.append(self._ended(self._current, None))
            self._set_current(None)

    def _end_index(self, index: int | None) -> Pieces:
        out: list[BlockChunk] = []
        if index is None:
            self._end_current(out)
        else:
            pos = self._by_index.get(index)
            if pos is not None and self._blocks[pos].content is None:
                out.append(self._ended(pos, None))
        return tuple(out)

    def _end_all(self) -> Pieces:
        self._set_current(None)
        return tuple(
            self._ended(pos, None) for pos, b in enumerate(self._blocks) if b.content is None
        )

    # -- the end ---------------------------------------------------------
    def finish(self) -> tuple[AIMessageChunk, AIMessage]:
        """End the open blocks; the last chunk (usage, finish reason) and the message."""
        if self._done:
            raise RuntimeError("finish() called twice")
        pieces = self._end_all()
        self._done = True
        message = self.partial()
        last = AIMessageChunk(
            pieces,
            id=self.id,
            usage=message.usage,
            finish_reason=message.finish_reason,
            response_metadata=message.response_metadata,
        )
        return last, message

    def partial(self) -> AIMessage:
        """The message as far as it came: open blocks included (raw arguments kept)."""
        metadata = dict(self._metadata)
        if self._finish is not None:
            metadata["finish_reason"] = self._finish
        return message_of(
            (b.content or finished_block(b.view(pos)) for pos, b in enumerate(self._blocks)),
            id=self.id,
            usage=usage_of(self._counts),
            finish_reason=normalize_finish_reason(self._finish),
            response_metadata=metadata,
        )
