"""The chat drivers inline the assembler's hot path (``Assembler.hot``): ``stream()``
and ``astream()`` must still give, delta for delta, the chunks and block events
that ``Assembler.feed`` alone gives, for any script: unnumbered text and
reasoning switching kinds, signature pieces, empty fragments, explicit ends,
tool calls, a message id arriving mid-stream, numbered (Anthropic) blocks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streamllm.chat import AIMessageChunk, Assembler
from streamllm.chat.deltas import ChatDelta
from streamllm.events import BlockDelta, BlockEnd, BlockStart, NewToken
from streamllm.models.chat import BaseChatModel
from streamllm.request import Request
from streamllm.testing import AsyncRecordingHandler, RecordingHandler
from tests.chat.strategies import anthropic_scripts, openai_scripts
from tests.chat.test_assembler import _events

fragments = st.text(max_size=4)
loose_deltas = st.one_of(
    st.builds(lambda k, t: ChatDelta(k, t), st.sampled_from(["text", "reasoning"]), fragments),
    st.builds(lambda s: ChatDelta("reasoning", "", signature=s), st.text(max_size=3)),
    st.just(ChatDelta("end")),
    st.builds(lambda i: ChatDelta("meta", id=i), st.sampled_from(["m1", "m2"])),
    st.builds(lambda f: ChatDelta("tool", f, index=0, id="c0", name="f"), fragments),
    st.just(ChatDelta("usage", counts={"prompt_tokens": 1})),
)
scripts = st.one_of(
    st.lists(loose_deltas, max_size=25),
    openai_scripts().map(lambda s: s[0]),
    anthropic_scripts().map(lambda s: s[0]),
).flatmap(lambda d: st.sampled_from([d, [*d, ChatDelta("finish", "stop")]]))


class Replay(BaseChatModel):
    """Streams a prepared delta list."""

    hidden_params = BaseChatModel.hidden_params | {"deltas"}
    deltas: list[Any]

    def _stream(self, request: Request) -> Iterator[ChatDelta]:
        return iter(self.deltas)

    async def _astream(self, request: Request) -> AsyncIterator[ChatDelta]:
        for delta in self.deltas:
            yield delta


def reference(deltas: list[ChatDelta]) -> tuple[list[Any], list[tuple[Any, ...]]]:
    """What each chunk must hold (pieces, id) and the block events, from feed() alone."""
    asm = Assembler()
    chunks = [asm.chunk(p) for p in map(asm.feed, deltas) if p]
    chunks.append(asm.finish()[0])
    return [(c.pieces, c.id) for c in chunks], _events(chunks)


def seen(recorder: Any) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for e in recorder.events:
        if isinstance(e, BlockStart):
            out.append(("start", e.block, e.kind, e.id, e.tool_name))
        elif isinstance(e, NewToken):
            out.append(("delta", e.block, "text", e.token))
        elif isinstance(e, BlockDelta):
            out.append(("delta", e.block, e.kind, e.delta))
        elif isinstance(e, BlockEnd):
            out.append(("end", e.block, e.content))
    return out


def check(deltas: list[ChatDelta], got: list[AIMessageChunk], recorder: Any) -> None:
    chunks, events = reference(deltas)
    assert [(c.pieces, c.id) for c in got] == chunks
    assert seen(recorder) == events
    asm = Assembler()
    for delta in deltas:
        asm.feed(delta)
    assert sum(got, AIMessageChunk(())).to_message() == asm.finish()[1]
    texts = ["".join(p.text for p in pieces if p.kind == "text") for pieces, _ in chunks]
    assert [c.text for c in got] == texts


@settings(max_examples=150, deadline=None)
@given(scripts)
def test_stream_gives_what_feed_gives(deltas: list[ChatDelta]) -> None:
    recorder = RecordingHandler()
    got = list(Replay(deltas=deltas).stream("x", callbacks=[recorder]))
    check(deltas, got, recorder)


@settings(max_examples=100, deadline=None)
@given(scripts, st.booleans())
def test_astream_gives_what_feed_gives(deltas: list[ChatDelta], awaited: bool) -> None:
    """With a sync handler (called inline) and with an async one (awaited)."""
    recorder = AsyncRecordingHandler() if awaited else RecordingHandler()

    async def main() -> list[AIMessageChunk]:
        return [c async for c in Replay(deltas=deltas).astream("x", callbacks=[recorder])]

    check(deltas, asyncio.run(main()), recorder)


def test_a_fragment_chunk_reads_like_the_piece_it_stands_for() -> None:
    """The chunk of a hot fragment builds its piece when read; it adds up as any chunk."""
    deltas = [ChatDelta("reasoning", "hm "), ChatDelta("reasoning", "ok"), ChatDelta("text", "Hi")]
    chunks = list(Replay(deltas=deltas).stream("x"))
    second = chunks[1]
    assert (second.reasoning, second.text, second.tool_call_chunks) == ("ok", "", ())
    assert repr(second) == "AIMessageChunk([BlockChunk(0, 'reasoning', 'ok')])"
    assert second.to_message().reasoning == "ok"
    assert (chunks[0] + second).reasoning == "hm ok"
    assert sum(chunks).to_message().text == "Hi"  # type: ignore[union-attr]
