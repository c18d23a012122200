"""Error translation: statuses, Retry-After, httpx exceptions, masking, backoff."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from streamllm.errors import (
    AuthenticationError,
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    ProviderTimeout,
    RateLimitError,
)
from streamllm.http.errors import (
    MAX_RETRY_AFTER,
    error_message,
    parse_retry_after,
    status_error,
    translate,
)
from streamllm.http.retry import Backoff, is_retryable


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("3", 3.0),
        ("0.25", 0.25),
        ("-4", 0.0),
        ("100000", MAX_RETRY_AFTER),
        ("soon", None),
        ("nan", None),
    ],
)
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    """Delta-seconds are read, clamped at zero and capped; junk is ignored."""
    assert parse_retry_after(value) == expected


def test_retry_after_http_date() -> None:
    """An HTTP date is turned into seconds from now, capped."""
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 7, usegmt=True)
    assert parse_retry_after(date, now=now) == 7.0
    far = email.utils.formatdate(now + 3600, usegmt=True)
    assert parse_retry_after(far, now=now) == MAX_RETRY_AFTER


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (403, AuthenticationError),
        (429, RateLimitError),
        (400, ProviderStatusError),
        (404, ProviderStatusError),
        (500, ProviderStatusError),
        (503, ProviderStatusError),
    ],
)
def test_status_mapping(status: int, cls: type[ProviderStatusError]) -> None:
    """Each status maps to its error type, with the server's message and the status."""
    body = '{"error": {"message": "it went wrong", "type": "server_error"}}'
    error = status_error("openai", status, body, {"retry-after": "2"})
    assert type(error) is cls
    assert error.status_code == status
    assert str(error) == f"openai returned HTTP {status}: it went wrong"
    if isinstance(error, RateLimitError):
        assert error.retry_after == 2.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"error": {"message": "bad key"}}', "bad key"),
        (
            '{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}',
            "Overloaded",
        ),
        ('{"error": "model \\"x\\" not found"}', 'model "x" not found'),
        ('{"detail": "nope"}', "nope"),
        ("plain text", "plain text"),
        ("", "(empty body)"),
    ],
)
def test_error_message_shapes(body: str, message: str) -> None:
    """OpenAI, Anthropic, Ollama and plain-text error bodies all give their message."""
    assert error_message(body) == message


def test_secrets_are_masked_in_status_errors() -> None:
    """A server that echoes the key back does not put it in the error."""
    error = status_error("x", 401, '{"error": "bad key sk-abc123"}', {}, ["sk-abc123"])
    assert "sk-abc123" not in str(error)
    assert "sk-abc123" not in (error.body or "")


def _request() -> httpx.Request:
    return httpx.Request(
        "POST", "http://user:pw@127.0.0.1:9/v1?key=sk-q", headers={"x-api-key": "sk-h"}
    )


@pytest.mark.parametrize(
    ("exc", "cls", "retryable"),
    [
        (httpx.ConnectError("refused", request=_request()), ProviderConnectionError, True),
        (httpx.ConnectTimeout("slow", request=_request()), ProviderTimeout, True),
        (httpx.ReadTimeout("slow", request=_request()), ProviderTimeout, False),
        (httpx.RemoteProtocolError("cut", request=_request()), ProviderConnectionError, True),
        (httpx.ReadError("reset", request=_request()), ProviderConnectionError, True),
        (httpx.DecodingError("bad gzip", request=_request()), ProviderError, False),
    ],
)
def test_httpx_exceptions(exc: httpx.HTTPError, cls: type[ProviderError], retryable: bool) -> None:
    """httpx exceptions map to the tree; messages name the host but no secret."""
    error = translate(exc, "openai")
    assert type(error) is cls
    connecting = isinstance(exc, httpx.ConnectTimeout)
    assert is_retryable(error, connect_phase=connecting) is retryable
    text = str(error) + repr(error)
    assert "127.0.0.1:9" in text
    for secret in ("sk-q", "sk-h", "pw"):
        assert secret not in text


def test_backoff_grows_with_jitter_and_cap() -> None:
    """Delays double from the base, stay within [half, full] and stop at the cap."""
    backoff = Backoff(base=0.5, cap=8.0)
    for retry, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (6, 8.0)]:
        for _ in range(20):
            assert ceiling / 2 <= backoff.delay(retry) <= ceiling
    assert backoff.delay(0, retry_after=5.0) == 5.0


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(400, False), (404, False), (408, True), (429, True), (500, True), (503, True)],
)
def test_retryable_statuses(status: int, retryable: bool) -> None:
    """429, 408/409 and 5xx are retried; other client errors are not."""
    assert is_retryable(status_error("x", status, "", {})) is retryable
