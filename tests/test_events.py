"""Events: frozen, one discriminated union, JSON round trip, exportable schema."""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from streamllm import (
    ChainEnd,
    ChainError,
    ErrorInfo,
    Event,
    FakeListLLM,
    GenerationChunk,
    LLMEnd,
    LLMError,
    LLMResult,
    LLMStart,
    NewToken,
    Request,
    TokenUsage,
    event_json,
    parse_event,
)
from streamllm._fast import trusted_event
from streamllm._frozen import FrozenDict
from streamllm.events import EVENT_CLASSES, HOOKS, BaseEvent, BlockDelta, event_json_schema
from streamllm.testing import RecordingHandler
from tests.models.helpers import Boom, FailingLLM

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


def test_slots_match_hooks() -> None:
    """Each event class's slot indexes its hook name, which names its type."""
    for slot, cls in enumerate(EVENT_CLASSES):
        assert cls.slot == slot
        assert (
            HOOKS[slot].removeprefix("on_").removeprefix("llm_") in cls.model_fields["type"].default
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


def test_run_ids_are_uuid4s_in_every_way() -> None:
    """The ids are built without ``UUID.__init__``: they must be indistinguishable
    from ``UUID(int=...)`` of the same value (equality, hash, str, version,
    variant, pickling, is_safe, ordering)."""
    import pickle
    from uuid import RFC_4122, UUID, SafeUUID

    from streamllm._ids import new_run_id

    for _ in range(200):
        got = new_run_id()
        same = UUID(int=got.int)
        assert type(got) is UUID
        assert got == same
        assert hash(got) == hash(same)
        assert str(got) == str(same)
        assert got.version == 4
        assert got.variant == RFC_4122
        assert got.is_safe is SafeUUID.unknown
        assert pickle.loads(pickle.dumps(got)) == got
        assert UUID(str(got)) == got
        assert not got < same
    assert len({new_run_id() for _ in range(1000)}) == 1000


class ExtrasLLM(FakeListLLM):
    """Streams its response word by word, each chunk carrying provider extras."""

    extras: dict[str, Any] = Field(default_factory=dict)

    def _stream(self, request: Request) -> Iterator[GenerationChunk]:
        for chunk in super()._stream(request):
            yield GenerationChunk(chunk.text, extras=self.extras)


def hot_path_events() -> list[BaseEvent]:
    """Events as the library builds them on the hot path (no validation)."""
    recorder = RecordingHandler()
    model = ExtrasLLM(responses=["a b"], extras={"logprobs": [-0.5, -1.25]})
    model.invoke("hi", callbacks=[recorder], metadata={"user": "ada", "ids": [1, 2]}, tags=["t"])
    with pytest.raises(Boom):
        FailingLLM(responses=["a b"], fail_after=1).invoke("x", callbacks=[recorder])
    assert {type(e) for e in recorder.events} == {LLMStart, NewToken, LLMEnd, LLMError}
    return list(recorder.events)


def test_hot_path_events_support_every_pydantic_operation() -> None:
    """Trusted events copy, compare, pickle, dump and validate back like validated ones."""
    for event in hot_path_events():
        validated = type(event).model_validate(event.model_dump())
        assert validated == event
        assert event.model_fields_set == set(type(event).model_fields)
        copied = event.model_copy(update={"name": "renamed"})
        assert copied.name == "renamed"
        assert event.name != "renamed"
        assert "name" in copied.model_fields_set
        assert copied == validated.model_copy(update={"name": "renamed"})
        assert event.model_copy() == event
        assert event.model_copy(deep=True) == event
        assert copy.deepcopy(event) == event
        assert pickle.loads(pickle.dumps(event)) == event
        assert TypeAdapter(Event).validate_json(event.model_dump_json()) == event
        assert TypeAdapter(Event).validate_python(event.model_dump()) == event
        assert json.loads(event.model_dump_json()) == json.loads(validated.model_dump_json())


def test_trusted_instances_hold_the_state_validation_leaves() -> None:
    """What pickling saves of a trusted event equals that of a validated one, slot by slot."""
    for event in hot_path_events():
        validated = type(event).model_validate(event.model_dump())
        mine, theirs = event.__getstate__(), validated.__getstate__()
        assert set(mine) == set(theirs)
        assert mine["__dict__"] == theirs["__dict__"]
        assert mine["__pydantic_extra__"] == theirs["__pydantic_extra__"]
        assert mine["__pydantic_private__"] == theirs["__pydantic_private__"]


def test_shared_fields_set_cannot_be_changed() -> None:
    """The fields set trusted events share is read-only; a copy of it is a plain set."""
    event = hot_path_events()[1]
    with pytest.raises(TypeError, match="read-only"):
        event.model_fields_set.add("x")
    assert type(copy.copy(event.model_fields_set)) is set


def test_what_events_hold_is_read_only() -> None:
    """Metadata, invocation params and chunk extras cannot be changed by a handler."""
    events = hot_path_events()
    start, token = events[0], events[1]
    assert isinstance(start, LLMStart)
    assert isinstance(token, NewToken)
    assert start.metadata == {"user": "ada", "ids": [1, 2]}
    assert token.chunk == {"logprobs": [-0.5, -1.25]}
    # Typed as Mapping, so mypy already refuses these; at run time they raise.
    meta: Any = start.metadata
    params: Any = start.invocation_params
    chunk: Any = token.chunk
    writes: list[Callable[[], object]] = [
        lambda: meta.__setitem__("user", "bob"),
        lambda: meta["ids"].append(3),
        lambda: params.update(x=1),
        lambda: chunk["logprobs"].clear(),
        lambda: meta.pop("user"),
    ]
    for write in writes:
        with pytest.raises(TypeError, match="read-only"):
            write()
    assert start.metadata == {"user": "ada", "ids": [1, 2]}
    assert token.chunk == {"logprobs": [-0.5, -1.25]}


def test_validated_events_hold_read_only_data_too() -> None:
    """An event read back from JSON is as read-only as one the library built."""
    event = parse_event(event_json(hot_path_events()[0]))
    with pytest.raises(TypeError, match="read-only"):
        event.metadata["ids"].append(3)  # type: ignore[union-attr]


def test_a_lone_surrogate_serialises_and_reads_back() -> None:
    """Text with a lone surrogate (valid JSON from a server) is written escaped, read back equal."""
    recorder = RecordingHandler()
    FakeListLLM(responses=["ok \ud83d end"]).invoke("hi \udc00", callbacks=[recorder])
    lines = [event_json(event) for event in recorder.events]
    for line, event in zip(lines, recorder.events, strict=True):
        line.encode("utf-8")  # a file or a socket can take it
        assert parse_event(line) == event
        assert parse_event(line.encode()) == event
    assert "\\udc00" in lines[0]  # the prompt, in LLMStart
    assert "\\ud83d" in lines[2]  # the token
    assert "\\ud83d" in lines[-1]  # the result, in LLMEnd


def test_event_json_is_model_dump_json_for_ordinary_text() -> None:
    """Without surrogates, event_json writes exactly what pydantic writes."""
    for event in hot_path_events():
        assert event_json(event) == event.model_dump_json()


def test_end_events_turn_into_their_failure_twin() -> None:
    """as_failure replaces an end event with an error event of the same run, seq and time."""
    end = next(e for e in hot_path_events() if isinstance(e, LLMEnd))
    failed = end.as_failure(ErrorInfo(type="HandlerError", message="boom"))
    assert isinstance(failed, LLMError)
    assert failed.reason == "failed"
    assert failed.partial == end.result
    assert (failed.run_id, failed.seq, failed.time, failed.metadata) == (
        end.run_id,
        end.seq,
        end.time,
        end.metadata,
    )
    assert parse_event(event_json(failed)) == failed
    chain_end = ChainEnd(
        run_id=uuid4(), trace_id=uuid4(), seq=1, time=0.0, monotonic=0.0, name="c", outputs=[1]
    )
    chain_failed = chain_end.as_failure(ErrorInfo(type="X", message="y"))
    assert isinstance(chain_failed, ChainError)
    assert (chain_failed.run_id, chain_failed.seq) == (chain_end.run_id, 1)


def test_event_classes_say_how_they_are_delivered() -> None:
    """Each class carries its slot, hook and phase; only text and block deltas may be dropped."""
    assert [cls.slot for cls in EVENT_CLASSES] == list(range(len(EVENT_CLASSES)))
    assert tuple(cls.hook for cls in EVENT_CLASSES) == HOOKS
    assert {cls for cls in EVENT_CLASSES if cls.droppable} == {NewToken, BlockDelta}
    assert {cls.phase for cls in EVENT_CLASSES} == {"start", "step", "end", "error"}


def test_model_dump_json_of_an_event_survives_a_lone_surrogate() -> None:
    """Writers that call model_dump_json (bus, web, CLI) get an escaped line, indented or not."""
    event = NewToken(
        run_id=uuid4(), trace_id=uuid4(), seq=0, time=0.0, monotonic=0.0, name="m",
        token="\ud83d", index=0,
    )  # fmt: skip
    assert parse_event(event.model_dump_json()) == event
    indented = event.model_dump_json(indent=2)
    assert '"token": "\\ud83d"' in indented
    assert parse_event(indented) == event
    assert '"seq"' not in event.model_dump_json(exclude={"seq"})


def test_unset_slots_are_filled_on_first_read() -> None:
    """An event built from its __dict__ alone becomes a complete instance when pydantic looks."""
    raw_extra = BaseModel.__dict__["__pydantic_extra__"]
    data = hot_path_events()[1].model_dump()
    event = trusted_event(NewToken, {**data, "metadata": FrozenDict(), "chunk": None})
    with pytest.raises(AttributeError):
        raw_extra.__get__(event, NewToken)
    assert event == NewToken.model_validate(event.model_dump())
    assert raw_extra.__get__(event, NewToken) is None
    assert event.model_fields_set == set(NewToken.model_fields)


def test_an_unknown_pydantic_layout_fails_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """If pydantic's instance slots change, streamllm refuses to load, not build bad events."""
    from streamllm import _fast

    _fast._check_pydantic()  # the installed pydantic passes
    monkeypatch.setattr(BaseModel, "__slots__", ("__dict__", "__pydantic_fields_set__"))
    with pytest.raises(ImportError, match="supported pydantic"):
        _fast._check_pydantic()


def test_event_classes_leave_the_name_kind_free() -> None:
    """The name `kind` stays free for fields (BlockStart has one); the index is `slot`."""
    assert not any(hasattr(cls, "kind") for cls in EVENT_CLASSES)
