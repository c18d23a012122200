"""ChatOllama (/api/chat) over httpx.MockTransport: thinking, whole tool calls, tools sent."""

from __future__ import annotations

import json
from typing import Any

from streamllm.models.ollama import ChatOllama
from tests.models.test_anthropic_chat import client
from tests.models.test_openai_chat import weather


def test_ollama_chat_thinking_and_whole_tool_calls() -> None:
    lines = [
        {"message": {"role": "assistant", "content": "", "thinking": "hmm"}, "done": False},
        {
            "message": {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"function": {"name": "weather", "arguments": {"city": "Oslo"}}}],
            },
            "done": False,
        },
        {
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 9,
            "eval_count": 4,
        },
    ]
    seen: list[dict[str, Any]] = []
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    model = ChatOllama(think=True, http_client=client(body, seen)).bind_tools([weather])
    message = model.invoke("Oslo?")
    assert message.reasoning == "hmm"
    assert [(c.name, c.args) for c in message.tool_calls] == [("weather", {"city": "Oslo"})]
    assert message.usage is not None
    assert message.usage.total_tokens == 13
    assert seen[0]["think"] is True
    assert seen[0]["tools"][0]["function"]["name"] == "weather"
    assert seen[0]["messages"] == [{"role": "user", "content": "Oslo?"}]
