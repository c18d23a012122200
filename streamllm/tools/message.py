"""A tool's answer, to append to the conversation: a ``tool`` message.

``tool.invoke(tool_call)`` returns it; it is the one chat
:class:`~streamllm.messages.Message` class with role ``tool`` (not a subclass:
a conversation recorded in events reads back equal), so every chat model and
wire format takes it as it is::

    >>> msg = ToolMessage("22 C", tool_call_id="call_1", name="get_weather")
    >>> msg.role, msg.tool_call_id
    ('tool', 'call_1')
"""

from __future__ import annotations

from typing import Any

from pydantic_core import to_json

from streamllm._fast import all_fields, trusted
from streamllm.chat.inputs import Message

__all__ = ["ToolMessage", "output_text", "tool_message"]

_FIELDS = all_fields(Message)


# Named like LangChain's class, which is what users reach for; a function,
# so the message stays the one Message class.
def ToolMessage(content: str, *, tool_call_id: str, name: str | None = None) -> Message:
    """A ``tool`` message answering the call ``tool_call_id`` (validated)."""
    return Message(role="tool", content=content, tool_call_id=tool_call_id, name=name)


def tool_message(output: Any, tool_call_id: str, name: str) -> Message:
    """The message for a call's output, built without validation (each field is
    a str already: the call's id was validated with its ToolCall), as
    ``model_construct`` would build it, at a fraction of its cost."""
    content = output_text(output)
    return trusted(
        Message,
        {"role": "tool", "content": content, "tool_call_id": tool_call_id, "name": name},
        _FIELDS,
    )


def output_text(output: Any) -> str:
    """A tool's output as a model reads it: a str as it is, anything else as
    JSON (pydantic models, dataclasses and dates included; an object JSON cannot
    hold becomes its ``str``)."""
    if isinstance(output, str):
        return output
    if type(output) is int:  # its JSON, without the encoder
        return str(output)
    return to_json(output, fallback=str).decode()
