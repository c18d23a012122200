"""Ollama's ``/api/chat`` on the wire: NDJSON lines to deltas, tools and messages to JSON.

Ollama sends tool calls whole (each becomes one start, one delta, one end),
thinking as ``message.thinking``, and counts on the ``done`` line. Error
lines are the caller's to raise. Tools are OpenAI-shaped; there is no
``tool_choice``: a forced choice is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from streamllm.chat._wire import count, mapping, openai_style_tools
from streamllm.chat.blocks import ReasoningBlock, ToolCall
from streamllm.chat.deltas import ChatDelta
from streamllm.chat.inputs import Message
from streamllm.chat.tools_schema import ToolChoice, ToolSpec
from streamllm.errors import ConfigurationError

__all__ = ["check_ollama_tool_choice", "ollama_deltas", "ollama_messages", "ollama_tools"]


def ollama_deltas(frame: Mapping[str, Any]) -> list[ChatDelta]:
    """The deltas in one line.

    >>> ollama_deltas({"message": {"role": "assistant", "content": "Hi"}, "done": False})
    [ChatDelta('text', text='Hi')]
    """
    out: list[ChatDelta] = []
    message = mapping(frame.get("message"))
    thinking = message.get("thinking")
    if thinking and isinstance(thinking, str):
        out.append(ChatDelta("reasoning", thinking))
    content = message.get("content")
    if content and isinstance(content, str):
        out.append(ChatDelta("text", content))
    calls = message.get("tool_calls")
    if calls and isinstance(calls, list):
        for call in calls:
            call = mapping(call)
            fn = mapping(call.get("function"))
            args = fn.get("arguments")
            out.append(
                ChatDelta(
                    "tool_call",
                    id=call.get("id") or None,
                    name=fn.get("name") or None,
                    args=args if isinstance(args, Mapping | str) else None,
                )
            )
    if frame.get("done"):
        model = frame.get("model")
        if isinstance(model, str):
            out.append(ChatDelta("meta", metadata={"model_name": model}))
        out.append(
            ChatDelta(
                "usage",
                counts={
                    "prompt_tokens": count(frame.get("prompt_eval_count")),
                    "completion_tokens": count(frame.get("eval_count")),
                },
            )
        )
        out.append(ChatDelta("finish", str(frame.get("done_reason") or "stop")))
    return out


def ollama_tools(specs: Iterable[ToolSpec]) -> list[dict[str, Any]]:
    """The request's ``tools`` (OpenAI's shape)."""
    return openai_style_tools(list(specs))


def check_ollama_tool_choice(choice: ToolChoice | None) -> None:
    """Ollama cannot force a tool: ``"required"`` or a named tool is a ConfigurationError.

    ``"none"`` is honoured by the caller by sending no tools.
    """
    if choice is not None and choice not in ("auto", "none"):
        raise ConfigurationError(
            f"Ollama has no tool_choice: {choice!r} cannot be forced (use 'auto' or 'none')"
        )


def ollama_messages(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """The request's ``messages``: arguments as objects, tool results named by ``tool_name``.

    A tool message without ``name`` takes the name of the call it answers.
    """
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for m in messages:
        item: dict[str, Any] = {"role": m.role, "content": m.text}
        if m.role == "assistant":
            thinking = "".join(b.text for b in m.blocks if isinstance(b, ReasoningBlock))
            if thinking:
                item["thinking"] = thinking
            calls = []
            for c in m.tool_calls:
                if c.id and c.name:
                    names[c.id] = c.name
                # Ollama wants an object: raw text that is not one cannot go back as it is.
                args = c.args if isinstance(c, ToolCall) else {}
                calls.append({"function": {"name": c.name, "arguments": args}})
            if calls:
                item["tool_calls"] = calls
        elif m.role == "tool":
            name = m.name or names.get(m.tool_call_id or "")
            if name:
                item["tool_name"] = name
        out.append(item)
    return out
