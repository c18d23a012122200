"""The chat run drivers: a provider's :class:`ChatDelta`\\ s become block events and chunks.

The same core as the text drivers (:mod:`streamllm.models._run`): a
:class:`Call` opens the stream, ``Call.start``/``success`` and
:func:`~streamllm.models._run.fail` decide the terminal event, the
:class:`RunManager` delivers. What differs is the loop: each delta goes through
the run's :class:`~streamllm.chat.assembler.Assembler`, and for each piece it
returns, in order, the driver fires ``BlockStart`` (a block's first piece),
``NewToken(block=i)`` for text or ``BlockDelta`` for reasoning and tool-call
arguments, and ``BlockEnd`` with the finished block (its last piece), before
the consumer gets the :class:`AIMessageChunk` of those pieces. When the stream
ends, :meth:`Assembler.finish` ends the blocks left open (OpenAI sends no ends)
and the last chunk, carrying usage and the finish reason, is always yielded.

On a failure or cancellation nothing more is fired but the ``LLMError``,
whose ``partial.message`` is :meth:`Assembler.partial`: the blocks as far as
they came, raw argument text included.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any
from uuid import UUID

from streamllm.callbacks.manager import RunManager
from streamllm.chat.assembler import Assembler
from streamllm.chat.blocks import BlockKind
from streamllm.chat.chunks import AIMessageChunk
from streamllm.chat.deltas import ChatDelta
from streamllm.chat.message import AIMessage
from streamllm.chat.pieces import BlockChunk
from streamllm.events import BlockDelta, BlockEnd, BlockStart
from streamllm.models._run import Call, Driver, aclose_iter, afail, cancellable, close_iter, fail
from streamllm.outputs import Generation, LLMResult, TokenUsage
from streamllm.request import Outcome, Request

__all__ = ["CHAT", "ChatOutcome", "chat_adrive", "chat_drive", "generated_text"]

_new_chunk = object.__new__


def _no_text(text: str) -> None:
    raise AssertionError("no hot block is open")  # pragma: no cover


#: ``Assembler.hot`` when no block is open: matches no delta's kind.
_NO_HOT: tuple[BlockKind | None, int, Callable[[str], None]] = (None, 0, _no_text)


class ChatOutcome(Outcome):
    """A chat run's outcome: its assembler and, once the stream ended, its message."""

    __slots__ = ("asm", "message")

    def __init__(self) -> None:
        super().__init__()
        self.asm = Assembler()
        self.message: AIMessage | None = None

    def output(self) -> AIMessage:
        """What ``invoke`` returns: the message (as far as it came, if the run failed)."""
        return self.message if self.message is not None else self.asm.partial()

    @property
    def text(self) -> str:
        return self.output().text

    def build(
        self,
        model: str,
        run_id: UUID,
        request: Request,
        estimate: Callable[[str], TokenUsage],
    ) -> LLMResult:
        """The run's result: its message, and the text, finish reason and usage
        of the message (estimated, over everything generated, when the provider
        reported none)."""
        message = self.output()
        usage = message.usage or estimate(generated_text(message))
        generation = Generation(
            text=message.text,
            finish_reason=message.finish_reason,
            provider_finish_reason=message.response_metadata.get("finish_reason"),
        )
        return LLMResult(
            generations=((generation,),),
            usage=usage,
            model=model,
            run_ids=(run_id,),
            retries=request.retries,
            message=message,
        )


def generated_text(message: AIMessage) -> str:
    """Everything the model wrote, for estimating its tokens: text, reasoning,
    tool names and arguments."""
    parts = [message.text, message.reasoning]
    for call in message.tool_calls:
        parts += (call.name, json.dumps(dict(call.args)))
    parts += (c.args_text for c in message.invalid_tool_calls)
    return "".join(parts)


def _fire(run: RunManager, pieces: tuple[BlockChunk, ...], tokens: bool) -> None:
    """The events of ``pieces``, in order (``tokens``: whether NewTokens are wanted)."""
    step = run.step
    for p in pieces:
        if p.first:
            step(BlockStart, {"block": p.block, "kind": p.kind, "id": p.id, "tool_name": p.name})
        text = p.text
        if text:
            if p.kind == "text":
                if tokens:
                    run.token(text, None, p.block)
            elif run.wants_deltas():
                run.delta(p.block, p.kind, text)
        if p.last:
            step(BlockEnd, {"block": p.block, "content": p.content})


async def _afire(run: RunManager, pieces: tuple[BlockChunk, ...], tokens: bool) -> None:
    """Async :func:`_fire`: async hooks are awaited inline, in order."""
    astep = run.astep
    for p in pieces:
        if p.first:
            fields = {"block": p.block, "kind": p.kind, "id": p.id, "tool_name": p.name}
            await astep(BlockStart, fields)
        text = p.text
        if text:
            if p.kind == "text":
                if tokens:
                    await run.atoken(text, None, p.block)
            elif run.wants_deltas():
                await run.adelta(p.block, p.kind, text)
        if p.last:
            await astep(BlockEnd, {"block": p.block, "content": p.content})


