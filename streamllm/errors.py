"""The one exception tree of streamllm (DESIGN.md section 8).

Every error the library raises on purpose derives from :class:`StreamLLMError`.
Messages never contain an API key: provider errors carry the server's message
and status, never the request headers.

This module is the ground floor: it imports nothing from streamllm, so every
other module can raise these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Only for the annotation: importing pydantic would make every
    # `except streamllm.ConfigurationError` pay for it.
    from pydantic import BaseModel

__all__ = [
    "AuthenticationError",
    "BusError",
    "ConfigurationError",
    "HandlerError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderStatusError",
    "ProviderTimeout",
    "RateLimitError",
    "RecordingError",
    "StreamLLMError",
    "StreamProtocolError",
    "StructuredOutputError",
    "ToolArgumentsError",
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
    """One of streamllm's own timeouts expired; ``phase`` names which.

    ``phase`` is ``"connect"``, ``"first_token"``, ``"idle"`` or ``"pool"``
    (``None`` where the provider does not say).
    """

    def __init__(self, message: str, *, phase: str | None = None) -> None:
        super().__init__(message)
        self.phase = phase


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
    """A handler with ``raise_error = True`` failed; the original is ``__cause__``.

    ``event`` is the event it failed on (one of :mod:`streamllm.events`, typed
    here as a pydantic model so that this module stays below the events).
    """

    def __init__(self, message: str, *, handler: Any, event: BaseModel | None) -> None:
        super().__init__(message)
        self.handler = handler
        self.event = event


class RecordingError(StreamLLMError, ValueError):
    """A recording that cannot be read: no header, or a line that is not an event.

    ``path`` and ``line`` (1-based) say where.
    """

    def __init__(self, message: str, *, path: str, line: int | None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


class BusError(StreamLLMError):
    """The bus (Redis) could not be reached or answered wrongly.

    The URL's password is never in its message.
    """


class ToolArgumentsError(StreamLLMError, ValueError):
    """A tool was called with arguments that do not validate.

    ``tool`` names the tool; ``errors`` is pydantic's list of errors; the
    message names each field.
    """

    def __init__(
        self, message: str, *, tool: str, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.tool = tool
        self.errors = errors


class StructuredOutputError(StreamLLMError):
    """The model's answer does not validate against the schema; ``raw`` is its text."""

    def __init__(self, message: str, *, raw: str) -> None:
        super().__init__(message)
        self.raw = raw
