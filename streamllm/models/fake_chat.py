"""FakeChatModel: scripted chat answers (text, reasoning, tool calls) for tests and the tour."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from pydantic import Field, PrivateAttr, field_validator

from streamllm.chat._args import tool_block
from streamllm.chat.blocks import Block, ReasoningBlock, TextBlock
from streamllm.chat.deltas import ChatDelta
from streamllm.chat.message import AIMessage
from streamllm.chat.script import deltas_for
from streamllm.models._stop import cut_deltas
from streamllm.models.chat import BaseChatModel
from streamllm.request import Request
from streamllm.usage import FinishReason, TokenUsage

__all__ = ["FakeChatModel", "scripted_message"]

#: One scripted answer: a message, its text, a script dict, or the raw deltas to stream.
Response = AIMessage | str | Mapping[str, Any] | Sequence[ChatDelta]

_SCRIPT_KEYS = frozenset({"reasoning", "text", "tool_calls", "usage", "finish_reason", "id"})


def scripted_message(script: Mapping[str, Any]) -> AIMessage:
    """The message a script dict describes: ``reasoning`` (str), then ``text``
    (str), then ``tool_calls`` (each ``{"name", "args": {...}}`` or, for
    arguments that are not a JSON object, ``{"name", "args_text": "..."}``; ``id``
    optional, ``call_<n>`` by default), and ``usage``/``finish_reason``/``id``.

    >>> m = scripted_message({"text": "Looking.", "tool_calls": [{"name": "f", "args": {"x": 1}}]})
    >>> [b.type for b in m.content_blocks], m.finish_reason
    (['text', 'tool_call'], 'tool_calls')
    """
    unknown = set(script) - _SCRIPT_KEYS
    if unknown:
        raise ValueError(f"unknown script keys {sorted(unknown)}: use {sorted(_SCRIPT_KEYS)}")
    blocks: list[Block] = []
    if script.get("reasoning"):
        blocks.append(ReasoningBlock(text=script["reasoning"]))
    if script.get("text"):
        blocks.append(TextBlock(text=script["text"]))
    for call in script.get("tool_calls", ()):
        args_text = call.get("args_text")
        if args_text is None:
            args_text = json.dumps(call.get("args", {}))
        blocks.append(tool_block(call.get("id") or f"call_{len(blocks)}", call["name"], args_text))
    finish: FinishReason = script.get("finish_reason") or (
        "tool_calls" if script.get("tool_calls") else "stop"
    )
    usage = script.get("usage")
    return AIMessage(
        id=script.get("id"),
        content_blocks=tuple(blocks),
        usage=TokenUsage.model_validate(usage) if isinstance(usage, Mapping) else usage,
        finish_reason=finish,
        response_metadata={"finish_reason": finish},
    )


class FakeChatModel(BaseChatModel):
    """Answers with its responses in turn, streamed as a provider would.

    A response is an :class:`AIMessage`, a str (one text block), a script dict
    (see :func:`scripted_message`: reasoning, text, tool calls with valid or
    invalid arguments), or a list of :class:`ChatDelta`\\ s streamed as given.
    Text and reasoning stream word by word, tool-call arguments in
    ``args_fragment``-character pieces; with ``interleave=True`` the fragments
    of consecutive tool calls alternate, as parallel calls do on the wire.
    ``delay`` is slept before each delta; ``usage``, when given, is reported
    for answers that carry none.

    >>> model = FakeChatModel(responses=[{"reasoning": "2+2 is 4.", "text": "4"}])
    >>> answer = model.invoke("What is 2+2?")
    >>> answer.reasoning, answer.text
    ('2+2 is 4.', '4')
    """

    provider: ClassVar[str] = "fake"
    hidden_params: ClassVar[frozenset[str]] = BaseChatModel.hidden_params | {
        "responses",
        "usage",
        "delay",
        "args_fragment",
        "interleave",
    }

    responses: list[Any] = Field(min_length=1)
    model: str = "fake-chat"
    usage: TokenUsage | None = None
    delay: float = Field(default=0.0, ge=0.0)
    args_fragment: int = Field(default=8, ge=1, strict=True)
    interleave: bool = Field(default=False, strict=True)

    _counter: Iterator[int] = PrivateAttr(default_factory=itertools.count)
    _scripts: tuple[tuple[ChatDelta, ...], ...] = PrivateAttr(default=())

    @field_validator("responses")
    @classmethod
    def _known_shapes(cls, value: list[Any]) -> list[Any]:
        for i, response in enumerate(value):
            if not isinstance(response, AIMessage | str | Mapping | list | tuple):
                raise ValueError(
                    f"response {i} is a {type(response).__name__}: give an AIMessage, a str, "
                    "a script dict or a list of ChatDelta"
                )
        return value

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        # Scripted once: every call replays the same deltas.
        self._scripts = tuple(tuple(self._deltas(r)) for r in self.responses)

    def _deltas(self, response: Any) -> list[ChatDelta]:
        if isinstance(response, list | tuple):
            return [ChatDelta(*d) if not isinstance(d, ChatDelta) else d for d in response]
        if isinstance(response, str):
            message = AIMessage(
                content_blocks=(TextBlock(text=response),) if response else (),
                finish_reason="stop",
                response_metadata={"finish_reason": "stop"},
            )
        elif isinstance(response, Mapping):
            message = scripted_message(response)
        else:
            message = response
        if message.usage is None and self.usage is not None:
            message = message.model_copy(update={"usage": self.usage})
        return deltas_for(message, args_fragment=self.args_fragment, interleave=self.interleave)

    def _next(self, request: Request) -> Sequence[ChatDelta]:
        # next() on itertools.count is atomic: safe from many threads.
        counter = self.__pydantic_private__["_counter"]  # type: ignore[index]
        scripts = self.__pydantic_private__["_scripts"]  # type: ignore[index]
        script: tuple[ChatDelta, ...] = scripts[next(counter) % len(scripts)]
        stop = request.params.get("stop")
        # Cut at the first stop sequence, as a provider stops generating there.
        return cut_deltas(script, stop) if stop else script

    def _stream(self, request: Request) -> Iterator[ChatDelta]:
        delay = self.delay
        for delta in self._next(request):
            if delay:
                time.sleep(delay)
            yield delta

    async def _astream(self, request: Request) -> AsyncIterator[ChatDelta]:
        delay = self.delay
        for delta in self._next(request):
            if delay:
                await asyncio.sleep(delay)
            yield delta
