"""The run's outcome (issue 11.10): tokens are kept joined, not one str each."""

from __future__ import annotations

import asyncio
import itertools
import sys
import tracemalloc
from collections.abc import AsyncIterator, Iterator

import pytest

from streamllm import BaseLLM, GenerationChunk, LLMError, Request
from streamllm.request import BLOCK
from streamllm.testing import RecordingHandler


class Fresh(BaseLLM):
    """Makes every token as it streams, as a provider does."""

    count: int = 10

    def _stream(self, request: Request) -> Iterator[GenerationChunk]:
        for i in range(self.count):
            yield GenerationChunk(f" t{i % 1000}")


@pytest.mark.parametrize("taken", [0, 3, BLOCK, BLOCK + 3, BLOCK * 3 + 5])
def test_the_text_is_exact_across_blocks_whole_or_abandoned(taken: int) -> None:
    """The drivers join tokens per BLOCK: the result's text (and an abandoned
    run's partial text) is every token taken, in order, across block edges."""
    n = BLOCK * 3 + 5
    model = Fresh(count=n)
    tokens = [f" t{i % 1000}" for i in range(n)]
    assert model.invoke("x") == "".join(tokens)
    seen = RecordingHandler()
    stream = model.stream("x", callbacks=[seen])
    got = list(itertools.islice(stream, taken))
    stream.close()
    if taken == 0:  # never started: no run, no events
        assert seen.events == []
    else:
        last = seen.events[-1]
        assert isinstance(last, LLMError)
        assert last.partial.text == "".join(got) == "".join(tokens[:taken])

    async def main() -> str:
        agen = model.astream("x", callbacks=[seen])
        got = [t async for t, _ in _azip(agen, taken)]
        await agen.aclose()
        return "".join(got)

    assert asyncio.run(main()) == "".join(tokens[:taken])
    if taken:
        last = seen.events[-1]
        assert isinstance(last, LLMError)
        assert last.partial.text == "".join(tokens[:taken])


async def _azip(agen: AsyncIterator[str], n: int) -> AsyncIterator[tuple[str, int]]:
    i = 0
    while i < n:
        try:
            yield await agen.__anext__(), i
        except StopAsyncIteration:
            return
        i += 1


def test_streaming_holds_about_the_text_not_every_token() -> None:
    """Before: every token stayed alive as its own str until the end, ~13 times
    the text for short tokens. Now the stream's peak stays within 3 times."""
    n = 200_000
    model = Fresh(count=n)
    text = sys.getsizeof(model.invoke("x"))
    tracemalloc.start()
    try:
        assert sum(1 for _ in model.stream("x")) == n
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * text, f"peak {peak / 1e6:.1f} MB for {text / 1e6:.1f} MB of text"
