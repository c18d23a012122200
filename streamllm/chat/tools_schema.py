"""``bind_tools`` input: tools of any accepted kind as ``ToolSpec``\\ s, and ``tool_choice``.

A tool is a pydantic model class, a typed function (its schema from the
signature through pydantic, per-parameter descriptions from a Google-style
``Args:`` section), a JSON-schema dict (OpenAI's function shape, Anthropic's,
or a bare schema with a ``title``), or an object with ``name``,
``description`` and ``args_schema`` (a ``Tool``). Anything else, or a tool
that cannot become a schema, is a :class:`ConfigurationError` naming it.

>>> def get_weather(city: str, celsius: bool = True) -> str:
...     '''The weather now.
...
...     Args:
...         city: The city's name.
...     '''
...     return "sunny"
>>> spec = to_tool_spec(get_weather)
>>> spec.name, spec.parameters["properties"]["city"]["description"]
('get_weather', "The city's name.")
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PydanticUserError, create_model, field_validator

from streamllm._frozen import freeze
from streamllm.errors import ConfigurationError

__all__ = [
    "NamedTool",
    "ToolChoice",
    "ToolSpec",
    "normalize_tool_choice",
    "to_tool_spec",
    "to_tool_specs",
]

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Returns?|Raises|Yields?|Examples?|Notes?):\s*$"
)
_ARG = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


class ToolSpec(BaseModel):
    """A tool as a model is offered it: a name, what it does, a JSON schema of its arguments."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    #: Read-only JSON: a spec travels on every ``LLMStart`` to every handler, and a
    #: handler's write must not change what the model is offered next.
    parameters: dict[str, Any]

    @field_validator("parameters", mode="after")
    @classmethod
    def _freeze(cls, parameters: dict[str, Any]) -> dict[str, Any]:
        frozen: dict[str, Any] = freeze(parameters, "parameters")
        return frozen


