"""Model-token counts and finish reasons: what both a text result and a chat message carry.

Its own module, below :mod:`streamllm.outputs` and :mod:`streamllm.chat`, so
that ``LLMResult.message`` (an ``AIMessage``) and ``AIMessage.usage`` (a
``TokenUsage``) do not make those two import each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FinishReason", "TokenUsage", "normalize_finish_reason"]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "other"]

_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "eos": "stop",
    "length": "length",
    "max_tokens": "length",
    "tool_calls": "tool_calls",
    "tool_use": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "refusal": "content_filter",
}


def normalize_finish_reason(raw: str | None) -> FinishReason | None:
    """Map a provider's finish reason onto streamllm's five values.

    >>> normalize_finish_reason("end_turn")
    'stop'
    """
    if raw is None:
        return None
    return _FINISH_REASONS.get(raw, "other")


class TokenUsage(BaseModel):
    """Model-token counts with provenance.

    ``source`` is ``"provider"`` when the provider reported the counts and
    ``"estimated"`` otherwise. A count that is not known is ``None``, never 0.
    Adding usages sums them; a sum with an unknown part is unknown, and a sum
    with an estimated part is estimated.

    The details are parts of the main counts, not additions to them:
    ``cache_read_tokens`` (served from the provider's prompt cache) and
    ``cache_write_tokens`` (written to it on this call) are part of
    ``prompt_tokens``, which is always the whole input; ``reasoning_tokens``
    (spent thinking) is part of ``completion_tokens``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt_tokens: int | None = Field(default=None, ge=0)
    completion_tokens: int | None = Field(default=None, ge=0)
    total_tokens: int | None = Field(default=None, ge=0)
    source: Literal["provider", "estimated"] = "provider"
    cache_read_tokens: int | None = Field(default=None, ge=0)
    cache_write_tokens: int | None = Field(default=None, ge=0)
    reasoning_tokens: int | None = Field(default=None, ge=0)

    @classmethod
    def of(
        cls,
        prompt_tokens: int | None,
        completion_tokens: int | None,
        source: Literal["provider", "estimated"] = "provider",
        total_tokens: int | None = None,
        *,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        reasoning_tokens: int | None = None,
    ) -> TokenUsage:
        """Build a usage, deriving the total when both parts are known."""
        if total_tokens is None and prompt_tokens is not None and completion_tokens is not None:
            total_tokens = prompt_tokens + completion_tokens
        return cls(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=total_tokens,
            source=source,
            cache_read_tokens=cache_read_tokens,
            cache_write_tokens=cache_write_tokens,
            reasoning_tokens=reasoning_tokens,
        )

    def __add__(self, other: TokenUsage) -> TokenUsage:
        if not isinstance(other, TokenUsage):
            return NotImplemented
        source: Literal["provider", "estimated"] = (
            "estimated" if "estimated" in (self.source, other.source) else "provider"
        )
        counts = {name: _add(getattr(self, name), getattr(other, name)) for name in _COUNTS}
        return TokenUsage.model_validate({**counts, "source": source})

    @staticmethod
    def total(usages: Iterable[TokenUsage | None]) -> TokenUsage | None:
        """The sum of several usages; ``None`` when there are none (or one is missing)."""
        out: TokenUsage | None = None
        for usage in usages:
            if usage is None:
                return None
            out = usage if out is None else out + usage
        return out


_COUNTS = tuple(name for name in TokenUsage.model_fields if name != "source")


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b
