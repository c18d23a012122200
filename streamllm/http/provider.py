"""HTTPProvider: the base class of the providers that stream over httpx.

A subclass says what to send (:meth:`HTTPProvider._http_request`) and how to
read it (:meth:`HTTPProvider._parser`, a sans-I/O :class:`ChunkParser`). This
class does the rest, the same way in sync and async code: one client per model
(one ``AsyncClient`` per event loop), timeouts, retries with backoff while no
token has been delivered, error translation, and closing the response in
``finally`` whether the stream ends, fails or is abandoned.
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
import threading
import time
import weakref
from abc import abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Mapping
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self

import httpx
from pydantic import Field, PrivateAttr, SecretStr, field_validator

from streamllm._log import get_logger
from streamllm.errors import (
    ConfigurationError,
    ProviderTimeout,
    StreamLLMError,
    StreamProtocolError,
)
from streamllm.http.errors import mask, parse_retry_after, scrub, status_error, translate
from streamllm.http.retry import Backoff, is_retryable
from streamllm.models._run import Request
from streamllm.models.base import BaseLLM
from streamllm.outputs import GenerationChunk

__all__ = ["ChunkParser", "HTTPProvider", "HTTPRequest"]

log = get_logger("streamllm.http")

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


class ChunkParser(Protocol):
    """Turns one response's bytes into chunks, without I/O (one per attempt).

    ``done`` is set once the stream's terminator has been read; ``end()`` is
    called at the end of the body and raises :class:`StreamProtocolError` when
    the terminator never came. Error frames raise :class:`ProviderError`; an
    error met after chunks of the same read is kept in ``error`` instead, and
    raised once those chunks are delivered.
    """

    done: bool
    error: StreamLLMError | None

    def feed(self, data: bytes) -> list[GenerationChunk]: ...

    def end(self) -> list[GenerationChunk]: ...


class HTTPRequest:
    """What a provider sends: a path below ``base_url``, a JSON body, headers."""

    __slots__ = ("body", "headers", "path")

    def __init__(self, path: str, body: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        self.path = path
        self.body = body
        self.headers = headers


class _Clients:
    """The model's own clients: made on first use, closed by close()/aclose()."""

    __slots__ = ("by_loop", "lock", "sync")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sync: httpx.Client | None = None
        self.by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )


class _Failure(Exception):
    """An attempt failed: the error to raise, whether it may be retried, and
    the delay the server asked for."""

    def __init__(self, error: StreamLLMError, retryable: bool, hint: float | None) -> None:
        self.error = error
        self.retryable = retryable
        self.hint = hint


