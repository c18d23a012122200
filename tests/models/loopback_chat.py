"""What the loopback chat tests share: the three vendors' models on a script, and running them.

Each vendor gets a model pointed at a :class:`~tests.servers.vendor_server.Scripted`
answer; :func:`run` drives it one of four ways (``stream``/``invoke``, sync or
async) with a recorder and a collector, and returns what the caller got.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from streamllm.chat import AIMessage, AIMessageChunk
from streamllm.handlers import ResultCollector
from streamllm.models import ChatAnthropic, ChatOllama, ChatOpenAI
from streamllm.models.http import HTTPChatProvider
from streamllm.testing import RecordingHandler
from tests.servers import vendor_streams as streams
from tests.servers.vendor_server import Scripted

MODES = ["stream", "invoke", "astream", "ainvoke"]
PROMPT = [("system", "Be brief."), ("user", "Weather in Paris and London?")]


def weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city's name.
    """
    return city


def openai(script: Scripted, **fields: Any) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=script.openai_url, api_key="sk-test", model="gpt-x", retry_base_delay=0.0, **fields
    )


def anthropic(script: Scripted, **fields: Any) -> ChatAnthropic:
    return ChatAnthropic(base_url=script.url, api_key="sk-ant-test", retry_base_delay=0.0, **fields)


def ollama(script: Scripted, **fields: Any) -> ChatOllama:
    return ChatOllama(base_url=script.url, model="qwen3", retry_base_delay=0.0, **fields)


@dataclass(frozen=True)
class Vendor:
    """A vendor: its name, its scripted answer, and its model on a script."""

    name: str
    frames: Callable[[], list[dict[str, Any]]]
    model: Callable[..., HTTPChatProvider]


VENDORS = {
    "openai": Vendor("openai", streams.openai_frames, openai),
    "anthropic": Vendor("anthropic", streams.anthropic_frames, anthropic),
    "ollama": Vendor("ollama", streams.ollama_frames, ollama),
}


@dataclass
class Outcome:
    """What one run gave: the message (the chunks' sum when streamed), the chunks,
    the error raised, and the handlers' records."""

    message: AIMessage | None
    chunks: list[AIMessageChunk]
    error: Exception | None
    recorder: RecordingHandler
    collector: ResultCollector


def received(chunks: list[AIMessageChunk]) -> AIMessage:
    """The message the chunks add up to."""
    total: AIMessageChunk = sum(chunks, AIMessageChunk(()))
    return total.to_message()


async def run(model: HTTPChatProvider, mode: str, prompt: Any = PROMPT) -> Outcome:
    """Run ``model`` on ``prompt`` one of the four ways; never raises."""
    recorder, collector = RecordingHandler(), ResultCollector()
    handlers = [recorder, collector]
    chunks: list[AIMessageChunk] = []
    message: AIMessage | None = None
    error: Exception | None = None
    try:
        if mode == "invoke":
            message = model.invoke(prompt, callbacks=handlers)
        elif mode == "ainvoke":
            message = await model.ainvoke(prompt, callbacks=handlers)
        elif mode == "stream":
            for chunk in model.stream(prompt, callbacks=handlers):
                chunks.append(chunk)
        else:
            async with aclosing(model.astream(prompt, callbacks=handlers)) as stream:
                async for chunk in stream:
                    chunks.append(chunk)
    except Exception as exc:
        error = exc
    if mode in ("stream", "astream") and error is None:
        message = received(chunks)
    return Outcome(message, chunks, error, recorder, collector)


async def run_once(model: HTTPChatProvider, mode: str, prompt: Any = PROMPT) -> Outcome:
    """:func:`run`, then close the model's clients."""
    try:
        return await run(model, mode, prompt)
    finally:
        await model.aclose()
