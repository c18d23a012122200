"""Content as the GenAI conventions record it: messages, and the tools a model was offered.

The JSON follows the conventions' schemas (``gen-ai-input-messages.json``,
``gen-ai-output-messages.json``, ``gen-ai-tool-definitions.json``): a message
is ``{"role", "parts"}`` (an output message adds ``finish_reason``), a part is
``text`` or ``reasoning`` (``content``), ``tool_call`` (``id``, ``name``,
``arguments``) or ``tool_call_response`` (``id``, ``response``); a tool is
``{"type": "function", "name", "description", "parameters"}``. Only
:class:`~streamllm.handlers.otel.OpenTelemetryHandler` with ``capture_content``
calls these: nothing here is recorded otherwise.

>>> from streamllm.chat.blocks import ToolCall
>>> _part(ToolCall(id="call_1", name="get_weather", args={"city": "Paris"}))
{'type': 'tool_call', 'id': 'call_1', 'name': 'get_weather', 'arguments': {'city': 'Paris'}}
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from streamllm.chat.blocks import Block, ReasoningBlock, TextBlock, ToolCall
from streamllm.chat.tools_schema import ToolSpec
from streamllm.events import LLMStart
from streamllm.messages import Message
from streamllm.outputs import Generation, LLMResult

__all__ = ["input_messages", "output_messages", "tool_definitions"]

# The conventions' FinishReason names one tool call in the singular.
_FINISH = {"tool_calls": "tool_call"}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _part(block: Block) -> dict[str, Any]:
    if isinstance(block, TextBlock):
        return {"type": "text", "content": block.text}
    if isinstance(block, ReasoningBlock):
        return {"type": "reasoning", "content": block.text}
    if isinstance(block, ToolCall):
        return {"type": "tool_call", "id": block.id, "name": block.name, "arguments": block.args}
    # An InvalidToolCall: its arguments as the model sent them (the schema takes any value).
    return {
        "type": "tool_call",
        "id": block.id,
        "name": block.name or "",
        "arguments": block.args_text,
    }


def _message(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        response = {
            "type": "tool_call_response",
            "id": message.tool_call_id,
            "response": message.text,
        }
        return {"role": "tool", "parts": [response]}
    return {"role": message.role, "parts": [_part(b) for b in message.blocks]}


def input_messages(event: LLMStart) -> str:
    """``gen_ai.input.messages``: the conversation, or a prompt as one user message."""
    if event.messages is None:
        return _json([{"role": "user", "parts": [{"type": "text", "content": event.prompt or ""}]}])
    return _json([_message(m) for m in event.messages])


def _finish_reason(generation: Generation, failed: bool) -> str:
    reason = generation.finish_reason
    if reason is not None and reason != "other":
        return _FINISH.get(reason, reason)
    return generation.provider_finish_reason or ("error" if failed else reason or "")


def output_messages(result: LLMResult, failed: bool) -> str:
    """``gen_ai.output.messages``: a chat run's message with all its blocks, or each
    generation's text; ``finish_reason`` is ``error`` for a run that failed before one."""
    generations = [g for gens in result.generations for g in gens]
    if result.message is not None:
        parts = [_part(b) for b in result.message.content_blocks]
        finish = _finish_reason(generations[0], failed) if generations else "error"
        return _json([{"role": "assistant", "parts": parts, "finish_reason": finish}])
    return _json(
        [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": g.text}],
                "finish_reason": _finish_reason(g, failed),
            }
            for g in generations
        ]
    )


def tool_definitions(tools: Iterable[ToolSpec]) -> str:
    """``gen_ai.tool.definitions``: the function tools a chat model was offered."""
    definitions = []
    for spec in tools:
        definition: dict[str, Any] = {"type": "function", "name": spec.name}
        if spec.description:
            definition["description"] = spec.description
        definition["parameters"] = spec.parameters
        definitions.append(definition)
    return _json(definitions)
