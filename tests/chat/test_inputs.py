"""Input messages: every accepted shape, and a ConfigurationError naming each bad one."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from streamllm.chat import (
    AIMessage,
    InvalidToolCall,
    Message,
    ReasoningBlock,
    TextBlock,
    ToolCall,
    to_chat_messages,
)
from streamllm.errors import ConfigurationError
from streamllm.messages import Message as TextModelMessage


def test_every_accepted_shape() -> None:
    """Dicts, tuples, aliases, Message models, the text-model Message and an AIMessage."""
    answer = AIMessage(content_blocks=[ReasoningBlock(text="r"), TextBlock(text="Hi")])
    out = to_chat_messages(
        [
            {"role": "system", "content": "S"},
            ("human", "U"),
            ("ai", "A"),
            Message(role="user", content=(TextBlock(text="B"),)),
            TextModelMessage(role="user", content="T"),
            answer,
        ]
    )
    assert [m.role for m in out] == ["system", "user", "assistant", "user", "user", "assistant"]
    assert [m.text for m in out] == ["S", "U", "A", "B", "T", "Hi"]
    assert out[-1].blocks == answer.content_blocks


@pytest.mark.parametrize(
    "calls",
    [
        [ToolCall(id="c1", name="f", args={"x": 1})],
        [{"id": "c1", "name": "f", "args": {"x": 1}}],
        [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}],
        [{"id": "c1", "function": {"name": "f", "arguments": {"x": 1}}}],
    ],
    ids=["ToolCall", "langchain", "openai", "ollama"],
)
def test_assistant_tool_calls_in_every_shape(calls: list[Any]) -> None:
    """An assistant's tool_calls join its blocks after the text, whatever their shape."""
    (m,) = to_chat_messages([{"role": "assistant", "content": "Calling.", "tool_calls": calls}])
    assert m.blocks == (TextBlock(text="Calling."), ToolCall(id="c1", name="f", args={"x": 1}))
    assert m.tool_calls == (ToolCall(id="c1", name="f", args={"x": 1}),)


def test_openai_arguments_that_do_not_parse_are_kept() -> None:
    """An OpenAI-shaped call with bad arguments stays, as an InvalidToolCall."""
    (m,) = to_chat_messages(
        [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
                ],
            }
        ]
    )
    (call,) = m.tool_calls
    assert isinstance(call, InvalidToolCall)
    assert call.args_text == "{oops"


def test_a_tool_message() -> None:
    """A tool message carries the id of the call it answers (and may name the tool)."""
    (m,) = to_chat_messages([{"role": "tool", "content": "42", "tool_call_id": "c1", "name": "f"}])
    assert (m.role, m.text, m.tool_call_id, m.name) == ("tool", "42", "c1", "f")


class _Odd(BaseModel):
    role: str
    content: str


@pytest.mark.parametrize(
    ("items", "match"),
    [
        ([], "empty"),
        (
            [("user", "ok"), {"role": "tool", "content": "x"}],
            "message 1 .*\\(tool\\).*tool_call_id",
        ),
        ([{"role": "user"}], "message 0 is not a valid message \\(user\\): Field required"),
        ([{"role": "robot", "content": "x"}], "message 0 has the unknown role 'robot'"),
        ([_Odd(role="wizard", content="x")], "unknown role 'wizard'"),
        ([("user", [{"type": "image_url", "url": "x"}])], "block 0 is of type 'image_url'"),
        (
            [("user", [ToolCall(id="c", name="f", args={})])],
            "a user message cannot hold a tool_call",
        ),
        (
            [("system", "a"), ("user", [ReasoningBlock(text="r")])],
            "message 1 .*cannot hold a reasoning",
        ),
        ([{"role": "user", "content": "x", "tool_call_id": "c"}], "only tool messages"),
        ([42], "message 0 is a int"),
        ("hello", "empty"),
    ],
)
def test_bad_messages_are_named(items: Any, match: str) -> None:
    """Each bad message is a ConfigurationError naming its position and what is wrong."""
    with pytest.raises(ConfigurationError, match=match):
        to_chat_messages(items)


def test_a_message_round_trips_through_json() -> None:
    """Block content survives model_dump_json and back."""
    m = Message(
        role="assistant", content=(TextBlock(text="a"), ToolCall(id="c", name="f", args={"k": [1]}))
    )
    assert Message.model_validate_json(m.model_dump_json()) == m
