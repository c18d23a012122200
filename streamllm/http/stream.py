"""Streaming one call over httpx: attempts, retries, deadlines, error translation.

As httpx itself is built, the decisions live in one I/O-free core,
:class:`Policy` (what to send with which timeouts, what a failure means,
whether and when to retry, when the stream is done), and two thin shells,
:func:`stream` and :func:`astream`, do the I/O in sync and async code. Each
attempt closes its response in ``finally``, whether the stream ends, fails or
is abandoned; a call is retried only while no token has been delivered.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
)
from typing import Any, Generic, TypeVar, final

import httpx

from streamllm._log import get_logger
from streamllm.errors import StreamLLMError, StreamProtocolError
from streamllm.http.deadline import WATCHDOG, AsyncTimer, Deadline, timeout_error
from streamllm.http.errors import mask, parse_retry_after, scrub, status_error, translate
from streamllm.http.parser import ChunkParser, HTTPRequest
from streamllm.http.retry import Backoff, is_retryable
from streamllm.request import Request

__all__ = ["Policy", "astream", "stream"]

log = get_logger("streamllm.http")

#: A parser's chunk type: ``GenerationChunk`` (text models) or ``ChatDelta`` (chat models).
C = TypeVar("C")


class _Failure(Exception):
    """An attempt failed: the error to raise, whether it may be retried, and
    the delay the server asked for."""

    def __init__(self, error: StreamLLMError, retryable: bool, hint: float | None) -> None:
        self.error = error
        self.retryable = retryable
        self.hint = hint


@final
class Policy(Generic[C]):
    """How one call's attempts run; built by the model from its fields.

    ``first_token`` runs from the request to the first token, ``idle`` from one
    token to the next (the time the consumer holds a token is not counted),
    ``connect`` bounds opening the connection; ``None`` turns one off.
    ``is_token(chunk)`` says whether a chunk is content the consumer sees: it
    restarts the idle deadline, and once one is delivered the call is never
    retried (a retry would hand the consumer that content twice).
    """

    __slots__ = (
        "backoff",
        "base_url",
        "connect",
        "first_token",
        "idle",
        "is_token",
        "max_retries",
        "parser",
        "provider",
        "secrets",
        "spec",
    )

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        spec: Callable[[Request], HTTPRequest],
        parser: Callable[[Request], ChunkParser[C]],
        is_token: Callable[[C], Any],
        secrets: tuple[str, ...],
        connect: float | None,
        first_token: float | None,
        idle: float | None,
        max_retries: int,
        backoff: Backoff,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.spec = spec
        self.parser = parser
        self.is_token = is_token
        self.secrets = secrets
        self.connect = connect
        self.first_token = first_token
        self.idle = idle
        self.max_retries = max_retries
        self.backoff = backoff

    # -- sending -----------------------------------------------------------

    def build(self, client: httpx.Client | httpx.AsyncClient, request: Request) -> httpx.Request:
        spec = self.spec(request)
        # Until the headers are in, a socket read may take first_token; after
        # them, the Deadline enforces the token limits and the read timeout is
        # only a backstop (see body_timeouts).
        first = self.first_token
        return client.build_request(
            "POST",
            self.base_url + spec.path,
            json=spec.body,
            headers=spec.headers,
            timeout=httpx.Timeout(connect=self.connect, read=first, write=first, pool=first),
        )

    def body_timeouts(self, http_request: httpx.Request) -> None:
        """Before the body is read: httpcore takes the read timeout of the whole
        body from the request's ``timeout`` extension when the body's first read
        starts, so it is set here to the longer limit, never shorter than a
        phase's own."""
        limits = (self.first_token, self.idle)
        backstop = None if None in limits else max(limits)  # type: ignore[type-var]
        timeouts = dict(http_request.extensions.get("timeout") or {})
        timeouts["read"] = backstop
        http_request.extensions["timeout"] = timeouts

    # -- what a failure means ------------------------------------------------

    def send_failure(self, exc: httpx.HTTPError) -> _Failure:
        """The request could not be sent, or its headers did not come."""
        error: StreamLLMError
        if isinstance(exc, httpx.ConnectTimeout):
            error = timeout_error(self.provider, "connect", self.connect)
        elif isinstance(exc, httpx.ReadTimeout):
            error = timeout_error(self.provider, "first_token", self.first_token)
        else:
            error = translate(exc, self.provider)
        error.__cause__ = exc
        connecting = not isinstance(exc, httpx.ReadTimeout)
        return _Failure(error, is_retryable(error, connect_phase=connecting), None)

    def read_failure(self, exc: httpx.HTTPError, deadline: Deadline) -> _Failure:
        """Reading the body failed (a deadline that fired shows as the socket's end)."""
        error: StreamLLMError
        if deadline.fired or isinstance(exc, httpx.ReadTimeout):
            error = timeout_error(self.provider, deadline.phase, deadline.limit)
        else:
            error = translate(exc, self.provider)
        error.__cause__ = exc
        return _Failure(error, is_retryable(error), None)

    def timed_out(self, deadline: Deadline) -> _Failure:
        return _Failure(timeout_error(self.provider, deadline.phase, deadline.limit), False, None)

    def status_failure(self, response: httpx.Response, body: bytes) -> _Failure:
        error = status_error(
            self.provider,
            response.status_code,
            body.decode("utf-8", "replace"),
            response.headers,
            self.secrets,
        )
        hint = parse_retry_after(response.headers.get("retry-after"))
        return _Failure(error, is_retryable(error), hint)

    # -- reading -------------------------------------------------------------

    def after_read(self, parser: ChunkParser[C], deadline: Deadline, chunks: list[C]) -> bool:
        """After the ``chunks`` of one read were delivered: restart the idle
        deadline if one was a token, raise a deferred stream error or an expired
        deadline; return whether the stream is complete."""
        if chunks and any(map(self.is_token, chunks)):
            deadline.token()
        if parser.error is not None:
            raise parser.error
        if parser.done:
            return True
        if deadline.at != math.inf and time.monotonic() >= deadline.at:
            raise self.timed_out(deadline)  # bytes came, but no token in time
        return False

    def tail(self, parser: ChunkParser[C]) -> list[C]:
        try:
            return parser.end()
        except StreamProtocolError as exc:
            raise _Failure(exc, True, None) from None

    # -- retrying -------------------------------------------------------------

    def retry_delay(
        self, failure: _Failure, retry: int, delivered: bool, request: Request
    ) -> float:
        """Seconds to wait before the next attempt; raises the error instead
        when the call gives up (a token was delivered, the failure is final,
        or the retries are used up)."""
        if delivered or not failure.retryable or retry >= self.max_retries:
            raise failure.error from failure.error.__cause__
        request.retries += 1
        delay = self.backoff.delay(retry, failure.hint)
        log.info(
            "provider.retry",
            provider=self.provider,
            retry=retry + 1,
            delay=round(delay, 3),
            error=mask(str(failure.error), self.secrets),
        )
        return delay

    def deadline(self) -> Deadline:
        return Deadline(time.monotonic(), self.first_token, self.idle)


