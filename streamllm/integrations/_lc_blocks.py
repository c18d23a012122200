"""A streamed LangChain chat run's content blocks as streamllm block events.

:class:`ChatBlocks` feeds each ``AIMessageChunk`` of one chat run through
streamllm's own :class:`~streamllm.chat.Assembler` (the one its chat models
use) and turns the pieces into events, with streamllm's per-block rules:
``BlockStart``, then text as ``NewToken(block=...)`` and reasoning or raw
tool-call arguments as ``BlockDelta``, then ``BlockEnd`` with the finished
block, every ``BlockEnd`` before ``LLMEnd``; after a failure no further
``BlockEnd``, and the partial message holds the blocks as far as they came.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, final

from streamllm.callbacks.run import RunManager
from streamllm.chat import AIMessage, Assembler, BlockChunk, ChatDelta
from streamllm.events import BaseEvent, BlockDelta, BlockEnd, BlockStart
from streamllm.integrations._lc_deltas import chat_deltas
from streamllm.usage import TokenUsage, normalize_finish_reason

__all__ = ["ChatBlocks"]

# ChatDelta("text", content) without the named tuple's Python-level __new__ (per
# token); a test checks it equals the real thing.
_new = tuple.__new__


@final
class ChatBlocks:
    """One streamed chat run's blocks (see the module docstring)."""

    __slots__ = ("_asm", "_run", "_tokens", "streamed")

    def __init__(self, run: RunManager, tokens: bool) -> None:
        self._run = run
        self._tokens = tokens
        self._asm = Assembler()
        #: Whether any chunk carried content (else the result comes from LangChain's message).
        self.streamed = False

    def feed(
        self, message: Any, texts: list[str], extras: Mapping[str, Any] | None
    ) -> tuple[BaseEvent | None, ...]:
        """The events for one LangChain chunk; its text is added to ``texts``."""
        content = message.content
        if type(content) is str and not message.tool_call_chunks:
            # The hot path: plain text continuing the open text block.
            if not content:
                return ()
            self.streamed = True
            fields = ("text", content, None, None, None, None, None, None, None, None)
            pieces = self._asm.feed(_new(ChatDelta, fields))
            block, _, _, _, _, _, first, last, _ = pieces[0]
            if not (first or last or len(pieces) > 1):
                texts.append(content)
                if self._tokens:
                    return (self._run.token_event(content, extras, block),)
                return ()
            out: list[BaseEvent | None] = []
            for piece in pieces:
                self._events(piece, texts, extras, out)
            return tuple(out)
        out = []
        for delta in chat_deltas(message):
            self.streamed = True
            for piece in self._asm.feed(delta):
                self._events(piece, texts, extras, out)
        return tuple(out)

    def _events(
        self,
        piece: BlockChunk,
        texts: list[str],
        extras: Mapping[str, Any] | None,
        out: list[BaseEvent | None],
    ) -> None:
        run, block, kind = self._run, piece.block, piece.kind
        if piece.first:
            fields = {"block": block, "kind": kind, "id": piece.id, "tool_name": piece.name}
            out.append(run.build(BlockStart, fields))
        text = piece.text
        if text:
            if kind == "text":
                texts.append(text)
                if self._tokens:
                    out.append(run.token_event(text, extras, block))
            else:
                out.append(run.build(BlockDelta, {"block": block, "kind": kind, "delta": text}))
        if piece.last:
            out.append(run.build(BlockEnd, {"block": block, "content": piece.content}))

    def finish(
        self,
        usage: TokenUsage | None,
        raw_finish: str | None,
        metadata: Mapping[str, Any],
        message_id: str | None,
    ) -> tuple[list[BaseEvent | None], AIMessage]:
        """The open blocks' ``BlockEnd``\\ s and the whole message, with the run's
        usage and finish reason (LangChain reports them at the end)."""
        last, message = self._asm.finish()
        out: list[BaseEvent | None] = []
        for piece in last.pieces:
            self._events(piece, [], None, out)
        return out, _completed(message, usage, raw_finish, metadata, message_id)

    def partial(self) -> AIMessage:
        """The message as far as it came (for ``LLMError.partial``)."""
        return self._asm.partial()


def _completed(
    message: AIMessage,
    usage: TokenUsage | None,
    raw: str | None,
    metadata: Mapping[str, Any],
    message_id: str | None,
) -> AIMessage:
    response = {**metadata, **message.response_metadata}
    if raw is not None:
        response["finish_reason"] = raw
    return message.model_copy(
        update={
            "usage": usage,
            "finish_reason": normalize_finish_reason(raw),
            "response_metadata": response,
            "id": message.id or message_id,
        }
    )
