"""Outputs: chunks add up, usage keeps its provenance, finish reasons normalise."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamllm import GenerationChunk, TokenUsage
from streamllm.outputs import normalize_finish_reason


@given(st.lists(st.text(max_size=5), min_size=1, max_size=10))
def test_chunks_add_up(parts: list[str]) -> None:
    """Adding chunks joins their text and keeps the latest metadata."""
    chunks = [GenerationChunk(p) for p in parts]
    chunks[-1] = GenerationChunk(parts[-1], finish_reason="stop", usage=TokenUsage.of(1, 2))
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert total.text == "".join(parts)
    assert total.finish_reason == "stop"
    assert total.usage == TokenUsage.of(1, 2)


def test_usage_unknown_is_none_never_zero() -> None:
    """A sum with an unknown part is unknown; estimated taints the sum."""
    known = TokenUsage.of(1, 2)
    partial = TokenUsage(prompt_tokens=5, source="provider")
    assert (known + partial).completion_tokens is None
    assert (known + partial).prompt_tokens == 6
    assert (known + TokenUsage.of(1, 1, "estimated")).source == "estimated"
    assert known.total_tokens == 3
    with pytest.raises(ValueError, match="greater than or equal"):
        TokenUsage(prompt_tokens=-1)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("stop", "stop"),
        ("end_turn", "stop"),
        ("max_tokens", "length"),
        ("length", "length"),
        ("tool_use", "tool_calls"),
        ("content_filter", "content_filter"),
        ("weird", "other"),
        (None, None),
    ],
)
def test_finish_reasons_normalise(raw: str | None, normal: str | None) -> None:
    """Provider finish reasons map onto five values."""
    assert normalize_finish_reason(raw) == normal