class NamedTool(BaseModel):
    """``tool_choice`` forcing one tool by name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str


#: A normalised ``tool_choice`` (None: the provider's default).
ToolChoice = Literal["auto", "none", "required"] | NamedTool


def to_tool_specs(tools: Iterable[Any]) -> tuple[ToolSpec, ...]:
    """Each tool as a :class:`ToolSpec`; two tools with one name are refused."""
    specs = tuple(to_tool_spec(t) for t in tools)
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise ConfigurationError(f"two tools are named {spec.name!r}: tool names must differ")
        seen.add(spec.name)
    return specs


def to_tool_spec(tool: Any) -> ToolSpec:
    """One tool as a :class:`ToolSpec`, or a :class:`ConfigurationError` naming it."""
    if isinstance(tool, ToolSpec):
        return tool
    if isinstance(tool, type) and issubclass(tool, BaseModel):
        name, description, parameters = _from_model(tool)
    elif isinstance(tool, Mapping):
        name, description, parameters = _from_dict(tool)
    elif hasattr(tool, "args_schema") and hasattr(tool, "name"):
        name, description, parameters = _from_tool_object(tool)
    elif inspect.isfunction(tool) or inspect.ismethod(tool):
        name, description, parameters = _from_function(tool)
    else:
        raise ConfigurationError(
            f"cannot use {tool!r} as a tool: give a pydantic model class, a typed function, "
            "a JSON-schema dict or a Tool"
        )
    return _spec(name, description, parameters)


def _spec(name: Any, description: Any, parameters: Any) -> ToolSpec:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigurationError(
            f"the tool name {name!r} is invalid: 1 to 64 letters, digits, '_' or '-'"
        )
    if not isinstance(parameters, Mapping):
        raise ConfigurationError(f"tool {name!r}: its parameters are not a JSON-schema object")
    if parameters.get("type", "object") != "object":
        raise ConfigurationError(
            f"tool {name!r}: its parameters schema must be of type 'object', "
            f"not {parameters.get('type')!r}"
        )
    try:
        frozen = freeze(parameters, "parameters")
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"tool {name!r}: its schema is not JSON: {exc}") from exc
    return ToolSpec(name=name, description=description or "", parameters=frozen)


def _from_model(model: type[BaseModel]) -> tuple[str, str, dict[str, Any]]:
    try:
        schema = dict(model.model_json_schema())
    except PydanticUserError as exc:  # also arbitrary types with no schema
        raise ConfigurationError(f"tool {model.__name__!r} has no JSON schema: {exc}") from exc
    schema.pop("title", None)
    # __doc__ is not inherited, unlike inspect.getdoc(): BaseModel's own
    # docstring must not become every undocumented model's description.
    description = schema.pop("description", None) or inspect.cleandoc(model.__doc__ or "")
    return model.__name__, description, schema


def _from_dict(tool: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    if tool.get("type") == "function" and isinstance(tool.get("function"), Mapping):
        tool = tool["function"]
    if "name" in tool:
        params = tool.get("parameters", tool.get("input_schema"))
        if params is None:
            params = {"type": "object", "properties": {}}
        return tool["name"], tool.get("description", ""), params
    if "title" in tool and ("properties" in tool or tool.get("type") == "object"):
        schema = dict(tool)
        return schema.pop("title"), schema.pop("description", ""), schema
    raise ConfigurationError(
        f"the tool dict {dict(tool)!r} is neither OpenAI's "
        '{"type": "function", "function": {...}}, a {"name", "parameters"} dict, '
        'nor a JSON schema with a "title"'
    )


def _from_tool_object(tool: Any) -> tuple[Any, Any, Any]:
    schema = tool.args_schema
    params: Mapping[str, Any]
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        _, _, params = _from_model(schema)
    elif isinstance(schema, Mapping):
        params = schema
    else:
        raise ConfigurationError(
            f"tool {tool.name!r}: its args_schema is neither a model nor a dict"
        )
    return tool.name, getattr(tool, "description", ""), params


def _from_function(fn: Callable[..., Any]) -> tuple[str, str, dict[str, Any]]:
    name = fn.__name__
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:  # an annotation that does not resolve, of any kind
        raise ConfigurationError(f"tool {name!r}: its type hints do not resolve: {exc}") from exc
    summary, arg_docs = parse_docstring(fn.__doc__)
    fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ConfigurationError(f"tool {name!r}: *args and **kwargs have no schema")
        if param.name not in hints:
            raise ConfigurationError(
                f"tool {name!r}: the parameter {param.name!r} has no type hint"
            )
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (
            hints[param.name],
            Field(default, description=arg_docs.get(param.name)),
        )
    try:
        model = create_model(name, **fields)
        schema = dict(model.model_json_schema())
    except (PydanticUserError, TypeError, NameError, ValueError) as exc:
        raise ConfigurationError(f"tool {name!r} cannot become a schema: {exc}") from exc
    schema.pop("title", None)
    schema.pop("description", None)
    return name, summary, schema


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """A Google-style docstring's description (before its sections) and its ``Args:``.

    >>> parse_docstring("Add.\\n\\nArgs:\\n    a (int): First.\\n        Really.")
    ('Add.', {'a': 'First. Really.'})
    """
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    args: dict[str, str] = {}
    i = 0
    while i < len(lines) and not _SECTION.match(lines[i]):
        summary.append(lines[i])
        i += 1
    while i < len(lines):
        header = _SECTION.match(lines[i])
        i += 1
        if header is None:
            continue
        in_args = header.group(1) in ("Args", "Arguments", "Parameters")
        current: str | None = None
        entry_indent: int | None = None  # the first entry's: deeper lines continue an entry
        while i < len(lines) and not _SECTION.match(lines[i]):
            line = lines[i]
            i += 1
            if not in_args or not line.strip():
                continue
            indent = len(line) - len(line.lstrip())
            entry = _ARG.match(line)
            if entry and (entry_indent is None or indent <= entry_indent):
                entry_indent = indent
                current = entry.group(1)
                args[current] = entry.group(2).strip()
            elif current is not None:
                args[current] = f"{args[current]} {line.strip()}".strip()
    return "\n".join(summary).strip(), args


def normalize_tool_choice(choice: Any, tools: Iterable[ToolSpec]) -> ToolChoice | None:
    """``tool_choice`` as one of ``None``, ``"auto"``, ``"none"``, ``"required"`` or a tool.

    Accepts ``"any"`` (Anthropic's ``"required"``), a tool's name, OpenAI's
    ``{"type": "function", "function": {"name": ...}}`` and Anthropic's
    ``{"type": "auto" | "any" | "none" | "tool", ...}``. Anything else, a
    name that is not among ``tools``, or forcing a tool with none bound, is a
    :class:`ConfigurationError`.
    """
    names = [t.name for t in tools]
    if choice is None:
        return None
    out: ToolChoice
    if isinstance(choice, Mapping):
        kind = choice.get("type")
        if kind == "function" and isinstance(choice.get("function"), Mapping):
            choice = choice["function"].get("name")
        elif kind == "tool":
            choice = choice.get("name")
        elif kind in ("auto", "any", "none", "required"):
            choice = kind
        else:
            raise ConfigurationError(f"unknown tool_choice {dict(choice)!r}")
        if not isinstance(choice, str):
            raise ConfigurationError("tool_choice names no tool")
    if not isinstance(choice, str):
        raise ConfigurationError(
            f"unknown tool_choice {choice!r}: use None, 'auto', 'none', 'required', a tool's "
            "name or {'type': 'function', 'function': {'name': ...}}"
        )
    if choice in ("auto", "none"):
        return choice  # type: ignore[return-value]
    if choice in ("required", "any"):
        out = "required"
    elif choice in names:
        out = NamedTool(name=choice)
    else:
        raise ConfigurationError(
            f"unknown tool_choice {choice!r}: it is neither 'auto', 'none', 'required' nor "
            f"one of the bound tools {names!r}"
        )
    if not names:
        raise ConfigurationError(f"tool_choice {choice!r} forces a tool, but no tools are bound")
    return out
