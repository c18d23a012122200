"""The guarantees of DESIGN.md sections 2 and 11, per content block, for chat models:
random block layouts (text, reasoning, valid and invalid tool calls), interleaved
parallel calls, random fragment sizes, failing handlers, consumer break points and
provider failures, for all eight ways to run a model.

The seed is printed (and taken from STREAMLLM_TEST_SEED when set), so a failure
found here can be replayed exactly.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections.abc import Iterator
from contextlib import aclosing
from typing import Any

from hypothesis import HealthCheck, given, note, seed, settings
from hypothesis import strategies as st

from streamllm import CallbackHandler, handler_failures
from streamllm.chat import AIMessage, AIMessageChunk, InvalidToolCall, ReasoningBlock, TextBlock
from streamllm.chat._args import tool_block
from streamllm.chat.blocks import Block, ToolCall
from streamllm.chat.deltas import ChatDelta
from streamllm.chat.script import deltas_for
from streamllm.events import (
    HOOKS,
    BaseEvent,
    BlockDelta,
    BlockEnd,
    BlockStart,
    LLMEnd,
    LLMError,
    LLMStart,
    NewToken,
)
from streamllm.models.fake_chat import FakeChatModel
from streamllm.request import Request
from streamllm.testing import AsyncRecordingHandler, RecordingHandler
from streamllm.usage import TokenUsage

SEED = int(os.environ.get("STREAMLLM_TEST_SEED") or random.randrange(2**32))
SYNC_MODES = ["stream", "invoke", "batch", "stream_events"]
ASYNC_MODES = ["astream", "ainvoke", "abatch", "astream_events"]
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CHAT_HOOKS = [h for h in HOOKS if h.startswith(("on_llm", "on_block"))]


class Boom(Exception):
    """The provider's failure."""


# -- random messages -----------------------------------------------------------

words = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30)
json_scalars = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8)
args = st.dictionaries(st.text(max_size=6), json_scalars | st.lists(json_scalars, max_size=3))
bad_args = st.sampled_from(['{"city": ', "[1, 2]", "not json", '"just a string"', "{,}"])


@st.composite
def messages(draw: st.DrawFn) -> AIMessage:
    kinds = draw(st.lists(st.sampled_from(["text", "reasoning", "call", "bad"]), max_size=6))
    blocks: list[Block] = []
    for i, kind in enumerate(kinds):
        if kind == "text":
            blocks.append(TextBlock(text=draw(words)))
        elif kind == "reasoning":
            blocks.append(ReasoningBlock(text=draw(words)))
        else:
            text = json.dumps(draw(args)) if kind == "call" else draw(bad_args)
            blocks.append(tool_block(f"call_{i}", draw(st.sampled_from(["f", "get"])), text))
    finish = "tool_calls" if any(k in ("call", "bad") for k in kinds) else "stop"
    usage = draw(st.none() | st.builds(TokenUsage.of, st.integers(0, 99), st.integers(0, 99)))
    return AIMessage(
        id=draw(st.none() | st.just("msg-1")),
        content_blocks=tuple(blocks),
        usage=usage,
        finish_reason=finish,
        response_metadata={"finish_reason": finish},
    )


class FailingChat(FakeChatModel):
    """Raises Boom before delta number ``fail_at`` (never when None)."""

    fail_at: int | None = None

    def _stream(self, request: Request) -> Iterator[ChatDelta]:
        for i, delta in enumerate(super()._stream(request)):
            if i == self.fail_at:
                raise Boom("connection reset")
            yield delta


class Flaky(CallbackHandler):
    """Raises on the hooks it is told to, and records everything it saw."""

    def __init__(self, fail_on: set[str]) -> None:
        self.fail_on = fail_on
        self.events: list[BaseEvent] = []

    def on_event(self, event: BaseEvent) -> None:
        self.events.append(event)
        if type(event).hook in self.fail_on:
            raise ValueError(f"flaky {type(event).hook}")


# -- running -------------------------------------------------------------------


def received(chunks: list[AIMessageChunk]) -> AIMessage:
    return sum(chunks, AIMessageChunk(())).to_message()


def stream_one(model: FakeChatModel, handlers: list[Any], break_at: int | None) -> Any:
    """Stream one run: the message received, or (exception, message so far)."""
    got: list[AIMessageChunk] = []
    recorder = handlers[-1]
    iterator = model.stream("p", callbacks=handlers)
    try:
        for chunk in iterator:
            got.append(chunk)
            # Every NewToken of this chunk reached the handlers before the chunk reached us.
            assert "".join(recorder.tokens()).endswith(received(got).text)
            if break_at is not None and len(got) > break_at:
                break
    except Boom as exc:
        return exc, received(got)
    finally:
        iterator.close()
    return received(got)


