"""BaseLLM: the Runnable interface every model implements (DESIGN.md section 6).

A provider subclasses :class:`BaseLLM` and implements ``_stream`` (yield
:class:`GenerationChunk`), and optionally ``_astream``, ``_generate`` and
``_agenerate``. The base class fires every event, accumulates the text and
builds the :class:`LLMResult`; the provider never touches handlers.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeAlias, final, overload
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
)

from streamllm.callbacks.manager import CallbackManager, check_metadata, check_tags
from streamllm.callbacks.registry import Entry, resolve, resolve_all
from streamllm.errors import ConfigurationError
from streamllm.events import Event
from streamllm.messages import Message, to_messages
from streamllm.models._batch import arun_batch, run_batch
from streamllm.models._run import Outcome, Request, adrive, drive, estimated_usage
from streamllm.outputs import GenerationChunk, LLMResult, TokenUsage

__all__ = ["BaseLLM", "LLMInput", "RunnableConfig"]

LLMInput: TypeAlias = str | Sequence[Message | Mapping[str, Any]]
RunnableConfig: TypeAlias = Mapping[str, Any]

_CONFIG_KEYS = frozenset({"callbacks", "tags", "metadata", "run_name", "run_id"})
_BATCH_CONFIG_KEYS = _CONFIG_KEYS | {"max_concurrency"}
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


class BaseLLM(BaseModel):
    """Base class of every model: a pydantic model whose fields are its parameters.

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

    streaming: bool = False
    callbacks: list[Any] | None = None
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    stop: list[str] | None = None
    n: int = 1

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
            cache.params = params
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

    def _estimate_usage(self, request: Request, text: str) -> TokenUsage:
        prompt = request.prompt
        if prompt is None:
            prompt = "\n".join(m.content for m in request.messages or ())
        return estimated_usage(self.get_num_tokens(prompt), self.get_num_tokens(text))

    def _has_generate(self) -> bool:
        return type(self)._generate is not BaseLLM._generate

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

    def _manager(
        self,
        config: RunnableConfig | None,
        kwargs: dict[str, Any],
        extra: tuple[Entry, ...] = (),
        *,
        batch: bool = False,
    ) -> tuple[CallbackManager, str, UUID | None]:
        if config is None and not kwargs and not extra and not self.tags and not self.metadata:
            return (
                CallbackManager.configure(inheritable=self._cached.entries),
                self.model_name,
                None,
            )
        merged: dict[str, Any] = dict(config or {})
        allowed = _BATCH_CONFIG_KEYS if batch else _CONFIG_KEYS
        unknown = (set(merged) | set(kwargs)) - allowed
        if unknown:
            raise ConfigurationError(
                f"unknown config key(s) {sorted(unknown)}: use {', '.join(sorted(allowed))}"
            )
        callbacks = resolve_all(merged.get("callbacks")) + resolve_all(kwargs.get("callbacks"))
        tags = (
            check_tags(self.tags) + check_tags(merged.get("tags")) + check_tags(kwargs.get("tags"))
        )
        metadata = check_metadata(
            {
                **(self.metadata or {}),
                **(merged.get("metadata") or {}),
                **(kwargs.get("metadata") or {}),
            }
        )
        run_name = kwargs.get("run_name") or merged.get("run_name") or self.model_name
        run_id = kwargs.get("run_id") or merged.get("run_id")
        if run_id is not None and not isinstance(run_id, UUID):
            try:
                run_id = UUID(str(run_id))
            except ValueError as exc:
                raise ConfigurationError(f"run_id {run_id!r} is not a UUID") from exc
        manager = CallbackManager.configure(
            local=callbacks + extra,
            inheritable=self._cached.entries,
            tags=tuple(dict.fromkeys(tags)),
            metadata=metadata,
        )
        return manager, str(run_name), run_id

    def _use_stream(self) -> bool:
        return self.streaming or not self._has_generate()

    # -- the Runnable methods ---------------------------------------------

    def invoke(self, input: LLMInput, config: RunnableConfig | None = None, **kwargs: Any) -> str:
        """Run the model on one input and return its text.

        With ``streaming=True`` (or a provider that only streams), every token
        fires ``on_llm_new_token`` on the way.
        """
        request = self._request(input)
        manager, name, run_id = self._manager(config, kwargs)
        run = manager.start_run(name=name, sender=self, run_id=run_id)
        outcome = Outcome()
        for _ in drive(self, run, request, outcome, stream=self._use_stream()):
            pass
        return outcome.text

    async def ainvoke(
        self, input: LLMInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> str:
        """Async :meth:`invoke`."""
        request = self._request(input)
        manager, name, run_id = self._manager(config, kwargs)
        run = manager.start_run(name=name, sender=self, run_id=run_id, mode="async")
        outcome = Outcome()
        async for _ in adrive(self, run, request, outcome, stream=self._use_stream()):
            pass
        return outcome.text

    def stream(
        self, input: LLMInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Generator[str, None, None]:
        """Yield the response token by token.

        The iterator ends its run with exactly one terminal event, also when it
        is closed early or garbage collected (then ``LLMError(reason="cancelled")``).
        """
        request = self._request(input)
        manager, name, run_id = self._manager(config, kwargs)
        run = manager.start_run(name=name, sender=self, run_id=run_id)
        return drive(self, run, request, Outcome(), stream=True)

    def astream(
        self, input: LLMInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncGenerator[str, None]:
        """Async :meth:`stream`. Use ``contextlib.aclosing`` to end an abandoned
        run at once rather than when the loop finalises the generator."""
        request = self._request(input)
        manager, name, run_id = self._manager(config, kwargs)
        run = manager.start_run(name=name, sender=self, run_id=run_id, mode="async")
        return adrive(self, run, request, Outcome(), stream=True)

    def stream_events(
        self, input: LLMInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Generator[Event, None, None]:
        """Yield the run's typed events, in order, as the model streams.

        The events are produced as the consumer pulls: a slow consumer holds
        the model back, and nothing is dropped.
        """
        buffer: deque[Event] = deque()
        request = self._request(input)
        manager, name, run_id = self._manager(config, kwargs, (resolve(buffer.append),))
        run = manager.start_run(name=name, sender=self, run_id=run_id)
        return _events(drive(self, run, request, Outcome(), stream=True), buffer)

    def astream_events(
        self, input: LLMInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncGenerator[Event, None]:
        """Async :meth:`stream_events`."""
        buffer: deque[Event] = deque()
        request = self._request(input)
        manager, name, run_id = self._manager(config, kwargs, (resolve(buffer.append),))
        run = manager.start_run(name=name, sender=self, run_id=run_id, mode="async")
        return _aevents(adrive(self, run, request, Outcome(), stream=True), buffer)

    def generate(
        self,
        prompts: Sequence[LLMInput],
        config: RunnableConfig | None = None,
        *,
        max_concurrency: int | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        """Run many inputs, one run each, and return one result with their usage summed."""
        results = run_batch(self, prompts, config, kwargs, max_concurrency, False, True)
        return LLMResult.combine(results)

    async def agenerate(
        self,
        prompts: Sequence[LLMInput],
        config: RunnableConfig | None = None,
        *,
        max_concurrency: int | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        """Async :meth:`generate`."""
        results = await arun_batch(self, prompts, config, kwargs, max_concurrency, False, True)
        return LLMResult.combine(results)

    @overload
    def batch(
        self,
        inputs: Sequence[LLMInput],
        config: RunnableConfig | None = None,
        *,
        max_concurrency: int | None = None,
        return_exceptions: Literal[False] = False,
        **kwargs: Any,
    ) -> list[str]: ...

    @overload
    def batch(
        self,
        inputs: Sequence[LLMInput],
        config: RunnableConfig | None = None,
        *,
        max_concurrency: int | None = None,
        return_exceptions: Literal[True],
        **kwargs: Any,
    ) -> list[str | BaseException]: ...

    def batch(
        self,
        inputs: Sequence[LLMInput],
        config: RunnableConfig | None = None,
        *,
        max_concurrency: int | None = None,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[str] | list[str | BaseException]:
        """Run many inputs concurrently (threads); results in input order.

        With ``return_exceptions=False`` the first failure is raised once every
        run in flight has ended, and no new run starts after it. Ctrl-C ends the
        runs in flight as cancelled.
        """
        out: list[Any] = run_batch(
            self, inputs, config, kwargs, max_concurrency, return_exceptions, False
        )
        return out

    @overload
    async def abatch(
        self,
        inputs: Sequence[LLMInput],
        config: RunnableConfig | None = None,
        *,
        max_concurrency: int | None = None,
        return_exceptions: Literal[False] = False,
        **kwargs: Any,
    ) -> list[str]: ...

    @overload
    async def abatch(
        self,
        inputs: Sequence[LLMInput],
        config: RunnableConfig | None = None,
        *,
        max_concurrency: int | None = None,
        return_exceptions: Literal[True],
        **kwargs: Any,
    ) -> list[str | BaseException]: ...

    async def abatch(
        self,
        inputs: Sequence[LLMInput],
        config: RunnableConfig | None = None,
        *,
        max_concurrency: int | None = None,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[str] | list[str | BaseException]:
        """Async :meth:`batch`: tasks on the running loop, ``max_concurrency`` at a time."""
        out: list[Any] = await arun_batch(
            self, inputs, config, kwargs, max_concurrency, return_exceptions, False
        )
        return out

    # -- batch machinery ----------------------------------------------------

    def _prepare_batch(
        self,
        inputs: Sequence[LLMInput],
        config: RunnableConfig | None,
        kwargs: dict[str, Any],
        max_concurrency: int | None,
    ) -> tuple[list[Request], CallbackManager, str, int | None]:
        if isinstance(inputs, str):
            raise ConfigurationError("batch takes a list of inputs, not one string")
        if kwargs.get("run_id") or (config or {}).get("run_id"):
            raise ConfigurationError("run_id applies to one run; batch starts several")
        requests = [self._request(i) for i in inputs]
        manager, name, _ = self._manager(config, kwargs, batch=True)
        limit = max_concurrency or (config or {}).get("max_concurrency")
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise ConfigurationError(f"max_concurrency must be a positive integer, not {limit!r}")
        return requests, manager, name, limit


def _events(tokens: Iterator[str], buffer: deque[Event]) -> Generator[Event, None, None]:
    try:
        for _ in tokens:
            while buffer:
                yield buffer.popleft()
    except Exception:
        while buffer:
            yield buffer.popleft()
        raise
    finally:
        close = getattr(tokens, "close", None)
        if close is not None:
            close()
    while buffer:
        yield buffer.popleft()


async def _aevents(tokens: AsyncIterator[str], buffer: deque[Event]) -> AsyncGenerator[Event, None]:
    try:
        async for _ in tokens:
            while buffer:
                yield buffer.popleft()
    except Exception:
        while buffer:
            yield buffer.popleft()
        raise
    finally:
        aclose = getattr(tokens, "aclose", None)
        if aclose is not None:
            await aclose()
    while buffer:
        yield buffer.popleft()
