"""What a chat model streams: ``AIMessageChunk``\\ s made of ``BlockChunk`` pieces.

Chunks add up: ``a + b`` and ``sum(chunks)`` give a chunk whose
:meth:`~AIMessageChunk.to_message` is the message ``invoke`` returns. Adding
is linear over a stream (the running sum grows in place while nobody else can
see it, see :mod:`streamllm.chat._aggregate`), and the sum holds the text and
arguments as compact bytes, not the fragments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, final

from streamllm.chat._aggregate import Snapshot, State, finished_block, message_of
from streamllm.chat.blocks import Block, InvalidToolCall, ToolCall
from streamllm.chat.deltas import ChatDelta
from streamllm.chat.message import AIMessage
from streamllm.chat.pieces import BlockChunk, ToolCallChunk
from streamllm.usage import FinishReason, TokenUsage

__all__ = ["AIMessageChunk"]

_EMPTY: Mapping[str, Any] = {}


@final
class _Tail:
    """What few chunks carry: usage, finish reason, metadata (one slot on the chunk)."""

    __slots__ = ("finish_reason", "response_metadata", "usage")

    def __init__(
        self,
        usage: TokenUsage | None,
        finish_reason: FinishReason | None,
        response_metadata: Mapping[str, Any],
    ) -> None:
        self.usage = usage
        self.finish_reason: FinishReason | None = finish_reason
        self.response_metadata = response_metadata


@final
class AIMessageChunk:
    """A streamed piece of an :class:`AIMessage`, or the sum of several.

    A chunk may carry no text at all, only usage, a finish reason or block
    boundaries: it is still part of the sum. ``usage`` adds up;
    ``finish_reason`` and ``id`` keep the latest and the first value given;
    ``response_metadata`` merges (later keys win; treat it as read-only).

    >>> a = AIMessageChunk([BlockChunk(0, "text", "Hel", first=True)])
    >>> b = AIMessageChunk([BlockChunk(0, "text", "lo", last=True)], finish_reason="stop")
    >>> sum([a, b]).to_message().text
    'Hello'
    """

    # A sum has no pieces of its own but a shared state and the version of it
    # that it stands for (_ver; _snap once a later sum grew the state);
    # _ver, _snap and _message are only set on sums. A streamed fragment (see
    # _fragment) holds its delta and block position (_frag, _pos) instead of
    # its one piece, built when asked; _frag is read only while _pieces is None.
    __slots__ = (
        "_frag",
        "_message",
        "_pieces",
        "_pos",
        "_snap",
        "_state",
        "_tail",
        "_ver",
        "id",
    )

    def __init__(
        self,
        pieces: Iterable[BlockChunk | ToolCallChunk] = (),
        *,
        id: str | None = None,
        usage: TokenUsage | None = None,
        finish_reason: FinishReason | None = None,
        response_metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self._pieces: tuple[BlockChunk, ...] | None = tuple(
            BlockChunk(p.index, "tool_call", p.args_text, p.id, p.name)
            if isinstance(p, ToolCallChunk)
            else p
            for p in pieces
        )
        self._state: State | None = None
        self._frag: ChatDelta | None = None
        self.id = id
        self._tail: _Tail | None = None
        if usage is not None or finish_reason is not None or response_metadata:
            self._tail = _Tail(usage, finish_reason, response_metadata or _EMPTY)

    @classmethod
    def _of(cls, pieces: tuple[BlockChunk, ...], id: str | None) -> AIMessageChunk:
        # The streaming hot path: four slots, no conversion of the pieces.
        self = cls.__new__(cls)
        self._pieces = pieces
        self._state = self._frag = self._tail = None
        self.id = id
        return self

    @classmethod
    def _fragment(cls, delta: ChatDelta, pos: int, id: str | None) -> AIMessageChunk:
        # The chunk of a fragment of an open block (the assembler's hot path,
        # see Assembler.hot): its piece, BlockChunk(pos, delta.kind, delta.text),
        # is built only when read. The sync chat driver inlines this.
        self = cls.__new__(cls)
        self._pieces = self._state = self._tail = None
        self._frag = delta
        self._pos = pos
        self.id = id
        return self

    _ver: int
    _pos: int
    _snap: Snapshot | None
    _message: AIMessage | None

    @property
    def usage(self) -> TokenUsage | None:
        return None if self._tail is None else self._tail.usage

    @property
    def finish_reason(self) -> FinishReason | None:
        return None if self._tail is None else self._tail.finish_reason

    @property
    def response_metadata(self) -> Mapping[str, Any]:
        return _EMPTY if self._tail is None else self._tail.response_metadata

    @property
    def pieces(self) -> tuple[BlockChunk, ...]:
        """The pieces of this chunk; for a sum, one whole piece per block, by position."""
        own = self._own()
        if own is not None:
            return own
        assert self._state is not None
        return self._state.pieces(self._snap)

    def _own(self) -> tuple[BlockChunk, ...] | None:
        """This chunk's own pieces; None for a sum."""
        if self._pieces is None and self._frag is not None:
            delta = self._frag
            self._pieces = (BlockChunk(self._pos, delta.kind, delta.text),)  # type: ignore[arg-type]
        return self._pieces

    # -- adding up -------------------------------------------------------
    def __add__(self, other: AIMessageChunk) -> AIMessageChunk:
        if not isinstance(other, AIMessageChunk):
            return NotImplemented
        right = other.pieces  # read before the running sum may grow in place
        state = self._state
        if state is not None and self._snap is None and state.ver == self._ver:
            self._snap = state.snapshot()  # the tip: grow its state, keep how it was
        else:
            state = State()
            state.apply(self.pieces)
        state.apply(right)
        out = AIMessageChunk._of((), self.id if self.id is not None else other.id)
        out._pieces = None  # a sum
        out._state = state
        out._ver = state.ver
        out._snap = None
        out._message = None
        if self._tail is not None or other._tail is not None:
            meta = self.response_metadata
            if other.response_metadata:
                meta = {**meta, **other.response_metadata}
            out._tail = _Tail(
                _add_usage(self.usage, other.usage),
                other.finish_reason or self.finish_reason,
                meta,
            )
        return out

    def __radd__(self, other: object) -> AIMessageChunk:
        # sum(chunks) starts from 0.
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented

    # -- the message -----------------------------------------------------
    def to_message(self) -> AIMessage:
        """The :class:`AIMessage` these chunks add up to (tool arguments parsed)."""
        if self._state is not None:
            if self._message is not None:
                return self._message
            views = self._state.view(self._snap)
        else:
            state = State()
            state.apply(self.pieces)
            views = state.view(None)
        message = message_of(
            map(finished_block, views),
            id=self.id,
            usage=self.usage,
            finish_reason=self.finish_reason,
            response_metadata=self.response_metadata,
        )
        if self._state is not None:
            self._message = message
        return message

    @property
    def content_blocks(self) -> tuple[Block, ...]:
        return self.to_message().content_blocks

    @property
    def text(self) -> str:
        """The text of the text pieces (of every text block, for a sum)."""
        own = self._own()
        if own is not None:
            return "".join(p.text for p in own if p.kind == "text")
        return self.to_message().text

    @property
    def content(self) -> str:
        return self.text

    @property
    def reasoning(self) -> str:
        own = self._own()
        if own is not None:
            return "".join(p.text for p in own if p.kind == "reasoning")
        return self.to_message().reasoning

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return self.to_message().tool_calls

    @property
    def invalid_tool_calls(self) -> tuple[InvalidToolCall, ...]:
        return self.to_message().invalid_tool_calls

    @property
    def tool_call_chunks(self) -> tuple[ToolCallChunk, ...]:
        """The tool-call pieces (for a sum, one per call with the arguments joined)."""
        return tuple(
            ToolCallChunk(p.block, p.id, p.name, p.text)
            for p in self.pieces
            if p.kind == "tool_call"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AIMessageChunk):
            return NotImplemented
        return self.to_message() == other.to_message()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = [f"[{', '.join(repr(p) for p in self.pieces)}]"]
        for name in ("id", "usage", "finish_reason"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        return f"AIMessageChunk({', '.join(parts)})"


def _add_usage(a: TokenUsage | None, b: TokenUsage | None) -> TokenUsage | None:
    if a is None:
        return b
    if b is None:
        return a
    return a + b
