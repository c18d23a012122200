"""Outputs: chunks add up and carry JSON extras only, usage keeps its provenance, finish reasons
normalise; the read-only JSON values events hold."""

from __future__ import annotations

import copy
import json
import pickle
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamllm import FakeListLLM, GenerationChunk, LLMError, LLMStart, Request, TokenUsage
from streamllm._frozen import FrozenDict, FrozenList, freeze, freeze_mapping
from streamllm.outputs import normalize_finish_reason
from streamllm.testing import RecordingHandler


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


@pytest.mark.parametrize(
    ("extras", "error", "where"),
    [
        ({"ids": {1, 2}}, TypeError, "extras['ids'] is a set"),
        ({"raw": b"\x00"}, TypeError, "extras['raw'] is a bytes"),
        ({"top": [{"lp": float("nan")}]}, ValueError, "extras['top'][0]['lp'] is nan"),
        ({"by_id": {1: "a"}}, TypeError, "extras['by_id'] has the key 1"),
        ({"obj": object()}, TypeError, "extras['obj'] is a object"),
    ],
)
def test_extras_that_are_not_json_fail_where_the_chunk_is_built(
    extras: dict[str, Any], error: type[Exception], where: str
) -> None:
    """A provider that puts a non-JSON value in a chunk fails there, naming the key."""
    with pytest.raises(error, match=re.escape(where)):
        GenerationChunk("a", extras=extras)


def test_extras_are_kept_read_only_and_add_up() -> None:
    """Chunk extras cannot be changed after the chunk is built; adding merges them."""
    a = GenerationChunk("a", extras={"logprobs": [-1.0]})
    b = GenerationChunk("b", extras={"id": "x"})
    assert a.extras is not None
    with pytest.raises(TypeError, match="read-only"):
        a.extras["logprobs"].append(0.0)  # type: ignore[union-attr]
    total = a + b
    assert total.extras == {"logprobs": [-1.0], "id": "x"}
    with pytest.raises(TypeError, match="read-only"):
        total.extras["id"] = "y"  # type: ignore[index]


def test_a_provider_with_bad_extras_fails_the_run_in_the_provider() -> None:
    """The run ends with LLMError and the caller gets the provider's TypeError, not a handler's."""

    class BadExtras(FakeListLLM):
        def _stream(self, request: Request) -> Iterator[GenerationChunk]:
            yield GenerationChunk("a", extras={"when": datetime.now(UTC)})

    recorder = RecordingHandler()
    with pytest.raises(TypeError, match=r"extras\['when'\] is a datetime"):
        BadExtras(responses=["a"]).invoke("x", callbacks=[recorder])
    assert [type(e) for e in recorder.events] == [LLMStart, LLMError]
    terminal = recorder.events[-1]
    assert isinstance(terminal, LLMError)
    assert terminal.reason == "failed"
    assert terminal.error.type == "TypeError"


def test_usage_details_sum_with_the_unknown_rule() -> None:
    """Cache and reasoning counts add up; a sum with an unknown part is unknown."""
    a = TokenUsage.of(10, 5, cache_read_tokens=4, reasoning_tokens=2)
    b = TokenUsage.of(6, 3, cache_read_tokens=1, reasoning_tokens=None)
    total = a + b
    assert (total.prompt_tokens, total.completion_tokens, total.total_tokens) == (16, 8, 24)
    assert total.cache_read_tokens == 5
    assert total.reasoning_tokens is None
    assert total.cache_write_tokens is None
    assert TokenUsage.total([a, a]) == TokenUsage.of(
        20, 10, cache_read_tokens=8, reasoning_tokens=4
    )
    with pytest.raises(ValueError, match="greater than or equal"):
        TokenUsage(cache_write_tokens=-1)


def test_freeze_checks_json_and_freezes_deeply() -> None:
    """freeze() accepts JSON values only and returns read-only containers equal to the input."""
    value = {"a": [1, {"b": (2, 3)}], "c": None, "d": True, "e": 1.5, "f": "x"}
    frozen = freeze(value, "metadata")
    assert frozen == {"a": [1, {"b": [2, 3]}], "c": None, "d": True, "e": 1.5, "f": "x"}
    assert isinstance(frozen, FrozenDict)
    assert freeze(frozen) is frozen
    assert json.loads(json.dumps(frozen)) == frozen
    assert pickle.loads(pickle.dumps(frozen)) == frozen
    assert copy.deepcopy(frozen) == frozen
    assert isinstance(pickle.loads(pickle.dumps(frozen))["a"], FrozenList)
    with pytest.raises(TypeError, match=re.escape("metadata['a'][1]['b'] is a set")):
        freeze({"a": [1, {"b": {2}}]}, "metadata")
    with pytest.raises(TypeError, match="not a mapping"):
        freeze_mapping(["x"], "metadata")  # type: ignore[arg-type]
    mutable = dict(frozen)
    mutable["z"] = 1
    assert "z" not in frozen
