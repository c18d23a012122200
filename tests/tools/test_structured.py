"""Structured output: a validated instance through a forced tool call; streamed
partial dicts that only grow; StructuredOutputError with the raw text."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from streamllm import FakeListLLM, StructuredOutputError
from streamllm.chat.tools_schema import NamedTool
from streamllm.errors import ConfigurationError
from streamllm.models.fake_chat import FakeChatModel
from streamllm.request import Request
from streamllm.structured import with_structured_output
from streamllm.testing import RecordingHandler


class Weather(BaseModel):
    """The weather in a city."""

    city: str
    celsius: float
    tags: list[str] = []


def answer(args: dict[str, Any] | None = None, args_text: str | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"name": "Weather"}
    if args_text is not None:
        call["args_text"] = args_text
    else:
        call["args"] = args
    return {"tool_calls": [call]}


PARIS = {"city": "Paris", "celsius": 22.5, "tags": ["sunny", "warm"]}


def grows(before: Any, after: Any) -> bool:
    """Whether ``after`` only adds to ``before``: keys added, lists longer,
    strings longer, nothing shown changed."""
    if isinstance(before, dict):
        return isinstance(after, dict) and all(
            k in after and grows(v, after[k]) for k, v in before.items()
        )
    if isinstance(before, list):
        return (
            isinstance(after, list)
            and len(before) <= len(after)
            and all(grows(a, b) for a, b in zip(before, after, strict=False))
        )
    if isinstance(before, str):
        return isinstance(after, str) and after.startswith(before)
    return bool(before == after)


class _Capturing(FakeChatModel):
    """Records the tools and tool choice each request carried."""

    def _stream(self, request: Request) -> Iterator[Any]:
        SEEN.append((request.tools, request.tool_choice))
        yield from super()._stream(request)


SEEN: list[Any] = []


def test_invoke_forces_the_schema_tool_and_returns_the_instance() -> None:
    """invoke offers one tool named after the schema, forces it, and returns a
    validated instance of the schema."""
    SEEN.clear()
    model = _Capturing(responses=[answer(PARIS)])
    assert with_structured_output(model, Weather).invoke("Paris?") == Weather(**PARIS)
    (tools, choice) = SEEN[0]
    assert [t.name for t in tools] == ["Weather"]
    assert tools[0].description == "The weather in a city."
    assert choice == NamedTool(name="Weather")


async def test_ainvoke_and_astream() -> None:
    """The async twins give the same instance and the same growing dicts."""
    model = FakeChatModel(responses=[answer(PARIS)])
    structured = with_structured_output(model, Weather)
    assert await structured.ainvoke("Paris?") == Weather(**PARIS)
    parts = [p async for p in structured.astream("Paris?")]
    assert parts[-1] == PARIS
    assert all(grows(a, b) for a, b in itertools.pairwise(parts))


def test_stream_yields_dicts_that_only_grow_and_end_with_the_answer() -> None:
    """Streaming shows the object as its arguments arrive: each dict only adds
    to the previous one, and the last one is the whole (valid) answer."""
    model = FakeChatModel(responses=[answer(PARIS)], args_fragment=3)
    parts = list(with_structured_output(model, Weather).stream("Paris?"))
    assert len(parts) > 3
    assert parts[-1] == PARIS
    assert any(0 < len(p.get("city", "")) < len("Paris") for p in parts)  # a string shown live
    assert all(grows(a, b) for a, b in itertools.pairwise(parts))
    assert len({json.dumps(p) for p in parts}) == len(parts)  # each one is news


@settings(max_examples=40, deadline=None)
@given(
    value=st.dictionaries(
        st.text(min_size=1, max_size=5),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: st.lists(inner, max_size=3),
            max_leaves=6,
        ),
        max_size=4,
    ),
    fragment=st.integers(min_value=1, max_value=12),
)
def test_property_partials_only_grow_whatever_the_fragments(
    value: dict[str, Any], fragment: int
) -> None:
    """For any JSON object cut in any fragment size, the partial dicts only grow
    and the last equals the object."""

    class Anything(BaseModel, extra="allow"):
        present: bool = True

    model = FakeChatModel(
        responses=[{"tool_calls": [{"name": "Anything", "args": value}]}], args_fragment=fragment
    )
    parts = list(with_structured_output(model, Anything).stream("x"))
    assert parts[-1] == value
    assert all(grows(a, b) for a, b in itertools.pairwise(parts))


@pytest.mark.parametrize(
    ("response", "raw", "why"),
    [
        (
            answer({"city": "Paris", "celsius": "warm"}),
            '{"city": "Paris", "celsius": "warm"}',
            "celsius",
        ),
        (answer(args_text='{"city": "Par'), '{"city": "Par', "not a JSON object"),
        ("I think it is sunny.", "I think it is sunny.", "called no tool"),
    ],
    ids=["wrong-type", "broken-json", "no-call"],
)
def test_an_answer_that_does_not_validate_carries_its_raw_text(
    response: Any, raw: str, why: str
) -> None:
    """A wrong type, arguments that are not JSON, or no call at all:
    StructuredOutputError, with the model's raw text."""
    structured = with_structured_output(FakeChatModel(responses=[response]), Weather)
    with pytest.raises(StructuredOutputError, match=why) as info:
        structured.invoke("Paris?")
    assert info.value.raw == raw


