"""Chat events as Vercel AI SDK UI message stream parts: reasoning, text, a tool call."""

from __future__ import annotations

import itertools
import json
import uuid
from typing import Any

import httpx

from streamllm.events import NewToken, parse_event
from streamllm.web.aisdk import UIMessageParts
from tests.web.apps import ANSWER, REASONING, TOOL_ARGS, make_chat_app
from tests.web.sse import events_of

RUN = uuid.uuid4()


def _events(*bodies: dict[str, Any]) -> list[Any]:
    """Events from their JSON; NewToken's ``block`` only once the event has it."""
    seq = itertools.count()
    if "block" not in NewToken.model_fields:
        bodies = tuple(
            {k: v for k, v in b.items() if k != "block"} if b["type"] == "new_token" else b
            for b in bodies
        )
    common = {"run_id": str(RUN), "trace_id": str(RUN), "time": 1.0, "monotonic": 1.0, "name": "m"}
    return [parse_event({**common, "seq": next(seq), **body}) for body in bodies]


def _result(finish: str) -> dict[str, Any]:
    return {
        "generations": [[{"text": "Hi!", "finish_reason": finish}]],
        "usage": {
            "prompt_tokens": 5,
            "completion_tokens": 7,
            "total_tokens": 12,
            "source": "provider",
        },
    }


def test_reasoning_text_and_a_tool_call_become_their_parts() -> None:
    events = _events(
        {"type": "llm_start", "model": "m", "prompt": "hi"},
        {"type": "block_start", "block": 0, "kind": "reasoning"},
        {"type": "block_delta", "block": 0, "kind": "reasoning", "delta": "Think"},
        {"type": "block_end", "block": 0, "content": {"type": "reasoning", "text": "Think"}},
        {"type": "block_start", "block": 1, "kind": "text"},
        {"type": "new_token", "token": "Hi", "index": 0, "block": 1},
        {"type": "new_token", "token": "!", "index": 1, "block": 1},
        {"type": "block_end", "block": 1, "content": {"type": "text", "text": "Hi!"}},
        {
            "type": "block_start",
            "block": 2,
            "kind": "tool_call",
            "id": "call_1",
            "tool_name": "weather",
        },
        {"type": "block_delta", "block": 2, "kind": "tool_call", "delta": '{"city": '},
        {"type": "block_delta", "block": 2, "kind": "tool_call", "delta": '"Oslo"}'},
        {
            "type": "block_end",
            "block": 2,
            "content": {
                "type": "tool_call",
                "id": "call_1",
                "name": "weather",
                "args": {"city": "Oslo"},
            },
        },
        {"type": "llm_end", "result": _result("tool_calls")},
    )
    translator = UIMessageParts(str(RUN))
    parts = [p for e in events for p in translator.parts(e)]
    assert parts == [
        {"type": "start", "messageId": str(RUN)},
        {"type": "start-step"},
        {"type": "reasoning-start", "id": "reasoning-0"},
        {"type": "reasoning-delta", "id": "reasoning-0", "delta": "Think"},
        {"type": "reasoning-end", "id": "reasoning-0"},
        {"type": "text-start", "id": "text-1"},
        {"type": "text-delta", "id": "text-1", "delta": "Hi"},
        {"type": "text-delta", "id": "text-1", "delta": "!"},
        {"type": "text-end", "id": "text-1"},
        {"type": "tool-input-start", "toolCallId": "call_1", "toolName": "weather"},
        {"type": "tool-input-delta", "toolCallId": "call_1", "inputTextDelta": '{"city": '},
        {"type": "tool-input-delta", "toolCallId": "call_1", "inputTextDelta": '"Oslo"}'},
        {
            "type": "tool-input-available",
            "toolCallId": "call_1",
            "toolName": "weather",
            "input": {"city": "Oslo"},
        },
        {"type": "finish-step"},
        {
            "type": "finish",
            "finishReason": "tool-calls",
            "messageMetadata": {"usage": _result("")["usage"] | _usage_extras()},
        },
    ]


def _usage_extras() -> dict[str, Any]:
    from streamllm.outputs import TokenUsage

    extra = set(TokenUsage.model_fields) - {
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "source",
    }
    return dict.fromkeys(extra)


