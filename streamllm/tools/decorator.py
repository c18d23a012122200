"""``@tool``: a typed function (sync or async) as a :class:`~streamllm.tools.Tool`.

>>> @tool
... def get_weather(city: str) -> str:
...     '''The weather now in a city.
...
...     Args:
...         city: The city's name.
...     '''
...     return f"22 C in {city}"
>>> get_weather.name, get_weather.description
('get_weather', 'The weather now in a city.')
>>> @tool(name="lookup", description="Find a word.")
... async def find(word: str) -> str:
...     return word
>>> find.name
'lookup'
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, overload

from streamllm.callbacks.registry import Handler
from streamllm.errors import ConfigurationError
from streamllm.tools.base import Tool

__all__ = ["tool"]


@overload
def tool(func: Callable[..., Any], /) -> Tool: ...
@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    callbacks: Sequence[Handler] | None = None,
    tags: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...
def tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    callbacks: Sequence[Handler] | None = None,
    tags: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a typed function a :class:`Tool`, bare (``@tool``) or with options
    (``@tool(name=..., description=...)``).

    The name defaults to the function's, the description to its docstring
    (before any ``Args:`` section), the arguments schema to its signature, with
    each parameter's description from ``Args:``. A parameter without a type
    hint, ``*args``/``**kwargs`` or an invalid name is a
    :class:`~streamllm.errors.ConfigurationError` naming it, raised here.
    """

    def make(fn: Callable[..., Any]) -> Tool:
        if isinstance(fn, Tool):
            raise ConfigurationError(f"{fn.name!r} is a Tool already: apply @tool once")
        if not inspect.isfunction(fn) and not inspect.ismethod(fn):
            raise ConfigurationError(f"@tool takes a function, not {type(fn).__name__}")
        is_async = inspect.iscoroutinefunction(fn)
        return Tool(
            name=name,
            description=description,
            func=None if is_async else fn,
            coroutine=fn if is_async else None,
            callbacks=callbacks,
            tags=tags,
            metadata=metadata,
        )

    if func is None:
        return make
    if isinstance(func, str):
        raise ConfigurationError("give the name by keyword: @tool(name=...)")
    return make(func)
