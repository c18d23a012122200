"""Shared test helpers: a model that fails on demand and a run checker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any
from uuid import UUID

from streamllm import FakeListLLM, GenerationChunk, LLMEnd, LLMError, LLMStart, NewToken
from streamllm.events import BaseEvent, BlockDelta, BlockEnd, BlockStart
from streamllm.request import Request


class Boom(RuntimeError):
    """The provider failure the tests inject."""


class FailingLLM(FakeListLLM):
    """Streams its response, then raises ``Boom`` after ``fail_after`` tokens."""

    fail_after: int = 0

    def _stream(self, request: Request) -> Iterator[GenerationChunk]:
        for i, chunk in enumerate(super()._stream(request)):
            if i == self.fail_after:
                raise Boom(f"provider failed after {i} tokens")
            yield chunk

    async def _astream(self, request: Request) -> AsyncIterator[GenerationChunk]:
        i = 0
        async for chunk in super()._astream(request):
            if i == self.fail_after:
                raise Boom(f"provider failed after {i} tokens")
            i += 1
            yield chunk


def check_runs(events: Sequence[BaseEvent]) -> dict[UUID, list[BaseEvent]]:
    """Assert the section-2 guarantees on one handler's events; return them by run."""
    runs: dict[UUID, list[BaseEvent]] = {}
    for event in events:
        runs.setdefault(event.run_id, []).append(event)
    for run_events in runs.values():
        check_run(run_events)
    return runs


def check_run(events: Sequence[BaseEvent]) -> BaseEvent:
    """One run: start, tokens by index, exactly one terminal last; seq 0..n-1;
    the tokens add up to the result's text. Returns the terminal event."""
    assert isinstance(events[0], LLMStart), events[0]
    assert [e.seq for e in events] == list(range(len(events)))
    terminal = events[-1]
    assert isinstance(terminal, LLMEnd | LLMError), f"run ended with {terminal.type}"
    middle = events[1:-1]
    # A chat run's text tokens sit between its blocks' start and end events.
    steps = [e for e in middle if not isinstance(e, BlockStart | BlockDelta | BlockEnd)]
    assert all(isinstance(e, NewToken) for e in steps), [e.type for e in steps]
    tokens: list[Any] = list(steps)
    assert [t.index for t in tokens] == list(range(len(tokens)))
    text = terminal.result.text if isinstance(terminal, LLMEnd) else terminal.partial.text
    assert "".join(t.token for t in tokens) == text
    assert all(t.token for t in tokens), "an empty chunk was sent as a token"
    assert len({e.trace_id for e in events}) == 1
    return terminal
