"""streamllm values as a LangChain handler expects them: messages, chunks, results, errors.

Everything here is a pure conversion; :mod:`._wrapped_handler` decides when to
call which LangChain hook with them.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Iterable, Mapping
from typing import Any, Final
from uuid import UUID

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.outputs import ChatGeneration, Generation
from langchain_core.outputs import LLMResult as LCResult

from streamllm import errors as _errors
from streamllm.errors import StreamLLMError
from streamllm.events import ErrorInfo
from streamllm.outputs import LLMResult, TokenUsage

__all__ = [
    "LC_ID_PREFIX",
    "RunError",
    "lc_messages",
    "lc_result",
    "plain",
    "serialized",
    "to_exception",
    "usage_metadata",
]

#: LangChain's prefix for the message id of a run's chunks (``lc_run-<run id>``).
LC_ID_PREFIX: Final = "lc_run-"


class RunError(StreamLLMError):
    """A streamllm run's failure, as a LangChain handler receives it.

    Events carry the error's type name and message, not the exception object
    (they cross processes and recordings), so a LangChain ``on_llm_error``
    gets a rebuilt exception: the original class when it is a built-in or a
    streamllm error that can be rebuilt from its message, else this one.
    """

    def __init__(self, type_name: str, message: str, reason: str) -> None:
        super().__init__(f"{type_name}: {message}" if message else type_name)
        self.type_name = type_name
        self.reason = reason


def _exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module in (builtins, _errors):
        for name, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, BaseException):
                found[name] = value
    found["CancelledError"] = asyncio.CancelledError
    return found


_EXCEPTIONS = _exception_classes()


def to_exception(error: ErrorInfo, reason: str) -> BaseException:
    """The exception a LangChain ``on_*_error`` hook receives for ``error``."""
    cls = _EXCEPTIONS.get(error.type)
    if cls is not None:
        try:
            return cls(error.message)
        except Exception:  # a class that needs more arguments than a message
            pass
    return RunError(error.type, error.message, reason)


def plain(value: Any) -> Any:
    """``value`` with every mapping a plain ``dict`` (event payloads are read-only
    mappings; LangChain handlers and tracers expect dicts they can serialise)."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def serialized(name: str) -> dict[str, Any]:
    """What LangChain passes as ``serialized`` for a run it cannot serialise."""
    return {"lc": 1, "type": "not_implemented", "id": ["streamllm", name], "name": name}


# -- messages ------------------------------------------------------------------


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _lc_block(block: Any) -> dict[str, Any] | str:
    """A streamllm content block as a LangChain (v1) content block."""
    if isinstance(block, str):
        return block
    kind = _get(block, "type")
    if kind == "text":
        return {"type": "text", "text": _get(block, "text")}
    if kind == "reasoning":
        return {"type": "reasoning", "reasoning": _get(block, "text")}
    dump = getattr(block, "model_dump", None)
    return dict(dump()) if dump is not None else dict(block)


def _content(content: Any) -> str | list[str | dict[str, Any]]:
    """Text and reasoning as LangChain content: a str when it is only text.
    Tool calls travel in ``tool_calls``, not in the content."""
    if content is None or isinstance(content, str):
        return content or ""
    blocks = [b for b in content if _get(b, "type") in ("text", "reasoning") or isinstance(b, str)]
    if all(isinstance(b, str) or _get(b, "type") == "text" for b in blocks):
        return "".join(b if isinstance(b, str) else str(_get(b, "text")) for b in blocks)
    return [_lc_block(b) for b in blocks]


def _tool_calls(calls: Iterable[Any] | None) -> list[Any]:
    return [
        {
            "type": "tool_call",
            "id": _get(c, "id"),
            "name": _get(c, "name"),
            "args": plain(_get(c, "args")),
        }
        for c in calls or ()
        if _get(c, "type") != "invalid_tool_call"
    ]


def _invalid_tool_calls(calls: Iterable[Any] | None) -> list[Any]:
    return [
        {
            "type": "invalid_tool_call",
            "id": _get(c, "id"),
            "name": _get(c, "name"),
            "args": _get(c, "args_text"),
            "error": _get(c, "error"),
        }
        for c in calls or ()
    ]


