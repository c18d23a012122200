"""Chat input messages: what a conversation sent to a chat model is made of.

:func:`to_chat_messages` accepts ``{"role", "content"}`` dicts (OpenAI's shape
included), :class:`Message` models (and any pydantic model with ``role`` and
``content``, such as ``streamllm.messages.Message``), ``(role, content)``
tuples and an :class:`~streamllm.chat.message.AIMessage` from a previous call,
appended as it is::

    >>> msgs = to_chat_messages([("system", "Be brief."), {"role": "human", "content": "Hi"}])
    >>> [m.role for m in msgs]
    ['system', 'user']
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)

from streamllm.chat.blocks import Block, InvalidToolCall, ReasoningBlock, TextBlock, ToolCall
from streamllm.chat.message import AIMessage
from streamllm.errors import ConfigurationError

__all__ = ["ChatInput", "Message", "Role", "to_chat_messages"]

Role = Literal["system", "user", "assistant", "tool"]
_ALIASES = {"human": "user", "ai": "assistant"}
# Which blocks each role may hold: only the assistant speaks in reasoning and tool calls.
_ALLOWED: dict[str, tuple[type[BaseModel], ...]] = {
    "system": (TextBlock,),
    "user": (TextBlock,),
    "tool": (TextBlock,),
    "assistant": (TextBlock, ReasoningBlock, ToolCall, InvalidToolCall),
}

#: Anything :func:`to_chat_messages` accepts as one message.
ChatInput = Mapping[str, Any] | BaseModel | tuple[str, Any]


class Message(BaseModel):
    """One input message.

    ``content`` is a str or a tuple of blocks; an assistant message may carry
    ``tool_calls`` (ToolCalls, LangChain's ``{"id", "name", "args"}`` or OpenAI's
    ``{"id", "function": {"name", "arguments"}}``), which join its blocks after the
    text; a tool message needs the ``tool_call_id`` it answers, and may name the
    tool (``name``; Ollama wants it).

    >>> Message(role="tool", content="22 C", tool_call_id="call_1").role
    'tool'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    content: str | tuple[Block, ...]
    tool_call_id: str | None = None
    name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        role = data.get("role")
        if isinstance(role, str):
            data["role"] = _ALIASES.get(role, role)
        calls = data.pop("tool_calls", None)
        if data.get("content") is None and (calls or "content" in data):
            data["content"] = ""  # OpenAI's assistant message with only tool calls
        _check_block_types(data.get("content"))
        if calls:
            content = data["content"]
            blocks = list(content) if not isinstance(content, str) else []
            if isinstance(content, str) and content:
                blocks.append(TextBlock(text=content))
            blocks.extend(_tool_call(c) for c in calls)
            data["content"] = tuple(blocks)
        return data

    @model_validator(mode="after")
    def _check(self) -> Message:
        allowed = _ALLOWED[self.role]
        for i, block in enumerate(self.blocks):
            if not isinstance(block, allowed):
                raise ValueError(
                    f"a {self.role} message cannot hold a {block.type} block (block {i})"
                )
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs the tool_call_id of the call it answers")
        if self.role != "tool" and self.tool_call_id is not None:
            raise ValueError(f"a {self.role} message has no tool_call_id (only tool messages do)")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A plain message dumps as {"role", "content"}, as before tool messages
        # existed: recordings and the web stream stay the shape clients know.
        data: dict[str, Any] = handler(self)
        for key in ("tool_call_id", "name"):
            if data.get(key, 0) is None:
                del data[key]
        return data

    @property
    def blocks(self) -> tuple[Block, ...]:
        """The content as blocks (a str is one text block, none when empty)."""
        if isinstance(self.content, str):
            return (TextBlock(text=self.content),) if self.content else ()
        return self.content

    @property
    def text(self) -> str:
        """The text blocks joined."""
        if isinstance(self.content, str):
            return self.content
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    @property
    def tool_calls(self) -> tuple[ToolCall | InvalidToolCall, ...]:
        """The assistant's tool calls, in order (invalid ones kept raw)."""
        return tuple(b for b in self.blocks if isinstance(b, ToolCall | InvalidToolCall))


_BLOCK_TYPES = ("text", "reasoning", "tool_call", "invalid_tool_call")


def _check_block_types(content: Any) -> None:
    # pydantic's own message for a union of str and blocks is unreadable
    # ("Input should be a valid string"); name the block instead.
    if isinstance(content, str) or not isinstance(content, Sequence):
        return
    for j, block in enumerate(content):
        kind = block.get("type") if isinstance(block, Mapping) else getattr(block, "type", None)
        if kind not in _BLOCK_TYPES:
            shown = repr(kind) if kind is not None else f"a {type(block).__name__}"
            raise ValueError(
                f"block {j} is of type {shown}: a block is one of {', '.join(_BLOCK_TYPES)}"
            )


def _tool_call(call: Any) -> Any:
    """A tool call in any of the accepted shapes, as a block (or left for pydantic to refuse)."""
    if not isinstance(call, Mapping) or "function" not in call:
        if isinstance(call, Mapping) and "type" not in call:
            return {"type": "tool_call", **call}
        return call
    fn = call["function"] if isinstance(call["function"], Mapping) else {}
    raw = fn.get("arguments", "")
    if isinstance(raw, Mapping):  # Ollama sends the arguments as an object
        return ToolCall(id=call.get("id") or "", name=fn.get("name", ""), args=dict(raw))
    try:
        args = json.loads(raw) if raw else {}
    except ValueError as exc:
        args, error = None, str(exc)
    else:
        error = "the arguments are not a JSON object"
    if isinstance(args, dict):
        return ToolCall(id=call.get("id") or "", name=fn.get("name", ""), args=args)
    return InvalidToolCall(id=call.get("id"), name=fn.get("name"), args_text=raw, error=error)


def to_chat_messages(items: Sequence[ChatInput | AIMessage]) -> tuple[Message, ...]:
    """Validate a conversation; an :class:`AIMessage` becomes its assistant message.

    Raises :class:`ConfigurationError` naming the position for an empty list, an
    unknown role, a tool message without ``tool_call_id``, blocks a role cannot
    hold, or anything that is not a message.
    """
    if isinstance(items, str | bytes) or not items:
        raise ConfigurationError("the message list is empty: give at least one message")
    return tuple(_one(i, item) for i, item in enumerate(items))


def _one(i: int, item: Any) -> Message:
    if isinstance(item, Message):
        return item
    if isinstance(item, AIMessage):
        return Message(role="assistant", content=item.content_blocks)
    data: Any
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
        data = {"role": item[0], "content": item[1]}
    elif isinstance(item, BaseModel):
        data = item.model_dump()
    elif isinstance(item, Mapping):
        data = item
    else:
        raise ConfigurationError(
            f"message {i} is a {type(item).__name__}: expected a Message, a "
            '{"role", "content"} mapping, a (role, content) tuple or an AIMessage'
        )
    role = data.get("role")
    if role not in _ALLOWED and role not in _ALIASES:
        raise ConfigurationError(
            f"message {i} has the unknown role {role!r}: use 'system', 'user' (or 'human'), "
            "'assistant' (or 'ai') or 'tool'"
        )
    try:
        return Message.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        detail = first["msg"].removeprefix("Value error, ")
        raise ConfigurationError(
            f"message {i} is not a valid message ({role}): {detail}"
            + (f" (at {where})" if where else "")
        ) from exc
