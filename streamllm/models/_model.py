"""What text and chat models share: parameters, configuration, and the Runnable plumbing.

:class:`BaseLanguageModel` holds the fields every model has, the per-model
cache, ``invocation_params``, and the methods that prepare a run and hand it
to a driver. It is generic over nothing at run time: a subclass names its
:class:`~streamllm.models._run.Driver` (text or chat) and implements ``_call``
(the :class:`Call` for one input); ``BaseLLM`` and ``BaseChatModel`` then
define the public methods with their own return types on top of the
``_invoke``/``_stream_run``/``_events_run`` helpers here, so both kinds of
model run through the same code.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from typing import Any, ClassVar, Literal, Self, Unpack, final
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

from streamllm._frozen import freeze_mapping
from streamllm.callbacks.manager import CallbackManager, RunManager, check_metadata
from streamllm.callbacks.registry import Entry, resolve, resolve_all
from streamllm.errors import ConfigurationError
from streamllm.events import Event
from streamllm.messages import Message, to_messages
from streamllm.models._batch import Batch
from streamllm.models._binding import bindable, check_bind, config_error
from streamllm.models._events import aevents, events
from streamllm.models._run import TEXT, Call, Driver
from streamllm.models._stop import Stop, check_stop, stopped
from streamllm.models.config import (
    LLMInput,
    RunnableConfig,
    check_bound_config,
    check_version,
    configure,
    max_concurrency,
    merge_configs,
)
from streamllm.outputs import TokenUsage
from streamllm.request import Outcome, Request, estimated_usage

__all__ = ["BaseLanguageModel"]

_NOT_PARAMS = frozenset({"callbacks", "tags", "metadata", "streaming"})


@final
class _ModelCache:
    """Per-model values derived from its fields, recomputed when a field changes."""

    __slots__ = ("config", "entries", "params")

    def __init__(self) -> None:
        self.entries: tuple[Entry, ...] = ()
        self.params: dict[str, Any] | None = None
        #: The config :meth:`BaseLanguageModel.with_config` bound, under every call's.
        self.config: RunnableConfig | None = None


class BaseLanguageModel(BaseModel):
    """The common base of :class:`~streamllm.models.base.BaseLLM` (text) and
    :class:`~streamllm.models.chat.BaseChatModel` (chat): a pydantic model
    whose fields are its parameters.

    Fields are strict where coercion would hide a mistake: ``streaming="yes"``
    or ``max_tokens=True`` is a :class:`ConfigurationError`, not ``True`` or 1.
    """

    model_config = ConfigDict(
        extra="forbid", arbitrary_types_allowed=True, validate_assignment=True
    )

    #: Provider name used in events and traces (OpenTelemetry ``gen_ai.provider.name``).
    provider: ClassVar[str] = "unknown"
    #: Fields that are not generation parameters and stay out of ``invocation_params``.
    hidden_params: ClassVar[frozenset[str]] = frozenset()
    #: The drivers of this kind of model's runs.
    _driver: ClassVar[Driver] = TEXT

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
            raise config_error(exc, type(self)) from exc

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
            raise config_error(exc, type(self)) from exc
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

    def _copy_with(self, **fields: Any) -> Any:
        """A copy of this model with ``fields`` replaced (validated), its own cache,
        the config bound by :meth:`with_config`, and what :meth:`_share_with` shares."""
        data = {name: getattr(self, name) for name in type(self).model_fields}
        copy = type(self)(**{**data, **fields})
        copy._cached.config = self._cached.config
        self._share_with(copy)
        return copy

    def _share_with(self, copy: Any) -> None:
        """Hand ``copy`` (a bound copy: only generation parameters, tools or the
        config differ) the resources it can share, such as HTTP clients."""

    def bind(self, **params: Any) -> Self:
        """A copy of this model whose every call uses these generation parameters
        (``model.bind(stop=["\\n"], temperature=0)``), checked now as the
        constructor checks them: an unknown name or a wrong value is a
        :class:`ConfigurationError` naming it. A per-call ``stop=`` still wins."""
        fields = check_bind(type(self), params, bindable(type(self), _NOT_PARAMS))
        return self._copy_with(**fields)  # type: ignore[no-any-return]

    def with_config(
        self, config: RunnableConfig | None = None, **kwargs: Unpack[RunnableConfig]
    ) -> Self:
        """A copy of this model whose every call merges ``config`` (and ``kwargs``)
        under the call's own, as LangChain's ``merge_configs``: callbacks and tags
        add up, metadata merges, the call's ``run_name`` wins. Checked now."""
        bound = check_bound_config(config, kwargs)
        copy = self._copy_with()
        base = self._cached.config
        copy._cached.config = bound if base is None else merge_configs(base, bound)
        return copy  # type: ignore[no-any-return]

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

    def get_num_tokens(self, text: str) -> int:
        """Estimate the model tokens in ``text`` (about four characters each).

        Providers with a tokenizer override this with an exact count.
        """
        return (len(text) + 3) // 4

    def estimate_usage(self, request: Request, text: str) -> TokenUsage:
        """The usage of a run whose provider reported none: an estimate."""
        return estimated_usage(self.get_num_tokens(request.input_text()), self.get_num_tokens(text))

    # -- preparing a call -------------------------------------------------

    def _bound(self, config: RunnableConfig | None) -> RunnableConfig | None:
        base = self._cached.config
        return config if base is None else merge_configs(base, config)

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
        """Whether ``invoke`` streams internally (firing the step events)."""
        raise NotImplementedError  # pragma: no cover - each kind of model says

    def _call(self, input: LLMInput, stream: bool) -> Call[Any]:
        """Everything a driver needs for one run on ``input``."""
        raise NotImplementedError  # pragma: no cover - each kind of model builds its own

    def _configure(
        self,
        config: RunnableConfig | None,
        options: Mapping[str, Any],
        *,
        extra: tuple[Entry, ...] = (),
        batch: bool = False,
    ) -> tuple[CallbackManager, str, UUID | None]:
        """The model's handlers, tags, metadata and name merged with the call's
        (one place for single runs and batches)."""
        return configure(
            config,
            options,
            entries=self._cached.entries,
            tags=self.tags,
            metadata=self.metadata,
            name=self.model_name,
            extra=extra,
            batch=batch,
        )

    def _run(
        self,
        config: RunnableConfig | None,
        options: Mapping[str, Any],
        mode: Literal["sync", "async"],
        extra: tuple[Entry, ...] = (),
    ) -> RunManager:
        manager, name, run_id = self._configure(self._bound(config), options, extra=extra)
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
        stop: Stop | None = None,
    ) -> Batch:
        if isinstance(inputs, str):
            raise ConfigurationError("batch takes a list of inputs, not one string")
        config = self._bound(config)
        limit = max_concurrency(limit, config)
        stop_list = None if stop is None else check_stop(stop)
        stream = self._use_stream()
        calls = [stopped(self._call(i, stream), stop_list) for i in inputs]
        manager, name, _ = self._configure(config, options, batch=True)
        return Batch(
            calls,
            manager,
            name,
            limit,
            tokens=stream,
            need_result=need_result,
            return_exceptions=return_exceptions,
            driver=self._driver,
        )

    # -- running: the bodies of the Runnable methods ----------------------

    def _open(
        self,
        input: LLMInput,
        config: RunnableConfig | None,
        options: Mapping[str, Any],
        mode: Literal["sync", "async"],
        stream: bool,
        extra: tuple[Entry, ...] = (),
        stop: Stop | None = None,
    ) -> tuple[Call[Any], RunManager, Outcome]:
        """What every run method starts with: the call, its run and the outcome to fill
        (the call is built first: a bad input or ``stop`` fails before any event)."""
        stop_list = None if stop is None else check_stop(stop)
        return (
            stopped(self._call(input, stream), stop_list),
            self._run(config, options, mode, extra),
            self._driver.outcome(),
        )

    def _invoke(
        self,
        input: LLMInput,
        config: RunnableConfig | None,
        options: Mapping[str, Any],
        stop: Stop | None = None,
    ) -> Any:
        stream = self._use_stream()
        call, run, outcome = self._open(input, config, options, "sync", stream, stop=stop)
        for _ in self._driver.drive(call, run, outcome, tokens=stream):
            pass
        return outcome.output()

    async def _ainvoke(
        self,
        input: LLMInput,
        config: RunnableConfig | None,
        options: Mapping[str, Any],
        stop: Stop | None = None,
    ) -> Any:
        stream = self._use_stream()
        call, run, outcome = self._open(input, config, options, "async", stream, stop=stop)
        async for _ in self._driver.adrive(call, run, outcome, tokens=stream):
            pass
        return outcome.output()

    def _stream_run(
        self,
        input: LLMInput,
        config: RunnableConfig | None,
        options: Mapping[str, Any],
        extra: tuple[Entry, ...] = (),
        stop: Stop | None = None,
    ) -> Generator[Any, None, None]:
        call, run, outcome = self._open(input, config, options, "sync", True, extra, stop)
        return self._driver.drive(call, run, outcome, tokens=True, chunks=True)

    def _astream_run(
        self,
        input: LLMInput,
        config: RunnableConfig | None,
        options: Mapping[str, Any],
        extra: tuple[Entry, ...] = (),
        stop: Stop | None = None,
    ) -> AsyncGenerator[Any, None]:
        call, run, outcome = self._open(input, config, options, "async", True, extra, stop)
        return self._driver.adrive(call, run, outcome, tokens=True, chunks=True)

    def _events_run(
        self,
        input: LLMInput,
        config: RunnableConfig | None,
        options: Mapping[str, Any],
        stop: Stop | None = None,
    ) -> Generator[Event, None, None]:
        buffer: deque[Event] = deque()
        run = self._stream_run(input, config, options, (resolve(buffer.append),), stop)
        return events(run, buffer)

    def _aevents_run(
        self,
        input: LLMInput,
        config: RunnableConfig | None,
        options: Mapping[str, Any],
        stop: Stop | None = None,
        version: str = "v2",
    ) -> AsyncGenerator[Event, None]:
        check_version(version)
        buffer: deque[Event] = deque()
        run = self._astream_run(input, config, options, (resolve(buffer.append),), stop)
        return aevents(run, buffer)
