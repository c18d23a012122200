"""The run's outcome (issue 11.10): tokens are kept joined, not one str each."""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Iterator

from streamllm import BaseLLM, GenerationChunk, Request
from streamllm.request import BLOCK, Outcome


class Fresh(BaseLLM):
    """Makes every token as it streams, as a provider does."""

    count: int = 10

    def _stream(self, request: Request) -> Iterator[GenerationChunk]:
        for i in range(self.count):
            yield GenerationChunk(f" t{i % 1000}")


def test_outcome_joins_tokens_per_block() -> None:
    outcome = Outcome()
    for i in range(BLOCK * 3 + 5):
        outcome.texts.append(str(i % 10))
        if len(outcome.texts) >= BLOCK:
            outcome.compact()
    assert len(outcome.texts) == 5
    assert len(outcome.blocks) == 3
    assert outcome.text == "".join(str(i % 10) for i in range(BLOCK * 3 + 5))


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
