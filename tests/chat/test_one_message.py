"""One input Message class for text and chat models (DESIGN.md section 11)."""

from __future__ import annotations

from streamllm import FakeListLLM, Message, parse_event
from streamllm.chat import AIMessage, TextBlock, ToolCall, inputs
from streamllm.events import LLMStart
from streamllm.messages import to_messages
from streamllm.testing import RecordingHandler


def test_messages_and_chat_inputs_are_one_class() -> None:
    """streamllm.Message is the chat input Message; to_messages accepts the chat shapes."""
    assert Message is inputs.Message
    answer = AIMessage(
        content_blocks=(TextBlock(text="Let me look."), ToolCall(id="c1", name="f", args={}))
    )
    msgs = to_messages(
        [
            ("system", "Be brief."),
            ("human", "Weather?"),
            answer,
            {"role": "tool", "content": "3 C", "tool_call_id": "c1"},
        ]
    )
    assert [m.role for m in msgs] == ["system", "user", "assistant", "tool"]
    assert msgs[2].text == "Let me look."
    assert msgs[2].tool_calls == (ToolCall(id="c1", name="f", args={}),)


def test_a_text_model_takes_the_new_shapes_and_records_them() -> None:
    """A text model reads the messages' text; LLMStart carries them and replays equal."""
    recorder = RecordingHandler()
    model = FakeListLLM(responses=["ok"])
    conversation = [("human", "hi"), ("ai", "hello"), ("user", "again")]
    out = model.invoke(conversation, callbacks=[recorder])
    assert out == "ok"
    start = recorder.events[0]
    assert isinstance(start, LLMStart)
    assert start.messages is not None
    assert [m.role for m in start.messages] == ["user", "assistant", "user"]
    assert parse_event(start.model_dump_json()) == start
    # A plain message dumps as {"role", "content"}, the shape recordings always had.
    assert start.messages[0].model_dump() == {"role": "user", "content": "hi"}