def _socket(response: httpx.Response) -> Any:
    stream = response.extensions.get("network_stream")
    return stream.get_extra_info("socket") if stream is not None else None


# -- the sync shell -------------------------------------------------------------


def stream(policy: Policy[C], client: httpx.Client, request: Request) -> Iterator[C]:
    """The chunks of one call, retried per ``policy``."""
    try:
        retry = 0
        while True:
            deadline = policy.deadline()
            attempt = _attempt(policy, client, request, deadline)
            try:
                # The attempt gives each read's chunks at once (one generator
                # switch per read); it resumes, to look at the deadline, only
                # once all of them were delivered.
                for chunks in attempt:
                    yield from chunks
                return
            except _Failure as failure:
                time.sleep(policy.retry_delay(failure, retry, deadline.phase == "idle", request))
            finally:
                attempt.close()  # closes the response at once when abandoned
            retry += 1
    except BaseException as exc:
        scrub(exc, policy.secrets)
        raise


def _attempt(
    policy: Policy[C], client: httpx.Client, request: Request, deadline: Deadline
) -> Generator[list[C], None, None]:
    http_request = policy.build(client, request)
    try:
        response = client.send(http_request, stream=True)
    except httpx.HTTPError as exc:
        raise policy.send_failure(exc) from None
    try:
        if response.status_code >= 400:
            raise policy.status_failure(response, response.read())
        policy.body_timeouts(http_request)
        parser = policy.parser(request)
        WATCHDOG.watch(deadline, _socket(response))
        reads = response.iter_bytes()
        while True:
            deadline.reading = True
            data = next(reads, None)
            deadline.reading = False
            if data is None:
                break
            chunks = parser.feed(data)
            yield chunks
            if policy.after_read(parser, deadline, chunks):
                _drain(reads)
                break
        yield policy.tail(parser)
    except httpx.HTTPError as exc:
        raise policy.read_failure(exc, deadline) from None
    finally:
        deadline.reading = False
        WATCHDOG.unwatch(deadline)
        response.close()