def lc_message(message: Any) -> BaseMessage:
    """One streamllm input message as a LangChain message (roles map one to one)."""
    role = _get(message, "role")
    content = _content(_get(message, "content"))
    if role == "system":
        return SystemMessage(content=content)
    if role == "assistant":
        return AIMessage(content=content, tool_calls=_tool_calls(_get(message, "tool_calls")))
    if role == "tool":
        return ToolMessage(content=content, tool_call_id=_get(message, "tool_call_id") or "")
    return HumanMessage(content=content)


def lc_messages(messages: Iterable[Any]) -> list[BaseMessage]:
    return [lc_message(m) for m in messages]


# -- usage and results -------------------------------------------------------


def usage_metadata(usage: TokenUsage | None) -> UsageMetadata | None:
    """LangChain's ``usage_metadata`` for counts the provider reported.

    LangChain has no notion of an estimate: its usage fields mean "the provider
    said so", so estimated counts are left out here (they stay visible in
    ``llm_output["streamllm_usage"]``, with their ``source``).
    """
    if usage is None or usage.source != "provider":
        return None
    prompt, completion = usage.prompt_tokens, usage.completion_tokens
    if prompt is None or completion is None:
        return None
    out = UsageMetadata(
        input_tokens=prompt,
        output_tokens=completion,
        total_tokens=usage.total_tokens if usage.total_tokens is not None else prompt + completion,
    )
    details = usage.model_dump()
    inputs = InputTokenDetails()
    if details.get("cache_read_tokens") is not None:
        inputs["cache_read"] = details["cache_read_tokens"]
    if details.get("cache_write_tokens") is not None:
        inputs["cache_creation"] = details["cache_write_tokens"]
    if inputs:
        out["input_token_details"] = inputs
    if details.get("reasoning_tokens") is not None:
        out["output_token_details"] = OutputTokenDetails(reasoning=details["reasoning_tokens"])
    return out


def _llm_output(result: LLMResult, usage: UsageMetadata | None) -> dict[str, Any]:
    out: dict[str, Any] = {"model_name": result.model, "retries": result.retries}
    if usage is not None:
        out["token_usage"] = {
            "prompt_tokens": usage["input_tokens"],
            "completion_tokens": usage["output_tokens"],
            "total_tokens": usage["total_tokens"],
        }
    if result.usage is not None:
        out["streamllm_usage"] = result.usage.model_dump(mode="json")
    return out


def _ai_message(result: LLMResult, usage: UsageMetadata | None, run_id: UUID) -> AIMessage:
    message = getattr(result, "message", None)
    info = _finish_info(result)
    metadata = {"model_name": result.model, **info}
    if message is None:
        return AIMessage(
            content=result.text,
            usage_metadata=usage,
            response_metadata=metadata,
            id=f"{LC_ID_PREFIX}{run_id}",
        )
    blocks = [b for b in message.content_blocks if _get(b, "type") in ("text", "reasoning")]
    content: str | list[str | dict[str, Any]]
    if all(_get(b, "type") == "text" for b in blocks):
        content = message.text
    else:
        content = [_lc_block(b) for b in blocks]
    return AIMessage(
        content=content,
        tool_calls=_tool_calls(message.tool_calls),
        invalid_tool_calls=_invalid_tool_calls(message.invalid_tool_calls),
        usage_metadata=usage,
        response_metadata={**dict(message.response_metadata or {}), **metadata},
        id=message.id or f"{LC_ID_PREFIX}{run_id}",
    )


def _finish_info(result: LLMResult) -> dict[str, Any]:
    if not result.generations or not result.generations[0]:
        return {}
    gen = result.generations[0][0]
    reason = gen.provider_finish_reason or gen.finish_reason
    return {"finish_reason": reason} if reason is not None else {}


def lc_result(result: LLMResult, *, chat: bool, run_id: UUID) -> LCResult:
    """A streamllm run's result as LangChain's ``LLMResult`` (one prompt, one generation)."""
    usage = usage_metadata(result.usage)
    generations: list[list[Generation]] = []
    if result.generations or getattr(result, "message", None) is not None:
        info = _finish_info(result) or None
        if chat or getattr(result, "message", None) is not None:
            message = _ai_message(result, usage, run_id)
            generations = [[ChatGeneration(message=message, generation_info=info)]]
        else:
            generations = [[Generation(text=result.text, generation_info=info)]]
    return LCResult(generations=generations, llm_output=_llm_output(result, usage))
