"""HTTPProvider and HTTPChatProvider: the base classes of the models that stream over httpx.

A subclass says what to send (``_http_request``) and how to read it
(``_parser``, a sans-I/O :class:`~streamllm.http.parser.ChunkParser`). The
wire work (attempts, retries, deadlines, error translation) is
:mod:`streamllm.http.stream`'s; :class:`HTTPTransport` holds the transport
settings as validated fields and the model's clients, shared by the text
models (:class:`HTTPProvider`, chunks of text) and the chat models
(:class:`HTTPChatProvider`, :class:`~streamllm.chat.deltas.ChatDelta`\\ s).
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from operator import attrgetter
from types import TracebackType
from typing import Any, ClassVar, Self

import httpx
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator

from streamllm.chat.deltas import ChatDelta
from streamllm.errors import ConfigurationError
from streamllm.http import stream as wire
from streamllm.http.clients import Clients
from streamllm.http.parser import ChunkParser, HTTPRequest
from streamllm.http.retry import Backoff
from streamllm.models.base import BaseLLM
from streamllm.models.chat import BaseChatModel
from streamllm.outputs import GenerationChunk
from streamllm.request import Request

__all__ = ["HTTPChatProvider", "HTTPProvider", "HTTPTransport"]

# Fields of HTTPProvider that configure the transport, not the generation.
_TRANSPORT_FIELDS = frozenset(
    {
        "base_url",
        "api_key",
        "max_retries",
        "retry_base_delay",
        "retry_max_delay",
        "connect_timeout",
        "first_token_timeout",
        "idle_timeout",
        "max_connections",
        "max_keepalive_connections",
        "http_client",
        "http_async_client",
    }
)


def _seconds(gt: float = 0.0, default: float | None = None) -> Any:
    return Field(default=default, gt=gt, strict=True)


class HTTPTransport(BaseModel):
    """The transport half of an HTTP model (a mixin of :class:`HTTPProvider`
    and :class:`HTTPChatProvider`, whose ``_stream`` says what its parser yields).

    Timeouts are in seconds; ``None`` turns one off. ``first_token_timeout``
    runs from sending the request to the first token, ``idle_timeout`` between
    tokens, ``connect_timeout`` while the connection opens; each fires on time
    also while the server sends nothing, and ends the run with
    ``LLMError(reason="timeout")`` and a :class:`ProviderTimeout` naming it.
    ``max_connections`` bounds the pool of the clients the model makes itself
    (raise it for more concurrent streams); an injected ``http_client`` or
    ``http_async_client`` is used as given (proxies, TLS, extra headers) and
    closed with the model.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    provider: ClassVar[str]
    #: The vendor's own API host: a key is required only when talking to it.
    vendor_host: ClassVar[str | None] = None
    #: The environment variable holding the key, if the provider takes one.
    api_key_env: ClassVar[str | None] = None

    base_url: str = Field(strict=True)
    api_key: SecretStr | None = Field(default=None, validate_default=True, repr=False)
    max_retries: int = Field(default=2, ge=0, strict=True)
    retry_base_delay: float = Field(default=0.5, ge=0.0, strict=True)
    retry_max_delay: float = Field(default=8.0, ge=0.0, strict=True)
    connect_timeout: float | None = _seconds(default=10.0)
    first_token_timeout: float | None = _seconds(default=60.0)
    idle_timeout: float | None = _seconds(default=60.0)
    max_connections: int | None = Field(default=1000, ge=1, strict=True)
    max_keepalive_connections: int | None = Field(default=100, ge=0, strict=True)
    http_client: httpx.Client | None = Field(default=None, exclude=True, repr=False)
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True, repr=False)

    _http: Clients | None = PrivateAttr(default=None)

    @field_validator("api_key", mode="before")
    @classmethod
    def _key_from_environment(cls, value: Any) -> Any:
        if value is None and cls.api_key_env:
            return os.environ.get(cls.api_key_env) or None
        return value

    @field_validator("base_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"{value!r} is not a valid URL ({exc})") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"{value!r} is not an http:// or https:// URL with a host")
        return value

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        host = httpx.URL(self.base_url).host
        if self.vendor_host and host == self.vendor_host and self.api_key is None:
            raise ConfigurationError(
                f"{type(self).__name__} needs an API key for {host}: pass api_key= or set "
                f"{self.api_key_env}"
            )

    # -- what subclasses provide ---------------------------------------------

    @abstractmethod
    def _http_request(self, request: Request) -> HTTPRequest:
        """The path, JSON body and headers of the call for ``request``."""

    @abstractmethod
    def _parser(self, request: Request) -> ChunkParser[Any]:
        """A fresh parser turning the response body into chunks."""

    @staticmethod
    def _is_token(chunk: Any) -> Any:
        """Whether a chunk is content the consumer sees (see :class:`Policy`)."""
        return getattr(chunk, "text", None)

    def _secrets(self) -> tuple[str, ...]:
        """Strings masked in every error message (the API key)."""
        key = self.api_key
        return (key.get_secret_value(),) if key is not None else ()

    # -- the wire ---------------------------------------------------------------

    def _policy(self) -> wire.Policy[Any]:
        return wire.Policy(
            provider=self.provider,
            base_url=self.base_url,
            spec=self._http_request,
            parser=self._parser,
            is_token=self._is_token,
            secrets=self._secrets(),
            connect=self.connect_timeout,
            first_token=self.first_token_timeout,
            idle=self.idle_timeout,
            max_retries=self.max_retries,
            backoff=Backoff(base=self.retry_base_delay, cap=self.retry_max_delay),
        )

    @property
    def _clients(self) -> Clients:
        clients: Clients | None = self.__pydantic_private__["_http"]  # type: ignore[index]
        if clients is None:
            clients = Clients(
                httpx.Limits(
                    max_connections=self.max_connections,
                    max_keepalive_connections=self.max_keepalive_connections,
                )
            )
            self.__pydantic_private__["_http"] = clients  # type: ignore[index]
        return clients

    def _wire_stream(self, request: Request) -> Iterator[Any]:
        client = self.http_client or self._clients.sync()
        return wire.stream(self._policy(), client, request)

    def _wire_astream(self, request: Request) -> AsyncIterator[Any]:
        # A plain method returning the wire's generator: no extra async
        # generator layer per chunk (each costs ~0.3 us).
        injected = self.http_async_client
        client = self._clients.for_loop if injected is None else _given(injected)
        return wire.astream(self._policy(), client, request)

    def _share_with(self, copy: Any) -> None:
        """A bound copy (``bind``, ``with_config``, ``bind_tools``) differs only in
        generation parameters, tools or config, never in transport fields, so it
        uses this model's connection pools instead of opening its own: binding per
        request costs no sockets. Closing either closes the pools of both."""
        copy.__pydantic_private__["_http"] = self._clients

    # -- closing ------------------------------------------------------------------

    def close(self) -> None:
        """Release every client the model made (the sync one, and each event
        loop's async one, closed on its loop) and an injected ``http_client``.
        An injected async client belongs to its loop: :meth:`aclose` closes it."""
        self._clients.close()
        if self.http_client is not None:
            self.http_client.close()

    async def aclose(self) -> None:
        """:meth:`close`, awaiting this event loop's clients."""
        await self._clients.aclose()
        if self.http_async_client is not None:
            await self.http_async_client.aclose()
        if self.http_client is not None:
            self.http_client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class HTTPProvider(HTTPTransport, BaseLLM):
    """Base class of the HTTP text models: their stream is chunks of text."""

    hidden_params: ClassVar[frozenset[str]] = _TRANSPORT_FIELDS
    # C-level: the token check runs once per chunk on the hot path.
    _is_token = staticmethod(attrgetter("text"))  # type: ignore[assignment]

    def _stream(self, request: Request) -> Iterator[GenerationChunk]:
        return self._wire_stream(request)

    def _astream(self, request: Request) -> AsyncIterator[GenerationChunk]:
        return self._wire_astream(request)


# Deltas the assembler turns into pieces the consumer gets (a meta or usage
# delta is not content: a retry after one repeats nothing).
_CONTENT_KINDS = frozenset({"text", "reasoning", "tool", "tool_call", "start", "end", "finish"})


class HTTPChatProvider(HTTPTransport, BaseChatModel):
    """Base class of the HTTP chat models: their parser yields :class:`ChatDelta`\\ s."""

    hidden_params: ClassVar[frozenset[str]] = BaseChatModel.hidden_params | _TRANSPORT_FIELDS

    @staticmethod
    def _is_token(chunk: ChatDelta) -> bool:
        return chunk[0] in _CONTENT_KINDS

    def _stream(self, request: Request) -> Iterator[ChatDelta]:
        return self._wire_stream(request)

    def _astream(self, request: Request) -> AsyncIterator[ChatDelta]:
        return self._wire_astream(request)


def _given(client: httpx.AsyncClient) -> Callable[[], Awaitable[httpx.AsyncClient]]:
    async def get() -> httpx.AsyncClient:
        return client

    return get