def _drain(reads: Iterator[bytes]) -> None:
    # Reading to the end of the body (normally only the chunked terminator)
    # returns the connection to the pool instead of closing it. The result is
    # complete by now, so a failure here is not the caller's problem.
    try:
        for _ in reads:
            pass
    except httpx.HTTPError:
        pass


# -- the async shell ---------------------------------------------------------------


async def astream(
    policy: Policy[C],
    get_client: Callable[[], Awaitable[httpx.AsyncClient]],
    request: Request,
) -> AsyncGenerator[C, None]:
    """Async :func:`stream`; the client is asked for in the running loop."""
    try:
        client = await get_client()
        retry = 0
        while True:
            deadline = policy.deadline()
            attempt = _aattempt(policy, client, request, deadline)
            try:
                async for chunks in attempt:  # each read's chunks at once, as in stream
                    for chunk in chunks:
                        yield chunk
                return
            except _Failure as failure:
                delay = policy.retry_delay(failure, retry, deadline.phase == "idle", request)
                await asyncio.sleep(delay)
            finally:
                # An abandoned stream closes its response now, not at loop shutdown.
                await attempt.aclose()
            retry += 1
    except BaseException as exc:
        scrub(exc, policy.secrets)
        raise


async def _aattempt(
    policy: Policy[C], client: httpx.AsyncClient, request: Request, deadline: Deadline
) -> AsyncGenerator[list[C], None]:
    http_request = policy.build(client, request)
    try:
        response = await client.send(http_request, stream=True)
    except httpx.HTTPError as exc:
        raise policy.send_failure(exc) from None
    timer: AsyncTimer | None = None
    try:
        if response.status_code >= 400:
            raise policy.status_failure(response, await response.aread())
        policy.body_timeouts(http_request)
        parser = policy.parser(request)
        timer = AsyncTimer(deadline)
        reads = response.aiter_bytes()
        while True:
            deadline.reading = True
            try:
                data = await anext(reads, None)
            except asyncio.CancelledError:
                task = deadline.task
                # The deadline's own cancellation becomes the timeout; any
                # other cancellation (also one on top of it) goes on.
                if deadline.fired and task is not None and task.uncancel() == 0:
                    raise policy.timed_out(deadline) from None
                raise
            finally:
                deadline.reading = False
            if data is None:
                break
            chunks = parser.feed(data)
            yield chunks
            if policy.after_read(parser, deadline, chunks):
                await _adrain(reads)
                break
        yield policy.tail(parser)
    except httpx.HTTPError as exc:
        raise policy.read_failure(exc, deadline) from None
    finally:
        deadline.reading = False
        if timer is not None:
            timer.stop()
        await response.aclose()


async def _adrain(reads: AsyncIterator[bytes]) -> None:
    try:
        async for _ in reads:
            pass
    except httpx.HTTPError:
        pass