async def astream_one(model: FakeChatModel, handlers: list[Any], break_at: int | None) -> Any:
    got: list[AIMessageChunk] = []
    recorder = handlers[-1]
    try:
        async with aclosing(model.astream("p", callbacks=handlers)) as stream:
            async for chunk in stream:
                got.append(chunk)
                assert "".join(recorder.tokens()).endswith(received(got).text)
                if break_at is not None and len(got) > break_at:
                    break
    except Boom as exc:
        return exc, received(got)
    return received(got)


def from_events(events: list[Any]) -> AIMessage:
    for event in events:
        if isinstance(event, LLMEnd):
            assert event.result.message is not None
            return event.result.message
    raise Boom("no LLMEnd in the event stream")


def run_sync(model: FakeChatModel, mode: str, n: int, handlers: list[Any], brk: int | None) -> Any:
    out: list[Any] = []
    for _ in range(n if mode != "batch" else 1):
        try:
            if mode == "stream":
                out.append(stream_one(model, handlers, brk))
            elif mode == "invoke":
                out.append(model.invoke("p", callbacks=handlers))
            elif mode == "batch":
                got = model.batch(["p"] * n, callbacks=handlers, max_concurrency=2)
                out.extend(got)
            else:
                out.append(from_events(list(model.stream_events("p", callbacks=handlers))))
        except Boom as exc:
            out.append((exc, None))
    return out


async def run_async(
    model: FakeChatModel, mode: str, n: int, handlers: list[Any], brk: int | None
) -> Any:
    out: list[Any] = []
    for _ in range(n if mode != "abatch" else 1):
        try:
            if mode == "astream":
                out.append(await astream_one(model, handlers, brk))
            elif mode == "ainvoke":
                out.append(await model.ainvoke("p", callbacks=handlers))
            elif mode == "abatch":
                out.extend(await model.abatch(["p"] * n, callbacks=handlers, max_concurrency=2))
            else:
                events = [e async for e in model.astream_events("p", callbacks=handlers)]
                out.append(from_events(events))
        except Boom as exc:
            out.append((exc, None))
    return out


# -- checking ------------------------------------------------------------------


def joined_matches(block: Block, deltas: str) -> bool:
    """The concatenation rule: a block's deltas joined are its text or raw arguments."""
    if isinstance(block, TextBlock | ReasoningBlock):
        return block.text == deltas
    if isinstance(block, InvalidToolCall):
        return block.args_text == deltas
    assert isinstance(block, ToolCall)
    return (json.loads(deltas) if deltas.strip() else {}) == block.args


def check_chat_run(events: list[Any]) -> Any:
    """One run's events: lifecycle, per-block order and the concatenation rules."""
    assert isinstance(events[0], LLMStart)
    assert [e.seq for e in events] == list(range(len(events)))
    terminal = events[-1]
    assert isinstance(terminal, LLMEnd | LLMError)
    message = terminal.result.message if isinstance(terminal, LLMEnd) else terminal.partial.message
    assert message is not None
    middle = events[1:-1]
    kinds: dict[int, str] = {}
    ended: dict[int, Block] = {}
    deltas: dict[int, list[str]] = {}
    tokens = [e for e in middle if isinstance(e, NewToken)]
    assert [t.index for t in tokens] == list(range(len(tokens)))
    for e in middle:
        assert isinstance(e, BlockStart | BlockDelta | BlockEnd | NewToken), e.type
        if isinstance(e, BlockStart):
            assert e.block not in kinds, "a block started twice"
            assert e.block == len(kinds), "blocks are numbered in start order"
            kinds[e.block] = e.kind
            deltas[e.block] = []
            continue
        assert e.block in kinds, "an event before its block's start"
        assert e.block not in ended, "an event after its block's end"
        if isinstance(e, NewToken):
            assert kinds[e.block] == "text"
            assert e.token
            deltas[e.block].append(e.token)
        elif isinstance(e, BlockDelta):
            assert e.kind == kinds[e.block] != "text"
            deltas[e.block].append(e.delta)
        else:
            ended[e.block] = e.content
    assert "".join(t.token for t in tokens) == (
        terminal.result.text if isinstance(terminal, LLMEnd) else terminal.partial.text
    )
    assert len(kinds) == len(message.content_blocks)
    if isinstance(terminal, LLMEnd):
        assert set(ended) == set(kinds), "every BlockEnd before LLMEnd"
    for block, content in enumerate(message.content_blocks):
        if block in ended:
            assert ended[block] == content
        assert joined_matches(content, "".join(deltas[block])), (content, deltas[block])
    return terminal


