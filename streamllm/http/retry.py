"""When to retry a failed HTTP call, and how long to wait first.

A call is retried only while no token has been delivered: after one, the
consumer has seen text that a second attempt would repeat or contradict.
"""

from __future__ import annotations

import random
from typing import final

from streamllm.errors import (
    ProviderConnectionError,
    ProviderStatusError,
    ProviderTimeout,
    StreamLLMError,
)

__all__ = ["Backoff", "is_retryable"]

_RETRY_STATUSES = frozenset({408, 409, 429})


def is_retryable(error: StreamLLMError, *, connect_phase: bool = False) -> bool:
    """Whether an attempt that failed with ``error`` (before any token) may be
    tried again: connection failures, 408/409/429 and 5xx statuses, and timeouts
    while connecting (``connect_phase``). A read timeout is not retried: the
    server is up but slow, and a retry would only double the wait."""
    if isinstance(error, ProviderTimeout):
        return connect_phase
    if isinstance(error, ProviderConnectionError):
        return True
    if isinstance(error, ProviderStatusError):
        return error.status_code >= 500 or error.status_code in _RETRY_STATUSES
    return False


@final
class Backoff:
    """Exponential backoff with jitter: retry ``n`` (from 0) waits between half
    and all of ``min(cap, base * 2**n)`` seconds, or what the server asked for.

    >>> backoff = Backoff(base=0.5, cap=8.0)
    >>> 0.25 <= backoff.delay(0) <= 0.5
    True
    >>> backoff.delay(5, retry_after=3.0)
    3.0
    """

    __slots__ = ("base", "cap")

    def __init__(self, *, base: float, cap: float) -> None:
        self.base = base
        self.cap = cap

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to sleep before retry number ``retry`` (0 for the first)."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.cap, self.base * 2.0**retry)
        # Jitter spreads out clients that failed together, so they do not all
        # come back at the same instant.
        return ceiling / 2 + random.uniform(0.0, ceiling / 2)
