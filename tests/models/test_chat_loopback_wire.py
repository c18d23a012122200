"""What ChatOpenAI, ChatAnthropic and ChatOllama send over real HTTP: the bound tools
and ``tool_choice`` in each vendor's wire format, and a tool loop's second request
(the assistant's calls, reasoning and the tool results) as each vendor wants it."""

from __future__ import annotations

from typing import Any

import pytest

from streamllm.chat import AIMessage, InvalidToolCall, ToolCall
from tests.models.loopback_chat import (
    PROMPT,
    VENDORS,
    anthropic,
    ollama,
    openai,
    run,
    run_once,
    weather,
)
from tests.servers import vendor_streams as streams
from tests.servers.vendor_server import Scripted, VendorServer

PARAMETERS = {
    "type": "object",
    "properties": {
        "city": {"description": "The city's name.", "title": "City", "type": "string"},
    },
    "required": ["city"],
}
OPENAI_TOOL = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "The weather in a city.",
        "parameters": PARAMETERS,
    },
}
ANTHROPIC_TOOL = {
    "name": "weather",
    "description": "The weather in a city.",
    "input_schema": PARAMETERS,
}
NAMED = {"type": "function", "function": {"name": "weather"}}
ABSENT = object()


async def first_body(model: Any, script: Scripted, prompt: Any = PROMPT) -> dict[str, Any]:
    outcome = await run_once(model, "ainvoke", prompt)
    assert outcome.error is None, outcome.error
    (body,) = script.bodies
    assert isinstance(body, dict)
    return body


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        (None, ABSENT),
        ("auto", "auto"),
        ("required", "required"),
        ("any", "required"),
        ("none", "none"),
        ("weather", NAMED),
        (NAMED, NAMED),
    ],
)
async def test_openai_tools_and_tool_choice(
    vendor_server: VendorServer, choice: Any, wire: Any
) -> None:
    script = vendor_server.serve(streams.openai_frames())
    body = await first_body(openai(script).bind_tools([weather], tool_choice=choice), script)
    assert body["tools"] == [OPENAI_TOOL]
    assert body.get("tool_choice", ABSENT) == wire
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris and London?"},
    ]
    assert script.requests[0].headers["authorization"] == "Bearer sk-test"


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        (None, ABSENT),
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ("weather", {"type": "tool", "name": "weather"}),
        ({"type": "tool", "name": "weather"}, {"type": "tool", "name": "weather"}),
    ],
)
async def test_anthropic_tools_and_tool_choice(
    vendor_server: VendorServer, choice: Any, wire: Any
) -> None:
    script = vendor_server.serve(streams.anthropic_frames())
    body = await first_body(anthropic(script).bind_tools([weather], tool_choice=choice), script)
    assert body["tools"] == [ANTHROPIC_TOOL]
    assert body.get("tool_choice", ABSENT) == wire
    assert body["system"] == "Be brief."
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and London?"}]}
    ]
    assert body["stream"] is True
    assert "thinking" not in body
    headers = script.requests[0].headers
    assert (headers["x-api-key"], headers["anthropic-version"]) == ("sk-ant-test", "2023-06-01")
    assert "authorization" not in headers


async def test_anthropic_thinking_with_tools(vendor_server: VendorServer) -> None:
    """Thinking goes with a budget below max_tokens; only an unforced tool_choice."""
    script = vendor_server.serve(streams.anthropic_frames())
    model = anthropic(script, thinking=2048).bind_tools([weather], tool_choice="auto")
    body = await first_body(model, script)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["max_tokens"] > 2048
    assert body["tool_choice"] == {"type": "auto"}


