"""The one place where httpx exceptions and HTTP statuses become streamllm errors.

Messages are built from the provider's name, the host, the status and the
server's own error message; never from an httpx ``Request`` or ``Response``
(their reprs print headers, API keys included). Known secrets are masked in
whatever the server sends back.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx

from streamllm.errors import (
    AuthenticationError,
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    ProviderTimeout,
    RateLimitError,
    StreamProtocolError,
)

__all__ = [
    "MAX_RETRY_AFTER",
    "error_message",
    "load_frame",
    "mask",
    "parse_retry_after",
    "raw_decode",
    "scan_json",
    "scrub",
    "status_error",
    "stream_error",
    "translate",
]

#: The longest ``Retry-After`` honoured, in seconds: a server asking for more
#: gets this, so a call never hangs for an hour on one header.
MAX_RETRY_AFTER = 60.0
# How much of an error body is kept on the exception.
_BODY_LIMIT = 4000
_MESSAGE_LIMIT = 500


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, "***")
    return text


def scrub(exc: BaseException, secrets: Iterable[str]) -> None:
    """Mask every secret in ``exc`` and the exceptions chained to it, in place.

    The one place secrets are taken out of errors: a server may echo the key
    into an error body or a malformed frame, and a transport error's text may
    carry request headers; any of them would reach a message or a traceback.
    """
    secrets = tuple(s for s in secrets if s)
    if not secrets:
        return
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.args = tuple(
            mask(arg, secrets) if isinstance(arg, str) else arg for arg in current.args
        )
        body = getattr(current, "body", None)
        if isinstance(body, str):
            current.body = mask(body, secrets)  # type: ignore[attr-defined]
        current = current.__cause__ or current.__context__


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP
    date, capped at :data:`MAX_RETRY_AFTER`; ``None`` when absent or unreadable.

    >>> parse_retry_after("2")
    2.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 - 5)
    5.0
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            date = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if date.tzinfo is None:
            return None
        seconds = date.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def error_message(body: str) -> str:
    """The server's own message from an error body: OpenAI's and Anthropic's
    ``{"error": {"message": ...}}``, Ollama's ``{"error": "..."}``, or the text."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        data = None
    message: Any = None
    if isinstance(data, Mapping):
        error = data.get("error")
        if isinstance(error, Mapping):
            message = error.get("message") or error.get("type")
        elif isinstance(error, str):
            message = error
        if message is None:
            message = data.get("message") or data.get("detail")
    text = message if isinstance(message, str) and message else body.strip() or "(empty body)"
    return text[:_MESSAGE_LIMIT]


def status_error(
    provider: str,
    status: int,
    body: str,
    headers: Mapping[str, str],
    secrets: Iterable[str] = (),
) -> ProviderStatusError:
    """The error for an HTTP error status: 401/403, 429 or any other."""
    secrets = tuple(secrets)
    body = mask(body[:_BODY_LIMIT], secrets)
    text = f"{provider} returned HTTP {status}: {error_message(body)}"
    if status in (401, 403):
        return AuthenticationError(text, status_code=status, body=body)
    if status == 429:
        return RateLimitError(
            text,
            status_code=status,
            body=body,
            retry_after=parse_retry_after(headers.get("retry-after")),
        )
    return ProviderStatusError(text, status_code=status, body=body)


def _where(exc: httpx.HTTPError) -> str:
    # Only the host and port: a URL may carry user info or query secrets.
    try:
        url = exc.request.url
    except RuntimeError:  # an exception raised without a request
        return "the server"
    return f"{url.host}:{url.port}" if url.port else url.host


def translate(exc: httpx.HTTPError, provider: str) -> ProviderError:
    """The streamllm error for an httpx exception (raise it ``from exc``)."""
    where = _where(exc)
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout):
        return ProviderTimeout(f"{provider}: connecting to {where} timed out", phase="connect")
    if isinstance(exc, httpx.PoolTimeout):
        return ProviderTimeout(
            f"{provider}: no free connection to {where} in time (raise max_connections)",
            phase="pool",
        )
    if isinstance(exc, httpx.TimeoutException):
        return ProviderTimeout(f"{provider}: {where} sent nothing in time ({detail})")
    if isinstance(exc, httpx.ConnectError):
        return ProviderConnectionError(f"{provider}: could not connect to {where}: {detail}")
    if isinstance(exc, httpx.TransportError):
        return ProviderConnectionError(f"{provider}: connection to {where} broke: {detail}")
    return ProviderError(f"{provider}: HTTP error talking to {where}: {type(exc).__name__}")


#: json.JSONDecoder.raw_decode (documented): a frame without surrounding whitespace.
raw_decode = json.JSONDecoder().raw_decode

#: ``scan_json(text, 0)`` is ``raw_decode(text)`` without its Python wrapper (about
#: 1,000 instructions a frame): the scanner it calls, which raises StopIteration
#: where raw_decode raises JSONDecodeError (catch both). raw_decode where a json
#: module has no such scanner.
scan_json: Callable[[str, int], tuple[Any, int]] = getattr(
    json.JSONDecoder(), "scan_once", raw_decode
)


def load_frame(payload: str | bytes, provider: str) -> dict[str, Any]:
    """One stream frame (an SSE event's data or an NDJSON line) as a JSON object;
    :class:`StreamProtocolError` when it is malformed or not an object."""
    frame: Any = None
    try:
        # The documented raw_decode, without json.loads' two whitespace scans:
        # a frame is one compact JSON text. Anything else (whitespace around
        # it, bytes in another encoding, an error) takes json.loads' path.
        text = payload if isinstance(payload, str) else payload.decode()
        frame, end = raw_decode(text)
        if end != len(text):
            frame = json.loads(payload)
    except ValueError:  # also UnicodeDecodeError and JSONDecodeError
        try:
            frame = json.loads(payload)
        except ValueError:
            raise StreamProtocolError(
                f"{provider}: malformed JSON in a stream frame: {payload[:80]!r}"
            ) from None
    if not isinstance(frame, dict):
        raise StreamProtocolError(f"{provider}: a stream frame is not a JSON object")
    return frame


def stream_error(provider: str, error: Any) -> ProviderError:
    """The error for an error frame inside a stream."""
    if isinstance(error, dict):
        message = error.get("message") or error.get("type") or "unknown error"
        kind = error.get("type") or error.get("code")
        if kind and kind != message:
            return ProviderError(f"{provider} stream error ({kind}): {message}")
        return ProviderError(f"{provider} stream error: {message}")
    return ProviderError(f"{provider} stream error: {error}")
