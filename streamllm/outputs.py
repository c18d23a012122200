"""What a model produces: chunks while streaming, then generations and a result."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, final
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from streamllm._frozen import freeze_mapping

__all__ = [
    "FinishReason",
    "Generation",
    "GenerationChunk",
    "LLMResult",
    "TokenUsage",
    "normalize_finish_reason",
]

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


@final
class GenerationChunk:
    """One piece of a streamed response, as a provider yields it.

    ``text`` is the streamed text (empty for chunks that only carry metadata);
    ``extras`` holds per-token provider data such as logprobs; ``finish_reason``
    is the provider's own value; ``usage`` is set on the chunk that reports it.
    Chunks add up: ``a + b`` joins the text and keeps the latest metadata.

    ``extras`` must be JSON-compatible, since it becomes ``NewToken.chunk``. It
    is checked here, where the provider builds the chunk, and kept read-only;
    anything else raises ``TypeError`` (``ValueError`` for NaN or infinity)
    naming the offending key, so a provider bug fails in the provider::

        >>> GenerationChunk("a", extras={"ids": {1, 2}})
        Traceback (most recent call last):
        TypeError: GenerationChunk extras['ids'] is a set, which is not a JSON value
    """

    __slots__ = ("extras", "finish_reason", "text", "usage")

    extras: Mapping[str, JsonValue] | None

    def __init__(
        self,
        text: str = "",
        *,
        extras: Mapping[str, Any] | None = None,
        finish_reason: str | None = None,
        usage: TokenUsage | None = None,
    ) -> None:
        self.text = text
        self.extras = None if extras is None else freeze_mapping(extras, "GenerationChunk extras")
        self.finish_reason = finish_reason
        self.usage = usage

    def __add__(self, other: GenerationChunk) -> GenerationChunk:
        if not isinstance(other, GenerationChunk):
            return NotImplemented
        extras: Mapping[str, Any] | None
        if self.extras is None or other.extras is None:
            extras = other.extras if self.extras is None else self.extras
        else:
            # Both parts are frozen already: re-freezing the merge is one shallow pass.
            extras = {**self.extras, **other.extras}
        return GenerationChunk(
            self.text + other.text,
            extras=extras,
            finish_reason=other.finish_reason or self.finish_reason,
            usage=other.usage or self.usage,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GenerationChunk):
            return NotImplemented
        return (self.text, self.extras, self.finish_reason, self.usage) == (
            other.text,
            other.extras,
            other.finish_reason,
            other.usage,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = [repr(self.text)]
        for name in ("extras", "finish_reason", "usage"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        return f"GenerationChunk({', '.join(parts)})"


class Generation(BaseModel):
    """One finished output for one prompt."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    finish_reason: FinishReason | None = None
    provider_finish_reason: str | None = None


class LLMResult(BaseModel):
    """The result of one or more runs: generations per prompt, usage, run ids.

    ``generations[i]`` holds the outputs for prompt ``i`` (one each: ``n`` is 1).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    generations: tuple[tuple[Generation, ...], ...]
    usage: TokenUsage | None = None
    model: str | None = None
    run_ids: tuple[UUID, ...] = ()
    retries: int = Field(default=0, ge=0)

    @property
    def text(self) -> str:
        """The text of the first generation of the first prompt."""
        return self.generations[0][0].text if self.generations and self.generations[0] else ""

    @property
    def finish_reason(self) -> FinishReason | None:
        """The normalised finish reason of the first generation."""
        if self.generations and self.generations[0]:
            return self.generations[0][0].finish_reason
        return None

    @classmethod
    def combine(cls, results: Iterable[LLMResult]) -> LLMResult:
        """One result for several runs: generations in order, usage summed."""
        parts = list(results)
        models = {r.model for r in parts}
        return cls(
            generations=tuple(g for r in parts for g in r.generations),
            usage=TokenUsage.total(r.usage for r in parts) if parts else None,
            model=models.pop() if len(models) == 1 else None,
            run_ids=tuple(i for r in parts for i in r.run_ids),
            retries=sum(r.retries for r in parts),
        )
