"""Defining tools: names, descriptions and schemas from typed functions, and the
bad definitions refused at once with a ConfigurationError naming what is wrong."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from streamllm.chat.tools_schema import to_tool_spec
from streamllm.errors import ConfigurationError
from streamllm.tools import Tool, tool


def test_bare_decorator_takes_name_description_and_argument_docs() -> None:
    """@tool names the tool after the function and describes it and each argument
    from the docstring; defaults and required arguments come from the signature."""

    @tool
    def get_weather(city: str, days: int = 1) -> str:
        """The weather in a city.

        Args:
            city: The city's name.
            days (int): How many days ahead,
                counted from today.
        """
        return city

    schema = get_weather.args_schema.model_json_schema()
    assert get_weather.name == "get_weather"
    assert get_weather.description == "The weather in a city."
    assert schema["required"] == ["city"]
    assert schema["properties"]["city"]["description"] == "The city's name."
    assert schema["properties"]["days"]["description"] == "How many days ahead, counted from today."
    assert schema["properties"]["days"]["default"] == 1


def test_decorator_with_options_and_async_function() -> None:
    """@tool(name=, description=) overrides both; an async function becomes the
    tool's coroutine."""

    @tool(name="lookup-word", description="Find a word.")
    async def find(word: str) -> str:
        return word

    assert (find.name, find.description) == ("lookup-word", "Find a word.")
    assert find.coroutine is not None
    assert find.func is None


def test_annotated_field_descriptions_and_nested_models() -> None:
    """Annotated[..., Field(description=...)] and pydantic models as parameter
    types reach the schema and the function gets the validated model."""

    got: list[Any] = []

    @tool
    def move(to: Point, speed: Annotated[int, Field(description="km/h", ge=0)] = 5) -> str:
        """Move."""
        got.append(to)
        return "ok"

    schema = move.args_schema.model_json_schema()
    assert schema["properties"]["speed"]["description"] == "km/h"
    move.invoke({"to": {"x": 1, "y": 2}})
    assert got == [Point(x=1, y=2)]


def test_tool_constructed_directly_with_a_schema() -> None:
    """Tool(...) with an explicit args_schema uses it and passes its fields."""

    class Query(BaseModel):
        q: str
        limit: int = 3

    def search(q: str, limit: int) -> list[str]:
        return [q] * limit

    t = Tool(name="search", description="Search.", args_schema=Query, func=search)
    assert t.invoke({"q": "a", "limit": 2}) == ["a", "a"]
    assert to_tool_spec(t).parameters["properties"]["limit"]["default"] == 3


def test_tool_constructed_from_a_function_only() -> None:
    """Tool(func=...) alone takes its name, description and schema from the function."""

    def double(n: int) -> int:
        """Twice n."""
        return 2 * n

    t = Tool(func=double)
    assert (t.name, t.description, t.invoke({"n": 4})) == ("double", "Twice n.", 8)


def test_parameter_names_pydantic_reserves_still_work() -> None:
    """Parameters named like BaseModel attributes (schema, json, copy) or private
    names keep their names in the schema and reach the function."""

    @tool
    def fmt(schema: str, json: int, _private: bool = False) -> str:
        """Format."""
        return f"{schema}{json}{_private}"

    props = fmt.args_schema.model_json_schema()["properties"]
    assert set(props) == {"schema", "json", "_private"}
    assert fmt.invoke({"schema": "s", "json": 1, "_private": True}) == "s1True"


def test_the_spec_offered_to_models() -> None:
    """tool.spec (what bind_tools sends) has the name, description and an
    object schema without pydantic's title."""

    @tool
    def ping(host: str) -> str:
        """Ping a host."""
        return host

    spec = ping.spec
    assert (spec.name, spec.description) == ("ping", "Ping a host.")
    assert spec.parameters["type"] == "object"
    assert "title" not in spec.parameters
    assert to_tool_spec(ping) == spec


@pytest.mark.parametrize(
    ("define", "named"),
    [
        (lambda: tool(_untyped), "'b'"),
        (lambda: tool(name="has space")(_typed), "'has space'"),
        (lambda: tool(name="x" * 65)(_typed), "'" + "x" * 65 + "'"),
        (lambda: tool(name="")(_typed), "''"),
        (lambda: tool(_star_args), "'rest'"),
        (lambda: tool(_positional_only), "'a'"),
        (lambda: tool(_unschemable), "_unschemable"),
        (lambda: Tool(name="t"), "no function"),
        (lambda: Tool(name="t", func=_typed, args_schema=dict), "args_schema"),  # type: ignore[arg-type]
        (lambda: tool("name"), "by keyword"),  # type: ignore[call-overload]
        (lambda: tool(tool(_typed)), "a Tool already"),  # type: ignore[call-overload]
        (lambda: Tool(func=_typed, tags="one"), "tags"),
        (lambda: Tool(func=_typed, callbacks=[print, 3]), "int"),  # type: ignore[list-item]
    ],
)
def test_bad_definitions_are_refused_naming_the_problem(define: Any, named: str) -> None:
    """A parameter without a type hint, an invalid name, *args, a positional-only
    parameter, a type with no schema, no function, a bad schema: each a
    ConfigurationError, raised when the tool is defined, naming it."""
    with pytest.raises(ConfigurationError) as info:
        define()
    assert named in str(info.value)


class Point(BaseModel):
    x: float
    y: float


def _untyped(a: int, b) -> int:  # type: ignore[no-untyped-def]
    return a


def _typed(a: int) -> int:
    return a


def _star_args(a: int, *rest: int) -> int:
    return a


def _positional_only(a: int, /) -> int:
    return a


class _Opaque:
    pass


def _unschemable(thing: _Opaque) -> int:
    return 0


def test_tools_bind_to_chat_models_as_they_are() -> None:
    """bind_tools takes Tool objects as they are: the model is offered their spec."""
    from streamllm import FakeChatModel

    @tool
    def ping(host: str) -> str:
        """Ping a host."""
        return host

    model = FakeChatModel(responses=["ok"]).bind_tools([ping], tool_choice="ping")
    assert model.tools == (ping.spec,)


def test_types_defined_where_the_tool_is_defined_resolve() -> None:
    """With postponed annotations, a class defined (or a module imported) inside
    the defining function is found, for @tool and for Tool(func=...) alike."""
    import datetime as dt

    class Local(BaseModel):
        x: int

    @tool
    def first(p: Local, when: dt.date) -> int:
        """First."""
        return p.x + when.day

    def second(p: Local) -> int:
        return p.x

    assert first.invoke({"p": {"x": 1}, "when": "2026-12-02"}) == 3
    assert Tool(func=second).invoke({"p": {"x": 5}}) == 5
