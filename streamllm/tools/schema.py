"""A tool's arguments model, from a typed function's signature and docstring.

>>> def search(query: str, limit: int = 5) -> list[str]:
...     '''Search the notes.
...
...     Args:
...         query: What to look for.
...         limit: How many notes at most.
...     '''
...     return []
>>> schema = function_schema(search, "search")
>>> schema.model.model_json_schema()["properties"]["query"]["description"]
'What to look for.'
>>> schema.model.model_json_schema()["properties"]["limit"]["default"]
5
>>> schema.description
'Search the notes.'
"""

from __future__ import annotations

import inspect
import re
import sys
import typing
from collections.abc import Callable
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, PydanticUserError, create_model

from streamllm.chat.tools_schema import parse_docstring
from streamllm.errors import ConfigurationError

__all__ = ["FunctionSchema", "check_name", "function_schema"]

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# Parameter names pydantic cannot take as field names (BaseModel's own
# attributes, private names): such a field gets an inner name and the
# parameter's name as its alias, so the schema still shows the parameter.
_RESERVED = frozenset(dir(BaseModel))


class FunctionSchema(NamedTuple):
    """What a function gives a tool: the arguments model, its description, and
    which model field feeds which parameter (``(field, parameter)`` pairs)."""

    model: type[BaseModel]
    description: str
    params: tuple[tuple[str, str], ...]


def check_name(name: object) -> str:
    """``name`` if it is a valid tool name (what every provider accepts), else a
    :class:`ConfigurationError` naming it."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigurationError(
            f"the tool name {name!r} is invalid: 1 to 64 letters, digits, '_' or '-'"
        )
    return name


def _field_name(index: int, param: str) -> str:
    if param.startswith("_") or param in _RESERVED or param.startswith("model_"):
        return f"arg{index}_"
    return param


def function_schema(fn: Callable[..., Any], name: str) -> FunctionSchema:
    """The arguments model of ``fn`` (every parameter typed, no ``*args``), or a
    :class:`ConfigurationError` naming the tool and the parameter."""
    try:
        hints = typing.get_type_hints(fn, localns=_defining_scope(), include_extras=True)
    except Exception as exc:  # an annotation that does not resolve, of any kind
        raise ConfigurationError(f"tool {name!r}: its type hints do not resolve: {exc}") from exc
    summary, arg_docs = parse_docstring(fn.__doc__)
    fields: dict[str, Any] = {}
    params: list[tuple[str, str]] = []
    for index, param in enumerate(inspect.signature(fn).parameters.values()):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ConfigurationError(
                f"tool {name!r}: the parameter {param.name!r} is *args or **kwargs, "
                "which have no schema; name each argument"
            )
        if param.kind is param.POSITIONAL_ONLY:
            raise ConfigurationError(
                f"tool {name!r}: the parameter {param.name!r} is positional-only; "
                "a tool is called with named arguments"
            )
        if param.name not in hints:
            raise ConfigurationError(
                f"tool {name!r}: the parameter {param.name!r} has no type hint "
                f"(write e.g. '{param.name}: str')"
            )
        field = _field_name(index, param.name)
        default = ... if param.default is param.empty else param.default
        # Only what is known: a None here would erase an Annotated Field's own.
        extra: dict[str, Any] = {}
        if field != param.name:
            extra["alias"] = param.name
        if param.name in arg_docs:
            extra["description"] = arg_docs[param.name]
        fields[field] = (hints[param.name], Field(default, **extra))
        params.append((field, param.name))
    model = build_model(name, fields)
    return FunctionSchema(model, summary, tuple(params))


def _defining_scope() -> dict[str, Any] | None:
    """The local names where the tool is being defined (the first frame outside
    this package): with ``from __future__ import annotations``, a type defined
    or imported inside a function is only found there, as pydantic finds it for
    models defined in functions."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(__package__ or ""):
        frame = frame.f_back  # type: ignore[assignment]
    return dict(frame.f_locals) if frame is not None else None


def build_model(name: str, fields: dict[str, Any]) -> type[BaseModel]:
    """A strict-keys (``extra="forbid"``) model of ``fields`` whose JSON schema
    exists, or a :class:`ConfigurationError` naming the tool."""
    try:
        model: type[BaseModel] = create_model(name, __config__=ConfigDict(extra="forbid"), **fields)
        model.model_json_schema()
    except (PydanticUserError, TypeError, NameError, ValueError) as exc:
        raise ConfigurationError(f"tool {name!r} cannot become a schema: {exc}") from exc
    return model
