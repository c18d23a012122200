"""The one exception tree of streamllm (DESIGN.md section 8).

Every error the library raises on purpose derives from :class:`StreamLLMError`.
Messages never contain an API key: provider errors carry the server's message
and status, never the request headers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streamllm.events import Event

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "HandlerError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderStatusError",
    "ProviderTimeout",
    "RateLimitError",
    "StreamLLMError",
    "StreamProtocolError",
]


class StreamLLMError(Exception):
    """Root of every exception streamllm raises on purpose."""


class ConfigurationError(StreamLLMError, ValueError):
    """A bad argument, parameter, handler or setting, found before any network call."""


class ProviderError(StreamLLMError):
    """The model provider failed, or reported an error inside its stream."""


class ProviderConnectionError(ProviderError):
    """The provider could not be reached, or the connection broke."""


class ProviderTimeout(ProviderError):
    """One of streamllm's own timeouts (connect, first token, idle) expired."""


class ProviderStatusError(ProviderError):
    """The provider answered with an HTTP error status."""

    def __init__(self, message: str, *, status_code: int, body: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class RateLimitError(ProviderStatusError):
    """HTTP 429: the provider asks us to slow down; ``retry_after`` is in seconds."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        body: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.retry_after = retry_after


class AuthenticationError(ProviderStatusError):
    """HTTP 401 or 403: the key is missing, wrong or not allowed."""


class StreamProtocolError(StreamLLMError):
    """Malformed wire data, or a stream that ended without its terminator."""


class HandlerError(StreamLLMError):
    """A handler with ``raise_error = True`` failed; the original is ``__cause__``."""

    def __init__(self, message: str, *, handler: Any, event: Event | None) -> None:
        super().__init__(message)
        self.handler = handler
        self.event = event