def chat_drive(
    call: Call[ChatDelta],
    run: RunManager,
    outcome: ChatOutcome,
    *,
    tokens: bool,
    need_result: bool = False,
    cancel: threading.Event | None = None,
    chunks: bool = False,
) -> Generator[AIMessageChunk, None, None]:
    """Run one chat call in sync code. ``tokens``: fire the block events and
    NewTokens (off for a non-streaming ``invoke``); ``chunks``: yield an
    :class:`AIMessageChunk` after the events of each delta that made pieces,
    and the last one (``stream``), or nothing (``invoke``, ``batch``)."""
    asm = outcome.asm
    feed = asm.feed
    it: Any = None
    try:
        run.emit(call.start(run))
        it = call.chunks() if cancel is None else cancellable(call.chunks(), cancel)
        fire = tokens and (run.wants_tokens() or _wants_blocks(run))
        want_tokens = tokens and run.wants_tokens()
        token = run.token
        block_delta = run.delta
        want_deltas = run.wants_deltas()
        hot_kind, hot_pos, hot_append = asm.hot or _NO_HOT
        for delta in it:
            # The assembler's hot path, inline (see Assembler.hot): one more
            # fragment of the open unnumbered block of its kind. Indexing, not
            # attributes: a named tuple's item is the cheaper read.
            kind = delta[0]
            if kind == hot_kind and delta[2] is None and delta[5] is None:
                text = delta[1]
                if text:
                    hot_append(text)
                pos, pieces = hot_pos, None  # its chunk builds the piece when read
            else:
                pieces = feed(delta)
                hot_kind, hot_pos, hot_append = asm.hot or _NO_HOT
                if not pieces:
                    continue
                pos, kind, text, _, _, _, first, ends, _ = pieces[0]
                if len(pieces) > 1 or first or ends:
                    if fire:
                        _fire(run, pieces, want_tokens)
                    text = ""  # fired with the boundaries
            # One plain fragment (the common case): its token or delta.
            if text and fire:
                if kind == "text":
                    if want_tokens:
                        token(text, None, pos)
                elif want_deltas:
                    block_delta(pos, kind, text)
            if chunks:
                # AIMessageChunk._of / _fragment inline (a call costs as much as the chunk).
                c = _new_chunk(AIMessageChunk)
                c._pieces = pieces
                c._state = c._tail = None
                c._frag = delta
                c._pos = pos
                c.id = asm.id
                yield c
        it = None
        tail, outcome.message = asm.finish()
        if fire and tail.pieces:
            _fire(run, tail.pieces, want_tokens)
        if chunks:
            yield tail
    except BaseException as exc:
        close_iter(it)
        fail(call, run, outcome, exc)
    run.finish(call.success(run, outcome, need_result))


async def chat_adrive(
    call: Call[ChatDelta],
    run: RunManager,
    outcome: ChatOutcome,
    *,
    tokens: bool,
    need_result: bool = False,
    chunks: bool = False,
) -> AsyncGenerator[AIMessageChunk, None]:
    """The async form of :func:`chat_drive`."""
    asm = outcome.asm
    feed = asm.feed
    inline = not run.has_async
    chunk = AIMessageChunk._of
    fragment = AIMessageChunk._fragment
    it: Any = None
    try:
        await run.aemit(call.start(run))
        it = call.achunks()
        fire = tokens and (run.wants_tokens() or _wants_blocks(run))
        want_tokens = tokens and run.wants_tokens()
        want_deltas = run.wants_deltas()
        hot_kind, hot_pos, hot_append = asm.hot or _NO_HOT
        async for delta in it:
            kind = delta[0]
            if kind == hot_kind and delta[2] is None and delta[5] is None:  # as chat_drive's
                text = delta[1]
                if text:
                    hot_append(text)
                    if fire and kind == "text":
                        if want_tokens:
                            if inline:
                                run.token(text, None, hot_pos)
                            else:
                                await run.atoken(text, None, hot_pos)
                    elif fire and want_deltas:
                        if inline:
                            run.delta(hot_pos, kind, text)
                        else:
                            await run.adelta(hot_pos, kind, text)
                if chunks:
                    yield fragment(delta, hot_pos, asm.id)
                continue
            pieces = feed(delta)
            hot_kind, hot_pos, hot_append = asm.hot or _NO_HOT
            if pieces:
                if fire:
                    if inline:
                        _fire(run, pieces, want_tokens)
                    else:
                        await _afire(run, pieces, want_tokens)
                if chunks:
                    yield chunk(pieces, asm.id)
        it = None
        last, outcome.message = asm.finish()
        if fire and last.pieces:
            await _afire(run, last.pieces, want_tokens)
        if chunks:
            yield last
    except BaseException as exc:
        await aclose_iter(it)
        await afail(call, run, outcome, exc)
    await run.afinish(call.success(run, outcome, need_result))


def _wants_blocks(run: RunManager) -> bool:
    return run.wants(BlockStart.slot) or run.wants(BlockDelta.slot) or run.wants(BlockEnd.slot)


#: The chat models' drivers.
CHAT = Driver(chat_drive, chat_adrive, ChatOutcome)