def test_invalid_arguments_a_cancel_and_a_failure() -> None:
    """Arguments that are not JSON: tool-input-error; cancelled: abort; failed: error."""
    events = _events(
        {"type": "llm_start", "model": "m", "prompt": "hi"},
        {"type": "block_start", "block": 0, "kind": "tool_call", "id": "c9", "tool_name": "f"},
        {"type": "block_delta", "block": 0, "kind": "tool_call", "delta": "{nope"},
        {
            "type": "block_end",
            "block": 0,
            "content": {
                "type": "invalid_tool_call",
                "id": "c9",
                "name": "f",
                "args_text": "{nope",
                "error": "bad JSON",
            },
        },
        {"type": "new_token", "token": "Hi", "index": 0, "block": 1},
    )
    cancel = _events(
        {
            "type": "llm_error",
            "reason": "cancelled",
            "error": {"type": "CancelledError", "message": ""},
            "partial": _result("other"),
        }
    )[0]
    fail = cancel.model_copy(
        update={"reason": "failed", "error": cancel.error.model_copy(update={"message": "boom"})}
    )
    translator = UIMessageParts(str(RUN))
    parts = [p for e in events for p in translator.parts(e)]
    assert parts[2:5] == [
        {"type": "tool-input-start", "toolCallId": "c9", "toolName": "f"},
        {"type": "tool-input-delta", "toolCallId": "c9", "inputTextDelta": "{nope"},
        {
            "type": "tool-input-error",
            "toolCallId": "c9",
            "toolName": "f",
            "input": "{nope",
            "errorText": "bad JSON",
        },
    ]
    # The text block a text model never closes is closed before the stream's end.
    text_id = parts[-2]["id"]
    assert parts[-2:] == [
        {"type": "text-start", "id": text_id},
        {"type": "text-delta", "id": text_id, "delta": "Hi"},
    ]
    assert translator.parts(cancel) == [
        {"type": "text-end", "id": text_id},
        {"type": "abort", "reason": "cancelled"},
    ]
    assert UIMessageParts(str(RUN)).parts(fail) == [{"type": "error", "errorText": "boom"}]


def test_events_of_nested_runs_are_not_parts_of_the_message() -> None:
    other = _events({"type": "llm_start", "model": "m", "prompt": "x"})[0]
    nested = other.model_copy(update={"run_id": uuid.uuid4(), "parent_run_id": RUN})
    assert UIMessageParts(str(RUN)).parts(nested) == []


async def test_api_chat_streams_a_chat_models_reasoning_tool_call_and_text() -> None:
    """End to end on a FakeChatModel: the parts a useChat front end renders."""
    app = make_chat_app(delay=0.0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as client:
        body = {"messages": [{"role": "user", "parts": [{"type": "text", "text": "Oslo?"}]}]}
        response = await client.post("/api/chat", json=body)
    frames = events_of(response.text)
    assert frames[-1].data == "[DONE]"
    parts = [f.data for f in frames[:-1]]
    kinds = [p["type"] for p in parts]
    assert kinds[:3] == ["start", "start-step", "reasoning-start"]
    reasoning = "".join(p["delta"] for p in parts if p["type"] == "reasoning-delta")
    assert reasoning == REASONING
    assert "".join(p["delta"] for p in parts if p["type"] == "text-delta") == ANSWER
    start = next(p for p in parts if p["type"] == "tool-input-start")
    assert start == {
        "type": "tool-input-start",
        "toolCallId": "call_oslo",
        "toolName": "get_weather",
    }
    args = "".join(p["inputTextDelta"] for p in parts if p["type"] == "tool-input-delta")
    assert json.loads(args) == TOOL_ARGS
    available = next(p for p in parts if p["type"] == "tool-input-available")
    assert available["input"] == TOOL_ARGS
    assert (
        kinds.index("reasoning-end") < kinds.index("text-start") < kinds.index("tool-input-start")
    )
    assert parts[-1]["type"] == "finish"
    assert parts[-1]["finishReason"] == "tool-calls"
    assert parts[-1]["messageMetadata"]["usage"]["total_tokens"] == 69
