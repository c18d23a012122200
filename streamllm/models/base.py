"""BaseLLM: the Runnable interface every model implements (DESIGN.md section 6).

A provider subclasses :class:`BaseLLM` and implements ``_stream`` (yield
:class:`GenerationChunk`), and optionally ``_astream``, ``_generate`` and
``_agenerate``. The base class hands each call to a run driver
(:mod:`streamllm.models._run`), which fires every event, accumulates the text
and builds the :class:`LLMResult`; the provider never touches handlers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from typing import Unpack

from streamllm.models._batch_methods import BatchMethods
from streamllm.models._event_methods import EventMethods
from streamllm.models._model import BaseLanguageModel
from streamllm.models._run import Call
from streamllm.models._stop import Stop
from streamllm.models.config import CallOptions, LLMInput, RunnableConfig
from streamllm.outputs import GenerationChunk
from streamllm.request import Request

__all__ = ["BaseLLM", "BaseLanguageModel", "CallOptions", "LLMInput", "RunnableConfig"]


class BaseLLM(BaseLanguageModel, BatchMethods[str], EventMethods):
    """Base class of every text model: ``invoke`` returns a ``str`` and
    ``stream`` yields ``str`` tokens. The parameters and their checks are
    :class:`~streamllm.models._model.BaseLanguageModel`'s.

    >>> from streamllm import FakeListLLM
    >>> model = FakeListLLM(responses=["Hello there"])
    >>> list(model.stream("hi"))
    ['Hello', ' there']
    """

    def _stream(self, request: Request) -> Iterator[GenerationChunk]:
        """Yield chunks. The default streams ``_generate``'s output as one chunk."""
        yield self._generate(request)

    async def _astream(self, request: Request) -> AsyncIterator[GenerationChunk]:
        """Async chunks. The default runs the sync ``_stream`` in a worker thread."""
        if type(self)._stream is BaseLLM._stream:
            yield await self._agenerate(request)
            return
        iterator = self._stream(request)
        done = object()
        try:
            while True:
                chunk = await asyncio.to_thread(next, iterator, done)
                if chunk is done:
                    return
                yield chunk  # type: ignore[misc]
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                await asyncio.to_thread(close)

    def _generate(self, request: Request) -> GenerationChunk:
        """The whole output at once. The default collects ``_stream``."""
        if type(self)._stream is BaseLLM._stream:
            raise TypeError(f"{type(self).__name__} implements neither _stream nor _generate")
        out = GenerationChunk()
        for chunk in self._stream(request):
            out = out + chunk
        return out

    async def _agenerate(self, request: Request) -> GenerationChunk:
        """Async whole output. The default runs ``_generate`` in a worker thread."""
        return await asyncio.to_thread(self._generate, request)

    def _use_stream(self) -> bool:
        return self.streaming or type(self)._generate is BaseLLM._generate

    def _call(self, input: LLMInput, stream: bool) -> Call[GenerationChunk]:
        """Everything a driver needs for one run on ``input``."""
        if stream:
            return Call(
                self.model_name,
                self._request(input),
                self._stream,
                self._astream,
                self.estimate_usage,
            )
        return Call(
            self.model_name,
            self._request(input),
            self._generate_once,
            self._agenerate_once,
            self.estimate_usage,
        )

    def _generate_once(self, request: Request) -> Iterator[GenerationChunk]:
        return iter((self._generate(request),))

    async def _agenerate_once(self, request: Request) -> AsyncIterator[GenerationChunk]:
        yield await self._agenerate(request)

    # -- the Runnable methods ---------------------------------------------

    def invoke(
        self,
        input: LLMInput,
        config: RunnableConfig | None = None,
        *,
        stop: Stop | None = None,
        **kwargs: Unpack[CallOptions],
    ) -> str:
        """Run the model on one input and return its text.

        With ``streaming=True`` (or a provider that only streams), every token
        fires ``on_llm_new_token`` on the way.
        """
        return self._invoke(input, config, kwargs, stop)  # type: ignore[no-any-return]

    async def ainvoke(
        self,
        input: LLMInput,
        config: RunnableConfig | None = None,
        *,
        stop: Stop | None = None,
        **kwargs: Unpack[CallOptions],
    ) -> str:
        """Async :meth:`invoke`."""
        return await self._ainvoke(input, config, kwargs, stop)  # type: ignore[no-any-return]

    def stream(
        self,
        input: LLMInput,
        config: RunnableConfig | None = None,
        *,
        stop: Stop | None = None,
        **kwargs: Unpack[CallOptions],
    ) -> Generator[str, None, None]:
        """Yield the response token by token.

        The iterator ends its run with exactly one terminal event, also when it
        is closed early or garbage collected (then ``LLMError(reason="cancelled")``).
        """
        return self._stream_run(input, config, kwargs, (), stop)

    def astream(
        self,
        input: LLMInput,
        config: RunnableConfig | None = None,
        *,
        stop: Stop | None = None,
        **kwargs: Unpack[CallOptions],
    ) -> AsyncGenerator[str, None]:
        """Async :meth:`stream`. Use ``contextlib.aclosing`` to end an abandoned
        run at once rather than when the loop finalises the generator."""
        return self._astream_run(input, config, kwargs, (), stop)
