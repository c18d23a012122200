"""bind_tools input: every accepted kind of tool becomes a ToolSpec; bad ones are named."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from streamllm.chat import NamedTool, ToolSpec, normalize_tool_choice, to_tool_spec, to_tool_specs
from streamllm.chat.tools_schema import parse_docstring
from streamllm.errors import ConfigurationError


class GetWeather(BaseModel):
    """The weather now in a city."""

    city: str = Field(description="The city's name.")
    unit: Literal["C", "F"] = "C"


def get_time(tz: str, precise: bool = False) -> str:
    """The time now.

    Longer text.

    Args:
        tz (str): An IANA time zone,
            such as Europe/Oslo.
        precise: With seconds.

    Returns:
        The time.
    """
    return ""


class _Tool:
    name = "search"
    description = "Search the web."
    args_schema = GetWeather


def test_a_pydantic_model() -> None:
    """Name from the class, description from its docstring, the schema without its title."""
    spec = to_tool_spec(GetWeather)
    assert spec.name == "GetWeather"
    assert spec.description == "The weather now in a city."
    assert spec.parameters["required"] == ["city"]
    assert spec.parameters["properties"]["city"]["description"] == "The city's name."
    assert "title" not in spec.parameters


def test_a_model_without_docstring_does_not_inherit_basemodels() -> None:
    """An undocumented model has an empty description, not pydantic's own docstring."""

    class Bare(BaseModel):
        x: int

    assert to_tool_spec(Bare).description == ""


def test_a_typed_function_with_a_google_docstring() -> None:
    """Parameters from the signature (defaults not required), descriptions from ``Args:``."""
    spec = to_tool_spec(get_time)
    assert spec.name == "get_time"
    assert spec.description == "The time now.\n\nLonger text."
    props = spec.parameters["properties"]
    assert props["tz"]["type"] == "string"
    assert props["tz"]["description"] == "An IANA time zone, such as Europe/Oslo."
    assert props["precise"]["description"] == "With seconds."
    assert spec.parameters["required"] == ["tz"]


@pytest.mark.parametrize(
    "tool",
    [
        {
            "type": "function",
            "function": {
                "name": "f",
                "description": "d",
                "parameters": {"type": "object", "properties": {}},
            },
        },
        {"name": "f", "description": "d", "parameters": {"type": "object", "properties": {}}},
        {"name": "f", "description": "d", "input_schema": {"type": "object", "properties": {}}},
        {"title": "f", "description": "d", "type": "object", "properties": {}},
    ],
    ids=["openai", "bare function", "anthropic", "json schema"],
)
def test_json_schema_dicts(tool: dict[str, Any]) -> None:
    """OpenAI's, Anthropic's and a bare function shape, and a JSON schema with a title."""
    assert to_tool_spec(tool) == ToolSpec(
        name="f", description="d", parameters={"type": "object", "properties": {}}
    )


def test_an_object_with_an_args_schema() -> None:
    """A Tool-like object: its name and description, its args_schema's schema."""
    spec = to_tool_spec(_Tool())
    assert (spec.name, spec.description) == ("search", "Search the web.")
    assert spec.parameters == to_tool_spec(GetWeather).parameters


def _untyped(city, days: int) -> str:  # type: ignore[no-untyped-def]
    return ""


def _varargs(*names: str) -> None:
    return None


class _Opaque:
    pass


def _opaque(thing: _Opaque) -> None:
    return None


@pytest.mark.parametrize(
    ("tool", "match"),
    [
        (_untyped, "'_untyped': the parameter 'city' has no type hint"),
        (_varargs, "'_varargs': \\*args"),
        (_opaque, "'_opaque' cannot become a schema"),
        ({"name": "has space"}, "'has space' is invalid"),
        ({"name": "x" * 65}, "is invalid"),
        ({"name": "f", "parameters": {"type": "array"}}, "'f': its parameters schema must be"),
        ({"neither": 1}, "neither OpenAI's"),
        (42, "cannot use 42 as a tool"),
    ],
)
def test_tools_that_cannot_become_a_schema(tool: Any, match: str) -> None:
    """Each is a ConfigurationError naming the tool."""
    with pytest.raises(ConfigurationError, match=match):
        to_tool_spec(tool)


def test_two_tools_with_one_name() -> None:
    """Names must differ across the bound tools."""
    with pytest.raises(ConfigurationError, match="two tools are named 'get_time'"):
        to_tool_specs([get_time, {"name": "get_time"}])


SPECS = to_tool_specs([GetWeather, get_time])


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (None, None),
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("any", "required"),
        ("get_time", NamedTool(name="get_time")),
        ({"type": "function", "function": {"name": "GetWeather"}}, NamedTool(name="GetWeather")),
        ({"type": "tool", "name": "get_time"}, NamedTool(name="get_time")),
        ({"type": "any"}, "required"),
    ],
)
def test_tool_choice_is_normalised(choice: Any, expected: Any) -> None:
    """Every accepted spelling maps to one of five normal forms."""
    assert normalize_tool_choice(choice, SPECS) == expected


@pytest.mark.parametrize(
    ("choice", "tools", "match"),
    [
        ("get_weather", SPECS, "unknown tool_choice 'get_weather'"),
        (True, SPECS, "unknown tool_choice True"),
        ({"type": "function"}, SPECS, "unknown tool_choice"),
        ({"type": "function", "function": {"name": 3}}, SPECS, "names no tool"),
        ("required", (), "no tools are bound"),
    ],
)
def test_unknown_tool_choices(choice: Any, tools: Any, match: str) -> None:
    """An unknown choice, or forcing a tool with none bound, is a ConfigurationError."""
    with pytest.raises(ConfigurationError, match=match):
        normalize_tool_choice(choice, tools)


def test_docstring_sections_other_than_args_are_left_out() -> None:
    """Only the text before the first section is the description."""
    summary, args = parse_docstring("Do it.\n\nRaises:\n    ValueError: never.\n")
    assert (summary, args) == ("Do it.", {})