class HTTPProvider(BaseLLM):
    """Base class of the HTTP providers (see :mod:`streamllm.http.provider`).

    Timeouts are in seconds; ``None`` turns one off. ``first_token_timeout``
    runs from sending the request to the first token, ``idle_timeout`` between
    tokens. ``max_connections`` bounds the pool of the clients the model makes
    itself (raise it for more concurrent streams); an injected ``http_client``
    or ``http_async_client`` is used as given (proxies, TLS, extra headers) and
    closed with the model.
    """

    hidden_params: ClassVar[frozenset[str]] = _TRANSPORT_FIELDS
    #: The vendor's own API host: a key is required only when talking to it.
    vendor_host: ClassVar[str | None] = None
    #: The environment variable holding the key, if the provider takes one.
    api_key_env: ClassVar[str | None] = None

    base_url: str
    api_key: SecretStr | None = Field(default=None, validate_default=True, repr=False)
    max_retries: int = Field(default=2, ge=0)
    retry_base_delay: float = Field(default=0.5, ge=0.0)
    retry_max_delay: float = Field(default=8.0, ge=0.0)
    connect_timeout: float | None = Field(default=10.0, gt=0.0)
    first_token_timeout: float | None = Field(default=60.0, gt=0.0)
    idle_timeout: float | None = Field(default=60.0, gt=0.0)
    max_connections: int | None = Field(default=1000, ge=1)
    max_keepalive_connections: int | None = Field(default=100, ge=0)
    http_client: httpx.Client | None = Field(default=None, exclude=True, repr=False)
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True, repr=False)

    _http: _Clients = PrivateAttr(default_factory=_Clients)

    @field_validator("api_key", mode="before")
    @classmethod
    def _key_from_environment(cls, value: Any) -> Any:
        if value is None and cls.api_key_env:
            return os.environ.get(cls.api_key_env) or None
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
    def _parser(self, request: Request) -> ChunkParser:
        """A fresh parser turning the response body into chunks."""

    def _secrets(self) -> tuple[str, ...]:
        """Strings masked in every error message (the API key)."""
        key = getattr(self, "api_key", None)
        return (key.get_secret_value(),) if key is not None else ()

    # -- clients ----------------------------------------------------------------

    @property
    def _clients(self) -> _Clients:
        return self.__pydantic_private__["_http"]  # type: ignore[index, no-any-return]

    def _limits(self) -> httpx.Limits:
        return httpx.Limits(
            max_connections=self.max_connections,
            max_keepalive_connections=self.max_keepalive_connections,
        )

    def _timeout(self) -> httpx.Timeout:
        # Socket reads wait for the longer of the two token timeouts; the
        # shorter one is checked between reads (see _check_deadline).
        limits = [t for t in (self.first_token_timeout, self.idle_timeout) if t is not None]
        read = max(limits) if len(limits) == 2 else None
        return httpx.Timeout(
            connect=self.connect_timeout, read=read, write=read, pool=self.first_token_timeout
        )

    def _client(self) -> httpx.Client:
        if self.http_client is not None:
            return self.http_client
        clients = self._clients
        client = clients.sync
        if client is None:
            with clients.lock:
                client = clients.sync
                if client is None:
                    client = clients.sync = httpx.Client(
                        limits=self._limits(), verify=_default_ssl_context()
                    )
        return client

    def _async_client(self) -> httpx.AsyncClient:
        if self.http_async_client is not None:
            return self.http_async_client
        loop = asyncio.get_running_loop()
        clients = self._clients
        client = clients.by_loop.get(loop)
        if client is None:
            with clients.lock:
                client = clients.by_loop.get(loop)
                if client is None:
                    client = clients.by_loop[loop] = httpx.AsyncClient(
                        limits=self._limits(), verify=_default_ssl_context()
                    )
        return client

    def close(self) -> None:
        """Close the sync client (and an injected one). Async clients need
        :meth:`aclose`, called in their event loop."""
        clients = self._clients
        with clients.lock:
            client, clients.sync = clients.sync, None
        if client is not None:
            client.close()
        if self.http_client is not None:
            self.http_client.close()

    async def aclose(self) -> None:
        """Close this event loop's async client, and the sync one."""
        clients = self._clients
        loop = asyncio.get_running_loop()
        with clients.lock:
            client = clients.by_loop.pop(loop, None)
        if client is not None:
            await client.aclose()
        if self.http_async_client is not None:
            await self.http_async_client.aclose()
        self.close()

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

    # -- one attempt, shared by both paths ------------------------------------------

    def _build(self, client: httpx.Client | httpx.AsyncClient, request: Request) -> httpx.Request:
        spec = self._http_request(request)
        return client.build_request(
            "POST",
            self.base_url.rstrip("/") + spec.path,
            json=spec.body,
            headers=spec.headers,
            timeout=self._timeout(),
        )

    def _status_failure(self, response: httpx.Response, body: bytes) -> _Failure:
        error = status_error(
            self.provider,
            response.status_code,
            body.decode("utf-8", "replace"),
            response.headers,
            self._secrets(),
        )
        hint = parse_retry_after(response.headers.get("retry-after"))
        return _Failure(error, is_retryable(error), hint)

    def _transport_failure(
        self, exc: httpx.HTTPError, connecting: bool, delivered: bool = False
    ) -> _Failure:
        error: StreamLLMError
        limit = self.idle_timeout if delivered else self.first_token_timeout
        if isinstance(exc, httpx.ReadTimeout) and limit is not None:
            what = "between tokens" if delivered else "before the first token"
            error = ProviderTimeout(f"{self.provider}: no data for {limit:g} s {what}")
        else:
            error = translate(exc, self.provider)
        error.__cause__ = exc
        return _Failure(error, is_retryable(error, connect_phase=connecting), None)

    def _check_deadline(self, started: float, last: float, delivered: bool) -> None:
        now = time.monotonic()
        limit = self.idle_timeout if delivered else self.first_token_timeout
        if limit is not None and now - (last if delivered else started) > limit:
            what = "between tokens" if delivered else "before the first token"
            raise ProviderTimeout(f"{self.provider}: no token for {limit:g} s {what}")

    def _give_up(self, failure: _Failure, retry: int, delivered: bool) -> bool:
        return delivered or not failure.retryable or retry >= self.max_retries

    def _retry_delay(self, failure: _Failure, request: Request, retry: int) -> float:
        request.retries += 1
        delay = Backoff(base=self.retry_base_delay, cap=self.retry_max_delay).delay(
            retry, failure.hint
        )
        log.info(
            "provider.retry",
            provider=self.provider,
            retry=retry + 1,
            delay=round(delay, 3),
            error=mask(str(failure.error), self._secrets()),
        )
        return delay

    # -- the sync path ------------------------------------------------------------------

    def _stream(self, request: Request) -> Iterator[GenerationChunk]:
        try:
            yield from self._stream_attempts(request)
        except BaseException as exc:
            scrub(exc, self._secrets())
            raise

    def _stream_attempts(self, request: Request) -> Iterator[GenerationChunk]:
        client = self._client()
        retry = 0
        while True:
            delivered = False
            attempt = self._attempt(client, request)
            try:
                for chunk in attempt:
                    if chunk.text:
                        delivered = True
                    yield chunk
                return
            except _Failure as failure:
                if self._give_up(failure, retry, delivered):
                    raise failure.error from failure.error.__cause__
                time.sleep(self._retry_delay(failure, request, retry))
            finally:
                attempt.close()  # closes the response at once when abandoned
            retry += 1

    def _attempt(
        self, client: httpx.Client, request: Request
    ) -> Generator[GenerationChunk, None, None]:
        http_request = self._build(client, request)
        started = last = time.monotonic()
        delivered = False
        try:
            response = client.send(http_request, stream=True)
        except httpx.HTTPError as exc:
            raise self._transport_failure(exc, True) from None
        try:
            if response.status_code >= 400:
                raise self._status_failure(response, response.read())
            parser = self._parser(request)
            stream = response.iter_bytes()
            for data in stream:
                for chunk in parser.feed(data):
                    if chunk.text:
                        delivered = True
                        yield chunk
                        last = time.monotonic()
                    else:
                        yield chunk
                if parser.error is not None:
                    raise parser.error
                if parser.done:
                    _drain(stream)
                    break
                self._check_deadline(started, last, delivered)
            try:
                tail = parser.end()
            except StreamProtocolError as exc:
                raise _Failure(exc, True, None) from None
            yield from tail
        except httpx.HTTPError as exc:
            raise self._transport_failure(exc, False, delivered) from None
        finally:
            response.close()

    # -- the async path -------------------------------------------------------------------

    async def _astream(self, request: Request) -> AsyncIterator[GenerationChunk]:
        attempts = self._astream_attempts(request)
        try:
            async for chunk in attempts:
                yield chunk
        except BaseException as exc:
            scrub(exc, self._secrets())
            raise
        finally:
            await attempts.aclose()

    async def _astream_attempts(self, request: Request) -> AsyncGenerator[GenerationChunk, None]:
        client = self._async_client()
        retry = 0
        while True:
            delivered = False
            attempt = self._aattempt(client, request)
            try:
                async for chunk in attempt:
                    if chunk.text:
                        delivered = True
                    yield chunk
                return
            except _Failure as failure:
                if self._give_up(failure, retry, delivered):
                    raise failure.error from failure.error.__cause__
                await asyncio.sleep(self._retry_delay(failure, request, retry))
            finally:
                # An abandoned stream closes its response now, not at loop shutdown.
                await attempt.aclose()
            retry += 1

    async def _aattempt(
        self, client: httpx.AsyncClient, request: Request
    ) -> AsyncGenerator[GenerationChunk, None]:
        http_request = self._build(client, request)
        started = last = time.monotonic()
        delivered = False
        try:
            response = await client.send(http_request, stream=True)
        except httpx.HTTPError as exc:
            raise self._transport_failure(exc, True) from None
        try:
            if response.status_code >= 400:
                raise self._status_failure(response, await response.aread())
            parser = self._parser(request)
            stream = response.aiter_bytes()
            async for data in stream:
                for chunk in parser.feed(data):
                    if chunk.text:
                        delivered = True
                        yield chunk
                        last = time.monotonic()
                    else:
                        yield chunk
                if parser.error is not None:
                    raise parser.error
                if parser.done:
                    await _adrain(stream)
                    break
                self._check_deadline(started, last, delivered)
            try:
                tail = parser.end()
            except StreamProtocolError as exc:
                raise _Failure(exc, True, None) from None
            for chunk in tail:
                yield chunk
        except httpx.HTTPError as exc:
            raise self._transport_failure(exc, False, delivered) from None
        finally:
            await response.aclose()


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    # httpx builds a new SSL context (loading the CA bundle, ~20 ms) for every
    # client; shared, 60 models created on one event loop no longer stall it
    # for a second and a half.
    return httpx.create_ssl_context()


def _drain(stream: Iterator[bytes]) -> None:
    # Reading to the end of the body (normally only the chunked terminator)
    # returns the connection to the pool instead of closing it. The result is
    # complete by now, so a failure here is not the caller's problem.
    try:
        for _ in stream:
            pass
    except httpx.HTTPError:
        pass


async def _adrain(stream: AsyncIterator[bytes]) -> None:
    try:
        async for _ in stream:
            pass
    except httpx.HTTPError:
        pass
