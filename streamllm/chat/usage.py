"""Token counts as the wire reports them, merged and turned into a ``TokenUsage``."""

from __future__ import annotations

from collections.abc import Mapping

from streamllm.chat.deltas import UsageCounts
from streamllm.usage import TokenUsage

__all__ = ["merge_counts", "usage_of"]


def merge_counts(into: dict[str, int], counts: UsageCounts) -> None:
    """Later counts replace earlier ones field by field; unknown (None) ones do not.

    Anthropic reports input tokens at the start and cumulative output tokens
    after, so the latest known value of each field is the total.
    """
    for name, value in counts.items():
        if value is not None:
            into[name] = value


def usage_of(counts: Mapping[str, int]) -> TokenUsage | None:
    """The provider's usage, or None when it reported no count at all.

    The total is derived when the provider gave both parts but no total.
    """
    if not counts:
        return None
    get = counts.get
    return TokenUsage.of(
        get("prompt_tokens"),
        get("completion_tokens"),
        "provider",
        get("total_tokens"),
        cache_read_tokens=get("cache_read_tokens"),
        cache_write_tokens=get("cache_write_tokens"),
        reasoning_tokens=get("reasoning_tokens"),
    )
