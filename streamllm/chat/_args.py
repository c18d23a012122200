"""A tool call's raw arguments parsed into its finished block (chunks and assembler share it)."""

from __future__ import annotations

import json
from typing import Any

from streamllm.chat.blocks import InvalidToolCall, ToolCall

__all__ = ["tool_block"]


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; accepting them would give args that do not
    # survive a JSON round trip.
    raise ValueError(f"{name} is not valid JSON")


_JSON_KINDS = {
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def tool_block(id: str | None, name: str | None, args_text: str) -> ToolCall | InvalidToolCall:
    """The finished block of a tool call: its arguments parsed, or kept raw with the reason.

    Empty arguments are no arguments (``{}``): vendors send ``""`` for a tool
    without parameters. Never raises.

    >>> tool_block("c1", "f", '{"x": 1}').args == {"x": 1}
    True
    >>> tool_block("c1", "f", "[1]").error
    'the arguments are not a JSON object (a list)'
    """
    if name is None:
        return InvalidToolCall(id=id, name=None, args_text=args_text, error="the call has no name")
    if id is None:
        return InvalidToolCall(id=None, name=name, args_text=args_text, error="the call has no id")
    if not args_text.strip():
        return ToolCall(id=id, name=name, args={})
    try:
        args = json.loads(args_text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        return InvalidToolCall(
            id=id, name=name, args_text=args_text, error=f"the arguments are not JSON: {exc}"
        )
    if not isinstance(args, dict):
        kind = _JSON_KINDS.get(type(args), "not an object")
        return InvalidToolCall(
            id=id,
            name=name,
            args_text=args_text,
            error=f"the arguments are not a JSON object ({kind})",
        )
    return ToolCall(id=id, name=name, args=args)
