"""OpenTelemetryHandler's content attributes: messages with every block, and tool definitions."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import ReadableSpan

from streamllm import tool, traced
from streamllm.chat.tools_schema import to_tool_spec
from streamllm.models.fake_chat import FakeChatModel
from tests.handlers.test_otel import Telemetry, _telemetry

REASONING_AND_CALL = {
    "reasoning": "The user wants the weather.",
    "text": "Let me look.",
    "tool_calls": [{"id": "call_1", "name": "get_weather", "args": {"city": "Paris"}}],
}

#: REASONING_AND_CALL's answer as the conventions' message parts.
ASSISTANT_PARTS = [
    {"type": "reasoning", "content": "The user wants the weather."},
    {"type": "text", "content": "Let me look."},
    {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}},
]


@tool
def get_weather(city: str) -> str:
    """The weather now.

    Args:
        city: The city's name.
    """
    return f"rainy in {city}"


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def _json(span: ReadableSpan, key: str) -> Any:
    return json.loads(str(_attrs(span)[key]))


@pytest.fixture
def tel() -> Telemetry:
    return _telemetry(capture_content=True)


@pytest.mark.parametrize("stream", [False, True])
def test_a_chat_run_records_reasoning_text_and_tool_call_parts(
    tel: Telemetry, stream: bool
) -> None:
    """The output message holds every block in order, the tool call with its
    arguments as an object, and the conventions' ``tool_call`` finish reason."""
    model = FakeChatModel(responses=[REASONING_AND_CALL])
    if stream:
        sum(model.stream("Weather in Paris?", callbacks=[tel.handler]))
    else:
        model.invoke("Weather in Paris?", callbacks=[tel.handler])
    span = tel.span("chat fake-chat")
    assert _json(span, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}
    ]
    assert _json(span, "gen_ai.output.messages") == [
        {
            "role": "assistant",
            "parts": ASSISTANT_PARTS,
            "finish_reason": "tool_call",
        }
    ]
    assert _attrs(span)["gen_ai.response.finish_reasons"] == ("tool_calls",)


def test_invalid_tool_call_arguments_are_recorded_as_sent(tel: Telemetry) -> None:
    """Arguments that are not a JSON object stay the raw text the model sent."""
    model = FakeChatModel(
        responses=[{"tool_calls": [{"id": "c9", "name": "get_weather", "args_text": "{city"}]}]
    )
    model.invoke("Weather?", callbacks=[tel.handler])
    (message,) = _json(tel.span("chat fake-chat"), "gen_ai.output.messages")
    assert message["parts"] == [
        {"type": "tool_call", "id": "c9", "name": "get_weather", "arguments": "{city"}
    ]


def test_a_tool_loop_records_the_call_and_its_response_in_the_input(tel: Telemetry) -> None:
    """The second model call of a tool loop sees the assistant's tool call and the
    tool's answer as input messages of the conventions' shape."""
    model = FakeChatModel(responses=[REASONING_AND_CALL, "It is rainy in Paris."])
    with traced("agent", callbacks=[tel.handler]):
        conversation: list[Any] = [("system", "Be brief."), ("user", "Weather in Paris?")]
        answer = model.invoke(conversation)
        conversation.append(answer)
        conversation.extend(get_weather.invoke(call) for call in answer.tool_calls)
        final = model.invoke(conversation)
    assert final.text == "It is rainy in Paris."
    second = [s for s in tel.spans() if s.name == "chat fake-chat"][1]
    assert _json(second, "gen_ai.input.messages") == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
        {
            "role": "assistant",
            "parts": ASSISTANT_PARTS,
        },
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "call_1", "response": "rainy in Paris"}],
        },
    ]
    assert _json(second, "gen_ai.output.messages")[0]["finish_reason"] == "stop"
    tool_span = tel.span("execute_tool get_weather")
    assert _attrs(tool_span)["gen_ai.tool.call.id"] == "call_1"


def test_a_failed_chat_run_records_what_streamed_with_an_error_finish(tel: Telemetry) -> None:
    """Breaking off a stream keeps the blocks that had streamed; finish_reason ``error``."""
    model = FakeChatModel(responses=[REASONING_AND_CALL])
    stream = model.stream("Weather?", callbacks=[tel.handler])
    for _ in stream:
        break
    stream.close()
    (message,) = _json(tel.span("chat fake-chat"), "gen_ai.output.messages")
    assert message["finish_reason"] == "error"
    assert message["parts"][0]["type"] == "reasoning"


def test_bound_tools_are_recorded_as_tool_definitions(tel: Telemetry) -> None:
    """The tools a chat model is offered become ``gen_ai.tool.definitions``."""
    model = FakeChatModel(responses=["Sunny."]).bind_tools([get_weather])
    model.invoke("Weather?", callbacks=[tel.handler])
    definitions = _json(tel.span("chat fake-chat"), "gen_ai.tool.definitions")
    assert definitions[0]["parameters"]["properties"]["city"]["type"] == "string"
    assert definitions == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "The weather now.",
            "parameters": to_tool_spec(get_weather).parameters,
        }
    ]


def test_no_content_without_capture_content() -> None:
    """Off by default: no messages, parts, tool definitions or arguments anywhere."""
    tel = _telemetry()
    model = FakeChatModel(responses=[REASONING_AND_CALL, "It is rainy."]).bind_tools([get_weather])
    answer = model.invoke("Weather in Paris?", callbacks=[tel.handler])
    followup = [
        ("user", "Weather in Paris?"),
        answer,
        *(get_weather.invoke(c) for c in answer.tool_calls),
    ]
    model.invoke(followup, callbacks=[tel.handler])
    for span in tel.spans():
        attrs = _attrs(span)
        for key in ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.definitions"):
            assert key not in attrs
        text = json.dumps({k: str(v) for k, v in attrs.items()})
        for content in ("Paris", "wants the weather", "Let me look", "rainy", "The weather now"):
            assert content not in text


def test_the_tools_on_llm_start_are_read_only() -> None:
    """A handler cannot change, through LLMStart.tools, what the model offers next."""
    refused: list[str] = []

    def write(event: Any) -> None:
        try:
            event.tools[0].parameters["properties"]["city"]["type"] = "integer"
        except TypeError as exc:
            refused.append(str(exc))

    model = FakeChatModel(responses=["a", "b"]).bind_tools([get_weather])
    model.invoke("Weather?", callbacks=[{"on_llm_start": write}])
    assert model.tools[0].parameters["properties"]["city"]["type"] == "string"
    assert len(refused) == 1
    assert "read-only" in refused[0]
