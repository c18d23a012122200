"""``ToolMessage``: a tool's answer, to append to the conversation.

It is a chat :class:`~streamllm.chat.inputs.Message` of role ``tool`` (so
every chat model and wire format takes it as it is), built by
``tool.invoke(tool_call)``::

    >>> ToolMessage(content="22 C", tool_call_id="call_1", name="get_weather").role
    'tool'
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic_core import to_json

from streamllm.chat.inputs import Message

__all__ = ["ToolMessage", "output_text"]


class ToolMessage(Message):
    """The answer to one tool call: ``content`` is the output as text (JSON for
    anything but a str), ``tool_call_id`` the call it answers, ``name`` the tool."""

    role: Literal["tool"] = "tool"
    tool_call_id: str


def output_text(output: Any) -> str:
    """A tool's output as a model reads it: a str as it is, anything else as
    JSON (pydantic models, dataclasses and dates included; an object JSON cannot
    hold becomes its ``str``)."""
    if isinstance(output, str):
        return output
    return to_json(output, fallback=str).decode()
