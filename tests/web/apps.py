"""The apps the web tests serve: a scripted model whose answer depends on the prompt.

``python -m uvicorn --factory tests.web.apps:make_app`` builds one from the
environment (token, heartbeat, stall timeout), so a real uvicorn process in
the tests runs exactly what the ASGI tests run in-process.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

from starlette.applications import Starlette

from streamllm.models.base import BaseLLM
from streamllm.models.fake import split_words
from streamllm.outputs import GenerationChunk
from streamllm.request import Request
from streamllm.web import create_app

FOX = "The quick brown fox jumps over the lazy dog. " * 3
XSS = 'Look: <img src=x onerror="window.__pwned=1"> and <script>window.__pwned=2</script> done.'
SLOW = " ".join(f"word{i}" for i in range(60))
# Tokens of about a kilobyte: a client that never reads fills its socket quickly.
BIG = [f"{i:05d}" + "x" * 1000 for i in range(6000)]


def script(prompt: str) -> tuple[list[str], float]:
    """The tokens and the pause before each, by the prompt's first word."""
    first = prompt.split(maxsplit=1)[0].lower() if prompt.strip() else ""
    if first == "slow":
        return split_words(SLOW), 0.06
    if first == "xss":
        return split_words(XSS), 0.02
    if first == "pause":
        return split_words("one two three"), 0.5
    if first == "big":
        return BIG, 0.0
    if first == "fail":
        raise RuntimeError("the scripted model failed")
    return split_words(FOX), 0.03


class ScriptedLLM(BaseLLM):
    """Streams the answer :func:`script` picks for the prompt."""

    provider: ClassVar[str] = "scripted"
    hidden_params: ClassVar[frozenset[str]] = frozenset({"pace"})
    model: str = "scripted"
    #: Multiplies every pause: in-process tests run the scripts faster.
    pace: float = 1.0

    def _prompt(self, request: Request) -> str:
        if request.prompt is not None:
            return request.prompt
        return (request.messages or ())[-1].content

    def _stream(self, request: Request) -> Iterator[GenerationChunk]:
        tokens, delay = script(self._prompt(request))
        delay *= self.pace
        for token in tokens:
            if delay:
                time.sleep(delay)
            yield GenerationChunk(token)
        yield GenerationChunk("", finish_reason="stop")

    async def _astream(self, request: Request) -> AsyncIterator[GenerationChunk]:
        prompt = self._prompt(request)
        if prompt.startswith("burst"):
            # A pause for clients to attach, then every token in one go (no await
            # between them): the bus and the fanout get them as one burst.
            await asyncio.sleep(0.2)
            for token in split_words(FOX):
                yield GenerationChunk(token)
            yield GenerationChunk("", finish_reason="stop")
            return
        tokens, delay = script(prompt)
        delay *= self.pace
        for token in tokens:
            if delay:
                await asyncio.sleep(delay)
            yield GenerationChunk(token)
        yield GenerationChunk("", finish_reason="stop")


REASONING = "The user asks about the weather in Oslo, so I should call the weather tool."
ANSWER = "Let me check the weather in Oslo for you."
TOOL_ARGS = {"city": "Oslo", "unit": "celsius", "days": 3}
CHAT_SCRIPT = {
    "reasoning": REASONING,
    "text": ANSWER,
    "tool_calls": [{"id": "call_oslo", "name": "get_weather", "args": TOOL_ARGS}],
    "usage": {
        "prompt_tokens": 21,
        "completion_tokens": 48,
        "total_tokens": 69,
        "source": "provider",
    },
}


def make_chat_app(delay: float = 0.03, **overrides: Any) -> Starlette:
    """The app on a FakeChatModel answering with reasoning, text and a tool call."""
    from streamllm.models.fake_chat import FakeChatModel

    model = FakeChatModel(responses=[CHAT_SCRIPT], delay=delay, args_fragment=6)
    return create_app(model, heartbeat=0.3, **overrides)


def make_app(pace: float = 1.0, **overrides: Any) -> Starlette:
    """The app under test; settings from ``STREAMLLM_WEB_*`` variables, then ``overrides``."""
    settings: dict[str, Any] = {
        "token": os.environ.get("STREAMLLM_WEB_TOKEN") or None,
        "heartbeat": float(os.environ.get("STREAMLLM_WEB_HEARTBEAT", "0.3")),
        "stall_timeout": float(os.environ.get("STREAMLLM_WEB_STALL", "1.0")),
        "client_buffer": int(os.environ.get("STREAMLLM_WEB_BUFFER", "64")),
    }
    settings.update(overrides)
    bus = None
    if os.environ.get("STREAMLLM_WEB_BUS"):
        from streamllm.bus import RedisBus

        bus = RedisBus(os.environ["STREAMLLM_WEB_BUS"])
    return create_app(ScriptedLLM(pace=pace), bus, **settings)
