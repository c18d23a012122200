"""Real tool calls: ChatOpenAI against llama-server with a tool-capable chat template.

llama-server (``--jinja --chat-template-file`` the Qwen2.5 template) recognises
the template's ``<tool_call>`` syntax, constrains the answer with a grammar
built from the tools' schemas and streams the calls it parses as OpenAI
``tool_calls`` deltas. The 135M model follows the format when the conversation
shows it two earlier calls (a few-shot prefix); asked cold, it answers in prose.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from streamllm import (
    AIMessage,
    BlockDelta,
    BlockEnd,
    BlockStart,
    ChainEnd,
    LLMEnd,
    LLMError,
    ToolCall,
    ToolEnd,
    ToolStart,
    traced,
)
from streamllm.models.openai import ChatOpenAI
from streamllm.testing import RecordingHandler
from streamllm.tools import tool


@tool
def get_weather(city: str) -> str:
    """The weather now in a city.

    Args:
        city: The city's name.
    """
    return f"22 C and sunny in {city}"


def _shown_call(n: int, city: str) -> list[Any]:
    call = {"id": f"call_{n}", "name": "get_weather", "args": {"city": city}}
    question = ("user", f"What is the weather in {city}?")
    return [question, {"role": "assistant", "tool_calls": [call]}]


# Two earlier questions answered with a call: the format the model then follows.
FEW_SHOT = [*_shown_call(1, "London"), *_shown_call(2, "Berlin")]
QUESTION = ("user", "What is the weather in Paris?")


@pytest.fixture
def base_model(llama_tool_server: str) -> Iterator[ChatOpenAI]:
    """The model, closed after the test: an unclosed pool's sockets would be found by
    a later test's garbage collection and fail it as a ResourceWarning."""
    model = ChatOpenAI(
        model="smollm2", base_url=f"{llama_tool_server}/v1", max_tokens=48, temperature=0.0
    )
    yield model
    model.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_streams_real_tool_calls(base_model: ChatOpenAI, mode: str) -> None:
    """The server's streamed tool_calls become one tool-call block: its start names the
    tool, the argument fragments join to its JSON, its end and the message carry the
    parsed ToolCall, and the chunks add up to the message LLMEnd carries."""
    model = base_model.bind_tools([get_weather], tool_choice="required")
    rec = RecordingHandler()
    messages = [*FEW_SHOT, QUESTION]
    if mode == "sync":
        chunks = list(model.stream(messages, callbacks=[rec]))
    else:
        chunks = [c async for c in model.astream(messages, callbacks=[rec])]
    message = sum(chunks[1:], chunks[0]).to_message()
    assert not rec.of_type(LLMError)
    (end,) = rec.of_type(LLMEnd)
    assert end.result.message == message
    (call,) = message.tool_calls
    assert (call.name, dict(call.args)) == ("get_weather", {"city": "Paris"})
    assert call.id
    assert message.finish_reason == "tool_calls"
    starts = [e for e in rec.of_type(BlockStart) if e.kind == "tool_call"]
    assert [(e.tool_name, e.id) for e in starts] == [("get_weather", call.id)]
    fragments = [e.delta for e in rec.of_type(BlockDelta) if e.block == starts[0].block]
    assert len(fragments) > 1  # streamed piece by piece, not whole
    assert json.loads("".join(fragments)) == {"city": "Paris"}
    (block_end,) = [e for e in rec.of_type(BlockEnd) if e.block == starts[0].block]
    assert block_end.content == call
    streamed = "".join(t.args_text or "" for c in chunks for t in c.tool_call_chunks)
    assert streamed == "".join(fragments)


def test_tool_loop_against_llama_server(base_model: ChatOpenAI) -> None:
    """The loop of examples/tool_loop.py with a real model: it asks for the tool, the
    tool runs as a run of its own, its ToolMessage goes back, the model answers from it;
    one trace, every run ended once."""
    model = base_model.bind_tools([get_weather])
    tools = {get_weather.name: get_weather}
    rec = RecordingHandler()
    replies: list[AIMessage] = []

    @traced(callbacks=[rec])
    def ask(question: tuple[str, str]) -> str:
        messages: list[Any] = [*FEW_SHOT, question]
        while (reply := model.invoke(messages)).tool_calls:
            replies.append(reply)
            messages.append(reply)
            messages += [tools[call.name].invoke(call) for call in reply.tool_calls]
        replies.append(reply)
        return reply.text

    answer = ask(QUESTION)
    assert [len(r.tool_calls) for r in replies] == [1, 0]
    assert replies[0].tool_calls[0] == ToolCall(
        id=replies[0].tool_calls[0].id, name="get_weather", args={"city": "Paris"}
    )
    assert "22 C and sunny in Paris" in answer  # the answer comes from the tool's result
    (chain_end,) = rec.of_type(ChainEnd)
    (tool_start,) = rec.of_type(ToolStart)
    (tool_end,) = rec.of_type(ToolEnd)
    assert tool_start.name == "get_weather"
    assert tool_start.tool_call_id == replies[0].tool_calls[0].id
    assert dict(tool_start.args) == {"city": "Paris"}
    assert tool_end.output == "22 C and sunny in Paris"
    llm_ends = rec.of_type(LLMEnd)
    assert len(llm_ends) == 2
    assert not rec.of_type(LLMError)
    # Both model calls and the tool run are children of the one traced run.
    children = {e.run_id: e.parent_run_id for e in [*llm_ends, tool_end]}
    assert set(children.values()) == {chain_end.run_id}
