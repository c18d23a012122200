"""Small helpers shared by the vendor wire modules."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from streamllm.chat.blocks import InvalidToolCall, ToolCall
from streamllm.chat.tools_schema import ToolSpec

__all__ = ["arguments_text", "count", "mapping", "openai_style_tools"]


_EMPTY: Mapping[str, Any] = {}


def count(value: Any) -> int | None:
    """A token count from the wire, or None when absent or not a count."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a JSON object, else an empty one (wire data is not trusted)."""
    return value if type(value) is dict or isinstance(value, Mapping) else _EMPTY


def arguments_text(call: ToolCall | InvalidToolCall) -> str:
    """A call's arguments as the JSON text OpenAI-style APIs want (raw when invalid)."""
    if isinstance(call, InvalidToolCall):
        return call.args_text
    return json.dumps(call.args)


def openai_style_tools(specs: tuple[ToolSpec, ...] | list[ToolSpec]) -> list[dict[str, Any]]:
    """``[{"type": "function", "function": {name, description, parameters}}]`` (OpenAI, Ollama)."""
    return [
        {
            "type": "function",
            "function": {
                "name": s.name,
                "description": s.description,
                "parameters": s.parameters,
            },
        }
        for s in specs
    ]
