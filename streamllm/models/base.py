"""BaseLLM: the Runnable interface every model implements (DESIGN.md section 6).

A provider subclasses :class:`BaseLLM` and implements ``_stream`` (yield
:class:`GenerationChunk`), and optionally ``_astream``, ``_generate`` and
``_agenerate``. The base class hands each call to a run driver
(:mod:`streamllm.models._run`), which fires every event, accumulates the text
and builds the :class:`LLMResult`; the provider never touches handlers.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from typing import Any, ClassVar, Literal, Unpack, final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
)

from streamllm._frozen import freeze_mapping
from streamllm.callbacks.manager import RunManager, check_metadata
from streamllm.callbacks.registry import Entry, resolve, resolve_all
from streamllm.errors import ConfigurationError
from streamllm.events import Event
from streamllm.messages import Message, to_messages
from streamllm.models._batch import Batch
from streamllm.models._batch_methods import BatchMethods
from streamllm.models._events import aevents, events
from streamllm.models._run import Call, adrive, drive
from streamllm.models.config import (
    CallOptions,
    LLMInput,
    RunnableConfig,
    configure,
    max_concurrency,
)
from streamllm.outputs import GenerationChunk, TokenUsage
from streamllm.request import Outcome, Request, estimated_usage

__all__ = ["BaseLLM", "CallOptions", "LLMInput", "RunnableConfig"]

_NOT_PARAMS = frozenset({"callbacks", "tags", "metadata", "streaming"})


@final
class _ModelCache:
    """Per-model values derived from its fields, recomputed when a field changes."""

    __slots__ = ("entries", "params")

    def __init__(self) -> None:
        self.entries: tuple[Entry, ...] = ()
        self.params: dict[str, Any] | None = None


def _config_error(exc: ValidationError, cls: type) -> ConfigurationError:
    details = "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors()
    )
    error = ConfigurationError(f"invalid {cls.__name__} parameters: {details}")
    error.__cause__ = exc
    return error


class BaseLLM(BatchMethods, BaseModel):
    """Base class of every model: a pydantic model whose fields are its parameters.

    Fields are strict where coercion would hide a mistake: ``streaming="yes"``
    or ``max_tokens=True`` is a :class:`ConfigurationError`, not ``True`` or 1.

    >>> from streamllm import FakeListLLM
    >>> model = FakeListLLM(responses=["Hello there"])
    >>> list(model.stream("hi"))
    ['Hello', ' there']
    """

    model_config = ConfigDict(
        extra="forbid", arbitrary_types_allowed=True, validate_assignment=True
    )

    #: Provider name used in events and traces (OpenTelemetry ``gen_ai.provider.name``).
    provider: ClassVar[str] = "unknown"
    #: Fields that are not generation parameters and stay out of ``invocation_params``.
    hidden_params: ClassVar[frozenset[str]] = frozenset()

    streaming: bool = Field(default=False, strict=True)
    callbacks: list[Any] | None = None
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    max_tokens: int | None = Field(default=None, ge=1, strict=True)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0, strict=True)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0, strict=True)
    stop: list[str] | None = None
    n: int = Field(default=1, strict=True)

    # One private slot read through __pydantic_private__ directly: pydantic's
    # own private-attribute access costs ~2 µs, a lot on the per-call path.
    _cache: _ModelCache = PrivateAttr(default_factory=lambda: _ModelCache())

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _config_error(exc, type(self)) from exc

    def model_post_init(self, context: Any, /) -> None:
        self._cached.entries = resolve_all(self.callbacks)
        check_metadata(self.metadata)

    @property
    def _cached(self) -> _ModelCache:
        return self.__pydantic_private__["_cache"]  # type: ignore[index, no-any-return]

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            raise _config_error(exc, type(self)) from exc
        if not name.startswith("_"):
            self._cached.params = None
            if name == "callbacks":
                self._cached.entries = resolve_all(value)

    @field_validator("n")
    @classmethod
    def _only_one(cls, value: int) -> int:
        if value != 1:
            raise ValueError("n other than 1 is not supported yet")
        return value

    @field_validator("stop")
    @classmethod
    def _stop_strings(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not s for s in value):
            raise ValueError("stop sequences must be non-empty strings")
        return value

    # -- what providers override ----------------------------------------

    @property
    def model_name(self) -> str:
        """The model's name as events and results report it."""
        name = getattr(self, "model", None)
        return name if isinstance(name, str) else type(self).__name__

    @property
    def invocation_params(self) -> dict[str, Any]:
        """The parameters sent to the provider; never a secret. Cached per model."""
        cache = self._cached
        params = cache.params
        if params is None:
            params = {
                key: value
                for key, value in self.model_dump(
                    exclude=set(_NOT_PARAMS | self.hidden_params), mode="json"
                ).items()
                if value is not None
                and not isinstance(getattr(self, key), SecretStr)
                and not key.endswith("api_key")
            }
            params["provider"] = self.provider
            # Read-only: LLMStart hands it to every handler, and a write there
            # must not change this run's request or any later one (issue 11.3).
            params = cache.params = freeze_mapping(params, "invocation_params")
        return params

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

    def get_num_tokens(self, text: str) -> int:
        """Estimate the model tokens in ``text`` (about four characters each).

        Providers with a tokenizer override this with an exact count.
        """
        return (len(text) + 3) // 4

    def estimate_usage(self, request: Request, text: str) -> TokenUsage:
        """The usage of a run whose provider reported none: an estimate."""
        return estimated_usage(self.get_num_tokens(request.input_text()), self.get_num_tokens(text))

    # -- preparing a call -------------------------------------------------

    def _request(self, input: LLMInput) -> Request:
        if isinstance(input, str):
            return Request(input, None, self.invocation_params)
        if isinstance(input, Message):
            return Request(None, (input,), self.invocation_params)
        if isinstance(input, list | tuple):
            return Request(None, to_messages(input), self.invocation_params)
        raise ConfigurationError(
            f"input must be a prompt string or a list of messages, not {type(input).__name__}"
        )

    def _use_stream(self) -> bool:
        return self.streaming or type(self)._generate is BaseLLM._generate

    def _call(self, input: LLMInput, stream: bool) -> Call:
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

    def _run(
        self,
        config: RunnableConfig | None,
        options: Mapping[str, Any],
        mode: Literal["sync", "async"],
        extra: tuple[Entry, ...] = (),
    ) -> RunManager:
        manager, name, run_id = configure(
            config,
            options,
            entries=self._cached.entries,
            tags=self.tags,
            metadata=self.metadata,
            name=self.model_name,
            extra=extra,
        )
        return manager.start_run(name=name, sender=self, run_id=run_id, mode=mode)

    def _batch(
        self,
        inputs: Sequence[LLMInput],
        config: RunnableConfig | None,
        options: Mapping[str, Any],
        limit: int | None,
        *,
        need_result: bool,
        return_exceptions: bool,
    ) -> Batch:
        if isinstance(inputs, str):
            raise ConfigurationError("batch takes a list of inputs, not one string")
        limit = max_concurrency(limit, config)
        stream = self._use_stream()
        calls = [self._call(i, stream) for i in inputs]
        manager, name, _ = configure(
            config,
            options,
            entries=self._cached.entries,
            tags=self.tags,
            metadata=self.metadata,
            name=self.model_name,
            batch=True,
        )
        return Batch(
            calls,
            manager,
            name,
            limit,
            tokens=stream,
            need_result=need_result,
            return_exceptions=return_exceptions,
        )

    # -- the Runnable methods ---------------------------------------------

    def invoke(
        self, input: LLMInput, config: RunnableConfig | None = None, **kwargs: Unpack[CallOptions]
    ) -> str:
        """Run the model on one input and return its text.

        With ``streaming=True`` (or a provider that only streams), every token
        fires ``on_llm_new_token`` on the way.
        """
        stream = self._use_stream()
        call = self._call(input, stream)
        run = self._run(config, kwargs, "sync")
        outcome = Outcome()
        for _ in drive(call, run, outcome, tokens=stream):
            pass
        return outcome.text

    async def ainvoke(
        self, input: LLMInput, config: RunnableConfig | None = None, **kwargs: Unpack[CallOptions]
    ) -> str:
        """Async :meth:`invoke`."""
        stream = self._use_stream()
        call = self._call(input, stream)
        run = self._run(config, kwargs, "async")
        outcome = Outcome()
        async for _ in adrive(call, run, outcome, tokens=stream):
            pass
        return outcome.text

    def stream(
        self, input: LLMInput, config: RunnableConfig | None = None, **kwargs: Unpack[CallOptions]
    ) -> Generator[str, None, None]:
        """Yield the response token by token.

        The iterator ends its run with exactly one terminal event, also when it
        is closed early or garbage collected (then ``LLMError(reason="cancelled")``).
        """
        call = self._call(input, True)
        return drive(call, self._run(config, kwargs, "sync"), Outcome(), tokens=True)

    def astream(
        self, input: LLMInput, config: RunnableConfig | None = None, **kwargs: Unpack[CallOptions]
    ) -> AsyncGenerator[str, None]:
        """Async :meth:`stream`. Use ``contextlib.aclosing`` to end an abandoned
        run at once rather than when the loop finalises the generator."""
        call = self._call(input, True)
        return adrive(call, self._run(config, kwargs, "async"), Outcome(), tokens=True)

    def stream_events(
        self, input: LLMInput, config: RunnableConfig | None = None, **kwargs: Unpack[CallOptions]
    ) -> Generator[Event, None, None]:
        """Yield the run's typed events, in order, as the model streams.

        The events are produced as the consumer pulls: a slow consumer holds
        the model back, and nothing is dropped.
        """
        buffer: deque[Event] = deque()
        call = self._call(input, True)
        run = self._run(config, kwargs, "sync", (resolve(buffer.append),))
        return events(drive(call, run, Outcome(), tokens=True), buffer)

    def astream_events(
        self, input: LLMInput, config: RunnableConfig | None = None, **kwargs: Unpack[CallOptions]
    ) -> AsyncGenerator[Event, None]:
        """Async :meth:`stream_events`."""
        buffer: deque[Event] = deque()
        call = self._call(input, True)
        run = self._run(config, kwargs, "async", (resolve(buffer.append),))
        return aevents(adrive(call, run, Outcome(), tokens=True), buffer)
