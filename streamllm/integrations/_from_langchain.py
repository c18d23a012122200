"""LangChain callback arguments as streamllm values: names, messages, usage, results.

Pure conversions for :class:`~._callback_handler.StreamLLMCallbackHandler`.
LangChain passes arbitrary objects (chain inputs, LangGraph state, metadata);
events hold JSON, so :func:`jsonable` turns what it can into JSON and the rest
into a placeholder naming its type (never its ``repr``, which may hold secrets).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration
from langchain_core.outputs import LLMResult as LCResult
from pydantic import BaseModel, ValidationError

from streamllm.chat import AIMessage, InvalidToolCall, ReasoningBlock, TextBlock, ToolCall
from streamllm.handlers._redact import redact
from streamllm.messages import Message
from streamllm.outputs import Generation, LLMResult, TokenUsage, normalize_finish_reason

__all__ = [
    "HAS_MESSAGE",
    "ai_message",
    "estimate",
    "finish_reason",
    "jsonable",
    "model_name",
    "result",
    "run_name",
    "safe_mapping",
    "streamllm_messages",
    "text_of",
    "usage_of",
]

_MAX_DEPTH = 20


def jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-compatible data (pydantic models dumped, tuples as lists)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth > _MAX_DEPTH:
        return f"<{type(value).__qualname__}>"
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, BaseModel):
        try:
            return jsonable(value.model_dump(mode="json"), depth + 1)
        except Exception:
            return f"<{type(value).__qualname__}>"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value), depth + 1)
    if isinstance(value, UUID | datetime | date):
        return str(value)
    if isinstance(value, enum.Enum):
        return jsonable(value.value, depth + 1)
    return f"<{type(value).__qualname__}>"


def safe_mapping(value: Mapping[str, Any] | None) -> dict[str, Any]:
    """Metadata or invocation parameters: JSON, with secrets redacted."""
    if not value:
        return {}
    out = redact(jsonable(value))
    return out if isinstance(out, dict) else {}


def run_name(serialized: Mapping[str, Any] | None, kwargs: Mapping[str, Any], default: str) -> str:
    """The run's name as LangChain's tracer finds it: ``name=``, then the
    serialised object's name, then the last part of its id."""
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    if serialized:
        if isinstance(serialized.get("name"), str):
            return str(serialized["name"])
        ident = serialized.get("id")
        if isinstance(ident, list) and ident:
            return str(ident[-1])
    return default


def model_name(
    params: Mapping[str, Any], metadata: Mapping[str, Any], serialized: Mapping[str, Any] | None
) -> str | None:
    """The model a LangChain run calls, where LangChain says so."""
    kwargs = (serialized or {}).get("kwargs")
    for source, key in (
        (params, "model"),
        (params, "model_name"),
        (metadata, "ls_model_name"),
        (kwargs, "model"),
        (kwargs, "model_name"),
    ):
        if isinstance(source, Mapping) and isinstance(source.get(key), str):
            return str(source[key])
    return None


_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def _message(message: BaseMessage) -> Message:
    role = _ROLES.get(message.type, "user")
    data: dict[str, Any] = {"role": role, "content": message.text}
    calls = getattr(message, "tool_calls", None)
    if role == "assistant" and calls:
        data["tool_calls"] = [
            {"id": c.get("id") or "", "name": c.get("name") or "", "args": jsonable(c.get("args"))}
            for c in calls
        ]
    if role == "tool":
        data["tool_call_id"] = getattr(message, "tool_call_id", None)
    try:
        return Message.model_validate(data)
    except ValidationError:
        # Something streamllm's messages cannot hold (a tool message without the
        # call it answers, odd tool-call arguments): keep the text, as the user's.
        return Message(role="user", content=message.text)


def streamllm_messages(messages: Sequence[BaseMessage]) -> tuple[Message, ...]:
    return tuple(_message(m) for m in messages)


def text_of(token: Any) -> str:
    """The text of a streamed token: LangChain passes ``chunk.message.content``,
    a string or (output_version="v1") a list of content blocks."""
    if isinstance(token, str):
        return token
    if isinstance(token, list):
        parts = []
        for block in token:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, Mapping) and block.get("type") == "text":
                parts.append(str(block.get("text", "")))
        return "".join(parts)
    return ""


def _first(response: LCResult) -> Any:
    return response.generations[0][0] if response.generations and response.generations[0] else None