@pytest.mark.parametrize(("choice", "sent"), [(None, True), ("auto", True), ("none", False)])
async def test_ollama_tools(vendor_server: VendorServer, choice: Any, sent: bool) -> None:
    """Ollama takes OpenAI-shaped tools and has no tool_choice: "none" sends no tools."""
    script = vendor_server.serve(streams.ollama_frames())
    model = ollama(script, think=True).bind_tools([weather], tool_choice=choice)
    body = await first_body(model, script)
    assert body.get("tools") == ([OPENAI_TOOL] if sent else None)
    assert "tool_choice" not in body
    assert body["think"] is True
    assert body["stream"] is True


def tool_loop(message: AIMessage) -> list[Any]:
    """The conversation that answers every call of ``message``."""
    calls: list[ToolCall | InvalidToolCall] = [*message.tool_calls, *message.invalid_tool_calls]
    answers = [{"role": "tool", "tool_call_id": c.id, "content": f"22 C ({c.id})"} for c in calls]
    return [*PROMPT, message, *answers]


async def second_body(vendor_server: VendorServer, vendor: str, **fields: Any) -> Any:
    script = vendor_server.serve(VENDORS[vendor].frames())
    model = VENDORS[vendor].model(script, **fields).bind_tools([weather])
    try:
        first = await run(model, "astream")
        assert first.message is not None
        again = await run(model, "stream", tool_loop(first.message))
    finally:
        await model.aclose()
    assert again.error is None
    return script.bodies[1]["messages"]


async def test_openai_tool_loop_on_the_wire(vendor_server: VendorServer) -> None:
    """The assistant's calls go back with their arguments as text (an invalid call's raw
    text as it came); each answer is a tool message naming its call."""
    messages = await second_body(vendor_server, "openai")
    assert messages[2] == {
        "role": "assistant",
        "content": "Checking both.",
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
            },
            {
                "id": "call_b",
                "type": "function",
                "function": {"name": "weather", "arguments": "".join(streams.OPENAI_BAD_ARGS)},
            },
        ],
    }
    assert messages[3:] == [
        {"role": "tool", "tool_call_id": "call_a", "content": "22 C (call_a)"},
        {"role": "tool", "tool_call_id": "call_b", "content": "22 C (call_b)"},
    ]


async def test_anthropic_tool_loop_on_the_wire(vendor_server: VendorServer) -> None:
    """The thinking block goes back with its signature (the API requires it in a tool
    loop), the calls as tool_use blocks, the answers as one user turn of tool_results."""
    messages = await second_body(vendor_server, "anthropic", thinking=2048)
    assert messages[1] == {
        "role": "assistant",
        "content": [
            {
                "type": "thinking",
                "thinking": "".join(streams.REASONING),
                "signature": streams.SIGNATURE,
            },
            {"type": "text", "text": "Checking both."},
            {"type": "tool_use", "id": "toolu_a", "name": "weather", "input": {"city": "Paris"}},
            # An array cannot be a tool_use input: the invalid call goes back empty.
            {"type": "tool_use", "id": "toolu_b", "name": "weather", "input": {}},
        ],
    }
    assert messages[2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_a", "content": "22 C (toolu_a)"},
            {"type": "tool_result", "tool_use_id": "toolu_b", "content": "22 C (toolu_b)"},
        ],
    }
    assert len(messages) == 3


async def test_ollama_tool_loop_on_the_wire(vendor_server: VendorServer) -> None:
    """Arguments go back as objects, the thinking beside them; tool answers are named
    by the tool they answer (tool_name)."""
    messages = await second_body(vendor_server, "ollama", think=True)
    assert messages[2] == {
        "role": "assistant",
        "content": "Checking both.",
        "thinking": "".join(streams.REASONING),
        "tool_calls": [
            {"function": {"name": "weather", "arguments": {"city": "Paris"}}},
            {"function": {"name": "weather", "arguments": {"city": "London"}}},
        ],
    }
    assert [m["role"] for m in messages[3:]] == ["tool", "tool"]
    assert [m["tool_name"] for m in messages[3:]] == ["weather", "weather"]
    assert messages[3]["content"] == "22 C (call_o1)"
