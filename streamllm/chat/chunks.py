"""What a chat model streams: ``AIMessageChunk``s made of ``BlockChunk`` pieces.

Chunks add up: ``a + b`` and ``sum(chunks)`` give a chunk whose
:meth:`~AIMessageChunk.to_message` is the message ``invoke`` returns. Adding
is linear over a stream (the running sum grows in place while nobody else can
see it, see :mod:`streamllm.chat._aggregate`), and the sum holds the text and
arguments as compact bytes, not the fragments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, final

from streamllm.chat._aggregate import Ref, State, finished_block, message_of
from streamllm.chat.blocks import Block, InvalidToolCall, ToolCall
from streamllm.chat.message import AIMessage
from streamllm.chat.pieces import BlockChunk, ToolCallChunk
from streamllm.outputs import FinishReason, TokenUsage

__all__ = ["AIMessageChunk"]


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

    __slots__ = ("_agg", "_pieces", "finish_reason", "id", "response_metadata", "usage")

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
            p
            if isinstance(p, BlockChunk)
            else BlockChunk(p.index, "tool_call", p.args_text, p.id, p.name)
            for p in pieces
        )
        self._agg: Ref | None = None
        self.id = id
        self.usage = usage
        self.finish_reason: FinishReason | None = finish_reason
        self.response_metadata: Mapping[str, Any] = response_metadata or {}

    @classmethod
    def _of(
        cls, pieces: tuple[BlockChunk, ...], id: str | None, agg: Ref | None = None
    ) -> AIMessageChunk:
        # The streaming hot path: no conversion of the pieces.
        self = cls.__new__(cls)
        self._pieces = pieces
        self._agg = agg
        self.id = id
        self.usage = None
        self.finish_reason = None
        self.response_metadata = {}
        return self

    @property
    def pieces(self) -> tuple[BlockChunk, ...]:
        """The pieces of this chunk; for a sum, one whole piece per block, by position."""
        if self._pieces is not None:
            return self._pieces
        assert self._agg is not None
        return self._agg.pieces()

    # -- adding up -------------------------------------------------------
    def __add__(self, other: AIMessageChunk) -> AIMessageChunk:
        if not isinstance(other, AIMessageChunk):
            return NotImplemented
        right = other.pieces  # read before the running sum may grow in place
        ref = self._agg
        state = ref.take() if ref is not None else None
        if state is None:
            state = State()
            state.apply(self.pieces)
        state.apply(right)
        out = AIMessageChunk._of((), self.id if self.id is not None else other.id, Ref(state))
        out._pieces = None
        out.usage = _add_usage(self.usage, other.usage)
        out.finish_reason = other.finish_reason or self.finish_reason
        if other.response_metadata:
            out.response_metadata = {**self.response_metadata, **other.response_metadata}
        else:
            out.response_metadata = self.response_metadata
        return out

    def __radd__(self, other: object) -> AIMessageChunk:
        # sum(chunks) starts from 0.
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented

    # -- the message -----------------------------------------------------
    def to_message(self) -> AIMessage:
        """The :class:`AIMessage` these chunks add up to (tool arguments parsed)."""
        ref = self._agg
        if ref is not None:
            if ref.message is not None:
                return ref.message
            views = ref.state.view(ref.snap)
        else:
            state = State()
            state.apply(self.pieces)
            views = state.view(None)
        message = message_of(
            map(finished_block, views),
            id=self.id,
            usage=self.usage,
            finish_reason=self.finish_reason,
            response_metadata=dict(self.response_metadata),
        )
        if ref is not None:
            ref.message = message
        return message

    @property
    def content_blocks(self) -> tuple[Block, ...]:
        return self.to_message().content_blocks

    @property
    def text(self) -> str:
        """The text of the text pieces (of every text block, for a sum)."""
        if self._pieces is not None:
            return "".join(p.text for p in self._pieces if p.kind == "text")
        return self.to_message().text

    @property
    def content(self) -> str:
        return self.text

    @property
    def reasoning(self) -> str:
        if self._pieces is not None:
            return "".join(p.text for p in self._pieces if p.kind == "reasoning")
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
