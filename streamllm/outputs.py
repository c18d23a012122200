"""What a model produces: chunks while streaming, then generations and a result."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, final
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from streamllm._frozen import freeze_mapping
from streamllm.chat.message import AIMessage

# Re-exported: they lived here before streamllm.usage, and callers import them from here.
from streamllm.usage import FinishReason, TokenUsage, normalize_finish_reason

__all__ = [
    "FinishReason",
    "Generation",
    "GenerationChunk",
    "LLMResult",
    "TokenUsage",
    "normalize_finish_reason",
]


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
    #: The run's answer as a message, for a chat run (None for a text run).
    message: AIMessage | None = None

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
            # One run's message stays; several runs' answers are the generations.
            message=parts[0].message if len(parts) == 1 else None,
        )