def finish_reason(response: LCResult) -> str | None:
    """The provider's finish reason: ``generation_info`` (LLMs) or the message's
    ``response_metadata`` (chat models; Anthropic calls it ``stop_reason``)."""
    gen = _first(response)
    if gen is None:
        return None
    places: list[Any] = [gen.generation_info or {}]
    if isinstance(gen, ChatGeneration):
        places.append(gen.message.response_metadata or {})
    for place in places:
        for key in ("finish_reason", "stop_reason", "done_reason"):
            if isinstance(place.get(key), str):
                return str(place[key])
    return None


def _count(source: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = source.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def usage_of(response: LCResult) -> TokenUsage | None:
    """Provider-reported usage: the message's ``usage_metadata``, else
    ``llm_output["token_usage"]`` (or ``["usage"]``); None when neither has it."""
    gen = _first(response)
    meta = getattr(getattr(gen, "message", None), "usage_metadata", None)
    if meta:
        inputs, outputs = (
            meta.get("input_token_details") or {},
            meta.get("output_token_details") or {},
        )
        return TokenUsage.of(
            _count(meta, "input_tokens"),
            _count(meta, "output_tokens"),
            total_tokens=_count(meta, "total_tokens"),
            cache_read_tokens=_count(inputs, "cache_read"),
            cache_write_tokens=_count(inputs, "cache_creation"),
            reasoning_tokens=_count(outputs, "reasoning"),
        )
    output = response.llm_output or {}
    for key in ("token_usage", "usage"):
        counts = output.get(key)
        if isinstance(counts, Mapping) and counts:
            prompt = _count(counts, "prompt_tokens", "input_tokens")
            completion = _count(counts, "completion_tokens", "output_tokens")
            if prompt is None and completion is None:
                continue
            return TokenUsage.of(prompt, completion, total_tokens=_count(counts, "total_tokens"))
    return None


def estimate(text: str) -> int:
    """streamllm's base-class estimate: about four characters per model token."""
    return (len(text) + 3) // 4


#: Whether streamllm results carry a chat run's message (``LLMResult.message``).
HAS_MESSAGE = "message" in LLMResult.model_fields


def result(
    text: str,
    raw_finish: str | None,
    usage: TokenUsage | None,
    model: str,
    run_id: UUID,
    message: Any = None,
) -> LLMResult:
    """One run's streamllm result; ``message`` is the LangChain message of a chat run."""
    finish = normalize_finish_reason(raw_finish)
    generation = Generation(text=text, finish_reason=finish, provider_finish_reason=raw_finish)
    fields: dict[str, Any] = {}
    if HAS_MESSAGE and message is not None:
        fields["message"] = (
            message
            if isinstance(message, AIMessage)  # assembled from the stream already
            else ai_message(message, text, usage, raw_finish)
        )
    return LLMResult(
        generations=((generation,),), usage=usage, model=model, run_ids=(run_id,), **fields
    )


def _reasoning(content: Any) -> tuple[str, str | None]:
    """Reasoning text in LangChain content blocks (v1 ``reasoning``, Anthropic ``thinking``)."""
    parts, signature = [], None
    for block in content if isinstance(content, list) else ():
        if isinstance(block, Mapping) and block.get("type") in ("reasoning", "thinking"):
            parts.append(str(block.get("reasoning") or block.get("thinking") or ""))
            signature = block.get("signature") or signature
    return "".join(parts), signature


def ai_message(
    message: BaseMessage, text: str, usage: TokenUsage | None, raw_finish: str | None
) -> AIMessage:
    """A LangChain chat answer as streamllm's ``AIMessage``: reasoning, the text
    (the streamed tokens when it streamed), then the tool calls, as blocks."""
    blocks: list[Any] = []
    reasoning, signature = _reasoning(message.content)
    if reasoning:
        blocks.append(ReasoningBlock(text=reasoning, signature=signature))
    if text:
        blocks.append(TextBlock(text=text))
    for call in getattr(message, "tool_calls", None) or ():
        args = call.get("args")
        blocks.append(
            ToolCall(
                id=call.get("id") or "",
                name=call.get("name") or "",
                args=jsonable(args) if isinstance(args, Mapping) else {},
            )
        )
    for bad in getattr(message, "invalid_tool_calls", None) or ():
        blocks.append(
            InvalidToolCall(
                id=bad.get("id"),
                name=bad.get("name"),
                args_text=str(bad.get("args") or ""),
                error=str(bad.get("error") or ""),
            )
        )
    metadata = jsonable(message.response_metadata or {})
    if raw_finish is not None:
        metadata["finish_reason"] = raw_finish
    return AIMessage(
        id=message.id,
        content_blocks=tuple(blocks),
        usage=usage,
        finish_reason=normalize_finish_reason(raw_finish),
        response_metadata=metadata,
    )
