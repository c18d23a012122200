"""OpenAI chat completions on the wire: stream frames to deltas, tools and messages to JSON.

One frame is one decoded ``data:`` line of ``/v1/chat/completions`` with
``stream: true``. Error frames are the caller's to raise (they are checked
before this). Works for OpenAI-compatible servers: llama-server, vLLM and
DeepSeek send reasoning as ``delta.reasoning_content``, OpenRouter as
``delta.reasoning``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from streamllm.chat._wire import arguments_text, count, mapping, openai_style_tools
from streamllm.chat.deltas import ChatDelta, UsageCounts
from streamllm.chat.inputs import Message
from streamllm.chat.tools_schema import NamedTool, ToolChoice, ToolSpec

__all__ = [
    "openai_deltas",
    "openai_messages",
    "openai_tool_choice",
    "openai_tools",
    "openai_usage",
]


_new = tuple.__new__
_NO_FIELDS = (None,) * (len(ChatDelta._fields) - 2)


def openai_deltas(frame: Mapping[str, Any]) -> list[ChatDelta]:
    """The deltas in one stream frame (only the first choice: ``n`` is 1).

    >>> openai_deltas({"choices": [{"delta": {"content": "Hi"}}]})
    [ChatDelta('text', text='Hi')]
    """
    out: list[ChatDelta] = []
    choices = frame.get("choices")
    if choices and type(choices) is list:
        choice = mapping(choices[0])
        delta = mapping(choice.get("delta"))
        if "role" in delta:  # the first frame of the message
            out.append(_meta(frame))
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning and type(reasoning) is str:
            out.append(_new(ChatDelta, ("reasoning", reasoning, *_NO_FIELDS)))
        content = delta.get("content")
        if content and type(content) is str:
            # The hot path: built without NamedTuple's Python-level __new__.
            out.append(_new(ChatDelta, ("text", content, *_NO_FIELDS)))
        calls = delta.get("tool_calls")
        if calls and isinstance(calls, list):
            for call in calls:
                call = mapping(call)
                fn = mapping(call.get("function"))
                index = call.get("index")
                args = fn.get("arguments")
                if not isinstance(args, str):  # some servers send an object, or null
                    args = "" if args is None else json.dumps(args)
                out.append(
                    ChatDelta(
                        "tool",
                        args,
                        index if isinstance(index, int) else None,
                        call.get("id") or None,
                        fn.get("name") or None,
                    )
                )
        finish = choice.get("finish_reason")
        if finish:
            out.append(ChatDelta("finish", str(finish)))
    usage = frame.get("usage")
    if usage and isinstance(usage, Mapping):
        out.append(_meta(frame))
        out.append(ChatDelta("usage", counts=openai_usage(usage)))
    return out


def _meta(frame: Mapping[str, Any]) -> ChatDelta:
    model = frame.get("model")
    return ChatDelta(
        "meta",
        id=frame.get("id") or None,
        metadata={"model_name": model} if isinstance(model, str) else None,
    )


def openai_usage(usage: Mapping[str, Any]) -> UsageCounts:
    """OpenAI's usage object as counts: cached prompt tokens and reasoning tokens included."""
    prompt_details = mapping(usage.get("prompt_tokens_details"))
    completion_details = mapping(usage.get("completion_tokens_details"))
    return {
        "prompt_tokens": count(usage.get("prompt_tokens")),
        "completion_tokens": count(usage.get("completion_tokens")),
        "total_tokens": count(usage.get("total_tokens")),
        "cache_read_tokens": count(prompt_details.get("cached_tokens")),
        "reasoning_tokens": count(completion_details.get("reasoning_tokens")),
    }


def openai_tools(specs: Iterable[ToolSpec]) -> list[dict[str, Any]]:
    """The request's ``tools``."""
    return openai_style_tools(list(specs))


def openai_tool_choice(choice: ToolChoice | None) -> str | dict[str, Any] | None:
    """The request's ``tool_choice`` (None: leave it out)."""
    if isinstance(choice, NamedTool):
        return {"type": "function", "function": {"name": choice.name}}
    return choice


def openai_messages(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """The request's ``messages``. Reasoning is not sent back (the API has no field for it)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "assistant":
            item: dict[str, Any] = {"role": "assistant", "content": m.text or None}
            calls = m.tool_calls
            if calls:
                item["tool_calls"] = [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": arguments_text(c)},
                    }
                    for c in calls
                ]
            elif item["content"] is None:
                item["content"] = ""
            out.append(item)
        elif m.role == "tool":
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.text})
        else:
            out.append({"role": m.role, "content": m.text})
    return out
