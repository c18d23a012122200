"""Events: frozen, one discriminated union, JSON round trip, exportable schema."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from streamllm import FakeListLLM, LLMResult, NewToken, TokenUsage, parse_event
from streamllm.events import EVENT_CLASSES, HOOKS, event_json_schema
from streamllm.testing import RecordingHandler
from tests.models.helpers import FailingLLM

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=50, deadline=None)
@given(
    answer=st.text(max_size=30),
    metadata=st.dictionaries(st.text(max_size=8), json_values, max_size=3),
    tags=st.lists(st.text(max_size=8), max_size=3),
)
def test_every_event_round_trips_through_json(
    answer: str, metadata: dict[str, Any], tags: list[str]
) -> None:
    """Any event serialises to a JSON line that reads back equal."""
    recorder = RecordingHandler()
    model = FakeListLLM(responses=[answer], usage=TokenUsage.of(3, 4))
    model.invoke("prompt", callbacks=[recorder], metadata=metadata, tags=tags)
    failing = FailingLLM(responses=["a b"], fail_after=1)
    with pytest.raises(RuntimeError):
        failing.invoke([{"role": "user", "content": "hi"}], callbacks=[recorder])
    for event in recorder.events:
        line = event.model_dump_json()
        assert parse_event(line) == event
        assert parse_event(json.loads(line)) == event


def test_events_are_frozen() -> None:
    """Events cannot be changed after they are built."""
    event = NewToken(
        run_id=uuid4(),
        trace_id=uuid4(),
        seq=0,
        time=0.0,
        monotonic=0.0,
        name="m",
        token="a",
        index=0,
    )
    with pytest.raises(ValidationError):
        event.token = "b"  # type: ignore[misc]


def test_schema_exports_every_event_type() -> None:
    """The union's JSON schema names every event type."""
    schema = event_json_schema()
    assert {cls.__name__ for cls in EVENT_CLASSES} <= set(schema["$defs"])
    assert schema["discriminator"]["propertyName"] == "type"
    json.dumps(schema)


def test_kinds_match_hooks() -> None:
    """Each event class's kind indexes its hook name."""
    for kind, cls in enumerate(EVENT_CLASSES):
        assert cls.kind == kind
        assert (
            HOOKS[kind].removeprefix("on_").removeprefix("llm_") in cls.model_fields["type"].default
        )


def test_unknown_type_is_refused() -> None:
    """A line with an unknown ``type`` does not parse."""
    with pytest.raises(ValidationError):
        parse_event('{"type": "llm_nope"}')


def test_result_of_several_runs_sums_usage() -> None:
    """generate() over several prompts sums usage; estimated if any part is."""
    model = FakeListLLM(responses=["a b"], usage=TokenUsage.of(2, 2))
    result = model.generate(["x", "y"])
    assert result.usage == TokenUsage(prompt_tokens=4, completion_tokens=4, total_tokens=8)
    mixed = LLMResult.combine([result, FakeListLLM(responses=["c"]).generate(["z"])])
    assert mixed.usage is not None
    assert mixed.usage.source == "estimated"
    assert len(mixed.generations) == 3


def test_run_ids_survive_reseeding_the_global_random() -> None:
    """Run ids do not repeat when someone reseeds the global random module."""
    import random

    from streamllm._ids import new_run_id

    random.seed(7)
    first = new_run_id()
    random.seed(7)
    assert new_run_id() != first
