"""Fake models for tests, examples and benchmarks: no network, deterministic."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import ClassVar

from pydantic import Field, PrivateAttr

from streamllm.models._stop import cut_at_stop
from streamllm.models.base import BaseLLM
from streamllm.outputs import GenerationChunk, TokenUsage
from streamllm.request import Request

__all__ = ["FakeListLLM", "FakeNonStreamingLLM", "split_words"]

_WORDS = re.compile(r"\s*\S+|\s+")


def split_words(text: str) -> list[str]:
    """Split text into words that keep their leading spaces: the pieces add up
    to the text exactly.

    >>> split_words("Hello  big world ")
    ['Hello', '  big', ' world', ' ']
    """
    return _WORDS.findall(text)


class _FakeBase(BaseLLM):
    provider: ClassVar[str] = "fake"
    hidden_params: ClassVar[frozenset[str]] = frozenset({"responses", "usage", "delay"})

    responses: list[str | list[str]] = Field(min_length=1)
    model: str = "fake"
    usage: TokenUsage | None = None

    # Iterator[int], not itertools.count[int]: pydantic 2.7 evaluates the
    # annotation, and itertools.count is not subscriptable at run time.
    _counter: Iterator[int] = PrivateAttr(default_factory=itertools.count)

    def _next(self, request: Request) -> list[str]:
        # next() on itertools.count is atomic: safe from many threads. The
        # private slot is read directly: pydantic's __getattr__ costs ~0.5 µs.
        counter = self.__pydantic_private__["_counter"]  # type: ignore[index]
        response = self.responses[next(counter) % len(self.responses)]
        tokens = split_words(response) if isinstance(response, str) else response
        stop = request.params.get("stop")
        # Cut at the first stop sequence, as a provider stops generating there.
        return cut_at_stop(tokens, stop) if stop else tokens

    def _final(self, text: str = "") -> GenerationChunk:
        return GenerationChunk(text, finish_reason="stop", usage=self.usage)


class FakeListLLM(_FakeBase):
    """Streams its responses in turn, word by word, keeping the spaces.

    A response may also be a list of tokens, streamed as given. ``delay`` is
    slept before each token; ``usage``, when given, is reported as the
    provider's count.

    >>> model = FakeListLLM(responses=["Why did the chicken cross the road?"])
    >>> model.invoke("Tell me a joke.")
    'Why did the chicken cross the road?'
    """

    delay: float = Field(default=0.0, ge=0.0)

    def _stream(self, request: Request) -> Iterator[GenerationChunk]:
        delay = self.delay
        for token in self._next(request):
            if delay:
                time.sleep(delay)
            yield GenerationChunk(token)
        yield self._final()

    async def _astream(self, request: Request) -> AsyncIterator[GenerationChunk]:
        delay = self.delay
        for token in self._next(request):
            if delay:
                await asyncio.sleep(delay)
            yield GenerationChunk(token)
        yield self._final()


class FakeNonStreamingLLM(_FakeBase):
    """Returns each response whole: no ``_stream``, so streaming falls back to
    one chunk, as the seed describes for providers that do not stream."""

    def _generate(self, request: Request) -> GenerationChunk:
        return self._final("".join(self._next(request)))

    async def _agenerate(self, request: Request) -> GenerationChunk:
        return self._generate(request)