def check(
    recorders: list[Any],
    flaky: Flaky,
    results: list[Any],
    answers: list[AIMessage],
    brk: int | None,
    fail_at: int | None,
    streamed: bool,
) -> None:
    failed = [r for r in results if isinstance(r, tuple)]
    for recorder in [*recorders, flaky]:
        runs: dict[Any, list[Any]] = {}
        for event in recorder.events:
            runs.setdefault(event.run_id, []).append(event)
        # A failed batch starts no new run after its first failure.
        assert len(runs) == len(answers) or (failed and 1 <= len(runs) < len(answers))
        for events in runs.values():
            terminal = check_chat_run(events)
            if isinstance(terminal, LLMError):
                assert terminal.reason == (
                    "failed" if terminal.error.type == "Boom" else "cancelled"
                )
    failed = [r for r in results if isinstance(r, tuple)]
    whole = [r for r in results if isinstance(r, AIMessage)]
    if fail_at is None:
        assert not failed
    if not failed and (brk is None or not streamed):
        # A failing handler never changes what the caller receives: sum(chunks) == the message.
        assert sorted(map(repr, whole)) == sorted(map(repr, answers))
    for r in failed:
        exc, got = r
        assert isinstance(exc, Boom)
        if streamed and got is not None:
            partials = [e.partial.message for e in recorders[0].events if isinstance(e, LLMError)]
            assert any(p is not None and p.content_blocks == got.content_blocks for p in partials)
    expected = sum(1 for e in flaky.events if type(e).hook in flaky.fail_on)
    assert handler_failures.by_handler.get("Flaky", 0) == expected


def model_for(
    answer: AIMessage, interleave: bool, fragment: int, fail_at: int | None, unfinished: bool
) -> tuple[Any, AIMessage]:
    """The model scripted to stream ``answer``, and the message it must give. With
    ``unfinished`` the stream stops without a finish delta (blocks left open, as
    OpenAI's tool calls are): the end of the stream must end them."""
    if not unfinished:
        script: Any = answer
    else:
        script = [
            d
            for d in deltas_for(answer, args_fragment=fragment, interleave=interleave)
            if d.kind not in ("finish", "end")
        ]
        answer = answer.model_copy(update={"finish_reason": None, "response_metadata": {}})
    model = FailingChat(
        responses=[script], interleave=interleave, args_fragment=fragment, fail_at=fail_at
    )
    return model, answer


settings_args = {
    "answer": messages(),
    "interleave": st.booleans(),
    "fragment": st.integers(1, 10),
    "fail_on": st.sets(st.sampled_from(CHAT_HOOKS)),
    "brk": st.none() | st.integers(0, 12),
    "fail_at": st.none() | st.integers(0, 30),
    "unfinished": st.booleans(),
}


@seed(SEED)
@PROPERTY
@given(mode=st.sampled_from(SYNC_MODES), **settings_args)
def test_chat_guarantees_sync(
    mode: str,
    answer: AIMessage,
    interleave: bool,
    fragment: int,
    fail_on: set[str],
    brk: int | None,
    fail_at: int | None,
    unfinished: bool,
) -> None:
    """Per block: start, deltas, end in order; every BlockEnd before LLMEnd; one terminal;
    deltas joined equal each block; sum(chunks) equals the message; for every sync way."""
    print(f"hypothesis seed: {SEED} (STREAMLLM_TEST_SEED={SEED} replays it)")
    note(f"seed {SEED}")
    handler_failures.reset()
    model, answer = model_for(answer, interleave, fragment, fail_at, unfinished)
    recorder, flaky = RecordingHandler(), Flaky(fail_on)
    results = run_sync(model, mode, 2, [flaky, recorder], brk)
    check([recorder], flaky, results, [answer, answer], brk, fail_at, mode == "stream")


@seed(SEED)
@PROPERTY
@given(mode=st.sampled_from(ASYNC_MODES), **settings_args)
def test_chat_guarantees_async(
    mode: str,
    answer: AIMessage,
    interleave: bool,
    fragment: int,
    fail_on: set[str],
    brk: int | None,
    fail_at: int | None,
    unfinished: bool,
) -> None:
    """The same guarantees for every async way, with a sync and an async handler."""
    print(f"hypothesis seed: {SEED} (STREAMLLM_TEST_SEED={SEED} replays it)")
    note(f"seed {SEED}")
    handler_failures.reset()
    model, answer = model_for(answer, interleave, fragment, fail_at, unfinished)
    recorder, arecorder, flaky = RecordingHandler(), AsyncRecordingHandler(), Flaky(fail_on)
    results = asyncio.run(run_async(model, mode, 2, [flaky, arecorder, recorder], brk))
    check([recorder, arecorder], flaky, results, [answer, answer], brk, fail_at, mode == "astream")