def test_stream_raises_at_the_end_with_the_streamed_text() -> None:
    """A streamed answer that does not validate: the partials, then
    StructuredOutputError whose raw is exactly the fragments sent."""
    text = '{"city": "Paris", "celsius": "warm"}'
    model = FakeChatModel(responses=[answer(args_text=text)], args_fragment=4)
    parts: list[dict[str, Any]] = []
    with pytest.raises(StructuredOutputError) as info:
        for part in with_structured_output(model, Weather).stream("Paris?"):
            parts.append(part)
    assert parts[-1] == {"city": "Paris", "celsius": "warm"}
    assert info.value.raw == text


def test_a_json_answer_in_text_is_read_best_effort() -> None:
    """A server that ignores tool_choice and writes the JSON as text (in a code
    fence or not) still gives the instance."""
    fenced = "```json\n" + json.dumps(PARIS) + "\n```"
    for text in (json.dumps(PARIS), fenced):
        model = FakeChatModel(responses=[text])
        assert with_structured_output(model, Weather).invoke("x") == Weather(**PARIS)


def test_closing_the_stream_early_ends_the_model_run() -> None:
    """Stopping after the first partial ends the model's run at once, cancelled."""
    rec = RecordingHandler()
    model = FakeChatModel(responses=[answer(PARIS)], args_fragment=2)
    stream = with_structured_output(model, Weather).stream("x", callbacks=[rec])
    next(stream)
    stream.close()
    terminal = [e for e in rec.events if type(e).__name__ in ("LLMEnd", "LLMError")]
    assert [getattr(e, "reason", None) for e in terminal] == ["cancelled"]


class Empty(BaseModel):
    pass


@pytest.mark.parametrize(
    ("model", "schema", "named"),
    [
        (FakeChatModel(responses=["x"]), Empty, "'Empty' has no properties"),
        (FakeChatModel(responses=["x"]), dict, "pydantic model class"),
        (FakeListLLM(responses=["x"]), Weather, "not a chat model"),
    ],
)
def test_bad_schemas_and_models_are_refused_before_any_call(
    model: Any, schema: Any, named: str
) -> None:
    """No properties, not a pydantic model, a text model: ConfigurationError at once."""
    with pytest.raises(ConfigurationError, match=named), contextlib.suppress(StopIteration):
        with_structured_output(model, schema)


def test_the_chat_model_method_is_the_same() -> None:
    """model.with_structured_output(Schema) is with_structured_output(model, Schema)."""
    model = FakeChatModel(responses=[answer(PARIS)])
    assert model.with_structured_output(Weather).invoke("Paris?") == Weather(**PARIS)
