"""from_langchain on streamllm's own chat model and tools, as LangChain handlers see them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk

from streamllm import FakeChatModel, ToolCall, traced
from streamllm.integrations.langchain import from_langchain
from streamllm.tools import tool
from tests.integrations.conftest import CallRecorder

SCRIPT = {
    "reasoning": "Paris, likely.",
    "text": "Let me check.",
    "tool_calls": [{"id": "call_1", "name": "weather", "args": {"city": "Paris"}}],
}


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_a_streamed_chat_answer_adds_up_to_langchains_message(recorder: Any, mode: str) -> None:
    """A FakeChatModel stream with reasoning, text and a tool call: the
    LangChain handler's chunks (sync or async handler, sync or async stream)
    add up, LangChain's way, to the text and the tool call, and on_llm_end's
    message has them too."""
    model = FakeChatModel(responses=[SCRIPT])
    callbacks = [from_langchain(recorder)]
    if mode == "stream":
        chunks = list(model.stream("Weather?", callbacks=callbacks))
    else:

        async def collect() -> list[Any]:
            return [c async for c in model.astream("Weather?", callbacks=callbacks)]

        chunks = asyncio.run(collect())
    assert sum(chunks[1:], chunks[0]).text == "Let me check."
    streamed = [kw["chunk"].message for _, kw in recorder.of("on_llm_new_token")]
    total: AIMessageChunk = streamed[0]
    for chunk in streamed[1:]:
        total = total + chunk
    assert total.text == "Let me check."
    assert total.tool_calls == [
        {"name": "weather", "args": {"city": "Paris"}, "id": "call_1", "type": "tool_call"}
    ]
    reasoning = [
        b["reasoning"]
        for m in streamed
        if isinstance(m.content, list)
        for b in m.content
        if b.get("type") == "reasoning"
    ]
    assert "".join(reasoning) == "Paris, likely."
    (response,), _ = recorder.of("on_llm_end")[0]
    final = response.generations[0][0].message
    assert final.tool_calls == total.tool_calls
    assert final.response_metadata["finish_reason"] == "tool_calls"


def test_a_tool_run_reaches_langchains_tool_hooks() -> None:
    """A streamllm tool run under a traced block: on_tool_start with the
    tool's name, inputs and tool_call_id, on_tool_end with its output, the
    chain as its parent."""

    @tool
    def weather(city: str) -> str:
        """The weather in a city."""
        return f"22 C in {city}"

    recorder = CallRecorder()
    with traced("loop", callbacks=[from_langchain(recorder)]):
        weather.invoke(ToolCall(id="call_1", name="weather", args={"city": "Paris"}))
    assert recorder.names() == ["on_chain_start", "on_tool_start", "on_tool_end", "on_chain_end"]
    (serialized, _), start = recorder.of("on_tool_start")[0]
    _, chain = recorder.of("on_chain_start")[0]
    assert serialized["name"] == "weather"
    assert start["inputs"] == {"city": "Paris"}
    assert start["tool_call_id"] == "call_1"
    assert start["parent_run_id"] == chain["run_id"]
    (output,), _ = recorder.of("on_tool_end")[0]
    assert output == "22 C in Paris"
