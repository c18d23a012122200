"""OpenAI and any OpenAI-compatible server: ``/v1/completions`` and ``/v1/chat/completions``.

``base_url`` follows the OpenAI SDK's convention and ends in ``/v1``, so the
same value works for vLLM, llama.cpp's ``llama-server``, LM Studio or a hosted
compatible API. The stream is Server-Sent Events ending in ``data: [DONE]``;
usage arrives in a last chunk whose ``choices`` is empty. :class:`OpenAI` is a
text model (chunks of text); :class:`ChatOpenAI` a chat model whose frames
become deltas through :func:`~streamllm.chat.wire_openai.openai_deltas`
(text, ``reasoning_content``/``reasoning``, tool-call fragments by index).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Literal, final

from pydantic import BaseModel, Field, SecretStr

from streamllm.chat.deltas import ChatDelta
from streamllm.chat.wire_openai import (
    openai_deltas,
    openai_messages,
    openai_tool_choice,
    openai_tools,
)
from streamllm.errors import StreamProtocolError
from streamllm.http.errors import load_frame, scan_json, stream_error
from streamllm.http.parser import FrameParser, HTTPRequest
from streamllm.http.slot import StringSlot, scanstring
from streamllm.http.sse import SSEDecoder, SSEEvent
from streamllm.models.http import HTTPChatProvider, HTTPProvider
from streamllm.outputs import GenerationChunk, TokenUsage
from streamllm.request import Request

__all__ = ["ChatOpenAI", "OpenAI"]

_PARAMS = ("max_tokens", "temperature", "top_p", "stop")
_new = tuple.__new__
_NO_FIELDS = (None,) * (len(ChatDelta._fields) - 2)


def _usage(data: Any) -> TokenUsage | None:
    if not isinstance(data, dict):
        return None
    return TokenUsage.of(
        data.get("prompt_tokens"),
        data.get("completion_tokens"),
        "provider",
        data.get("total_tokens"),
    )


@final
class _Parser(FrameParser[GenerationChunk]):
    """OpenAI's SSE frames to chunks; the usage goes on a last empty chunk."""

    __slots__ = ("_provider", "_usage")

    def __init__(self, provider: str) -> None:
        super().__init__(SSEDecoder())
        self._provider = provider
        self._usage: TokenUsage | None = None

    def _frame(self, event: SSEEvent, out: list[GenerationChunk]) -> None:
        kind, payload, _, _ = event  # a tuple: unpacking beats two attribute reads
        if payload == "[DONE]":
            self.done = True
            if self._usage is not None:
                out.append(GenerationChunk(usage=self._usage))
            return
        try:  # load_frame's fast path, inline: this runs once per token
            frame, end = scan_json(payload, 0)
        except (ValueError, StopIteration):
            end = -1
        if end != len(payload) or type(frame) is not dict:
            frame = load_frame(payload, self._provider)
        if kind == "error" or "error" in frame:
            raise stream_error(self._provider, frame.get("error", frame))
        choices = frame.get("choices")
        if choices:
            choice = choices[0]
            text = choice.get("text")
            finish = choice.get("finish_reason")
            logprobs = choice.get("logprobs")
            if finish is None and logprobs is None:
                if text:  # the common frame: one token, nothing else
                    out.append(GenerationChunk(text))
            elif text or finish or logprobs:
                out.append(
                    GenerationChunk(
                        text or "",
                        finish_reason=finish,
                        extras={"logprobs": logprobs} if logprobs else None,
                    )
                )
        usage = frame.get("usage")
        if usage:
            self._usage = _usage(usage)

    def end(self) -> list[GenerationChunk]:
        return _ended(self.done, self._provider)


def _ended(done: bool, provider: str) -> list[Any]:
    if not done:
        raise StreamProtocolError(f"{provider}: the stream ended without [DONE]")
    return []


@final
class _ChatParser(FrameParser[ChatDelta]):
    """OpenAI's chat SSE frames to deltas (usage, reasoning and tool calls included)."""

    __slots__ = ("_provider", "_slot")

    def __init__(self, provider: str) -> None:
        super().__init__(SSEDecoder())
        self._provider = provider
        self._slot = StringSlot("content")

    def _frames(self, events: Iterable[SSEEvent], out: list[ChatDelta]) -> None:
        # One loop per read, no call per frame for the common one: a frame
        # whose delta is only content, with no finish reason and no usage,
        # is one text delta (what openai_deltas makes of it). Once one such
        # frame was read, a frame in the same envelope is read through the
        # slot without a JSON parse (see streamllm.http.slot: it is exact).
        provider = self._provider
        append = out.append
        slot = self._slot
        head, tail, cut = slot.head, slot.tail, slot.tail_length
        hits = 0
        for kind, payload, _, _ in events:
            if (
                head is not None
                and payload.startswith(head)
                and payload.endswith(tail)
                and kind != "error"
            ):
                try:
                    token, end = scanstring(payload, len(head))
                except ValueError:
                    end = -1
                if end == len(payload) - cut:
                    hits += 1
                    if token:
                        append(_new(ChatDelta, ("text", token, *_NO_FIELDS)))
                    continue
            if payload == "[DONE]":
                self.done = True
                break
            try:  # load_frame's fast path, inline
                frame, end = scan_json(payload, 0)
            except (ValueError, StopIteration):
                end = -1
            if end != len(payload) or type(frame) is not dict:
                frame = load_frame(payload, provider)
            if kind == "error" or "error" in frame:
                raise stream_error(provider, frame.get("error", frame))
            choices = frame.get("choices")
            if type(choices) is list and choices and not frame.get("usage"):
                choice = choices[0]
                if type(choice) is dict and choice.get("finish_reason") is None:
                    delta = choice.get("delta")
                    if type(delta) is dict and len(delta) == 1:
                        content = delta.get("content")
                        if type(content) is str:
                            if content:
                                append(_new(ChatDelta, ("text", content, *_NO_FIELDS)))
                            if slot.learn(payload, content):
                                head, tail, cut = slot.head, slot.tail, slot.tail_length
                            continue
            out += openai_deltas(frame)
        slot.hits += hits

    def end(self) -> list[ChatDelta]:
        return _ended(self.done, self._provider)


class _OpenAIWire(BaseModel):
    """What the text and chat models share: the key, the options, the common body."""

    provider: ClassVar[str] = "openai"
    vendor_host: ClassVar[str | None] = "api.openai.com"
    api_key_env: ClassVar[str | None] = "OPENAI_API_KEY"

    base_url: str = "https://api.openai.com/v1"
    if TYPE_CHECKING:  # fields and properties of the HTTPTransport / model it is mixed into
        api_key: SecretStr | None = None

        @property
        def model_name(self) -> str: ...

    #: Ask for usage while streaming (``stream_options.include_usage``); turn
    #: it off for a server that rejects the option.
    stream_usage: bool = Field(default=True, strict=True)
    #: Extra body fields sent as they are (``{"seed": 1}``, ``{"logprobs": true}``...).
    extra_body: dict[str, Any] | None = Field(default=None)

    def _headers(self) -> dict[str, str]:
        headers = {"accept": "text/event-stream"}
        if self.api_key is not None:
            headers["authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        return headers

    def _body(self, request: Request) -> dict[str, Any]:
        params = request.params
        body: dict[str, Any] = {"model": self.model_name, "stream": True}
        for name in _PARAMS:
            value = params.get(name)
            if value is not None:
                body[name] = value
        if self.stream_usage:
            body["stream_options"] = {"include_usage": True}
        if self.extra_body:
            body.update(self.extra_body)
        return body


class OpenAI(_OpenAIWire, HTTPProvider):
    """OpenAI's legacy completions endpoint (``/v1/completions``): a prompt in, text out.

    >>> model = OpenAI(model="gpt-3.5-turbo-instruct", api_key="sk-...")  # doctest: +SKIP
    >>> for token in model.stream("Tell me a joke."):  # doctest: +SKIP
    ...     print(token, end="")
    """

    hidden_params: ClassVar[frozenset[str]] = HTTPProvider.hidden_params | {"stream_usage"}
    model: str = "gpt-3.5-turbo-instruct"

    def _http_request(self, request: Request) -> HTTPRequest:
        body = self._body(request)
        body["prompt"] = request.as_prompt()
        return HTTPRequest("/completions", body, self._headers())

    def _parser(self, request: Request) -> _Parser:
        return _Parser(self.provider)


class ChatOpenAI(_OpenAIWire, HTTPChatProvider):
    """OpenAI chat completions (``/v1/chat/completions``), or any compatible server.

    Answers with an :class:`~streamllm.chat.message.AIMessage`: text,
    reasoning (``delta.reasoning_content`` of llama-server, vLLM, DeepSeek;
    ``delta.reasoning`` of OpenRouter) and tool calls; tools bound with
    ``bind_tools`` are sent as ``tools``/``tool_choice``.

    >>> model = ChatOpenAI(base_url="http://127.0.0.1:8080/v1", model="local")  # doctest: +SKIP
    >>> model.invoke([{"role": "user", "content": "Hi"}]).text  # doctest: +SKIP
    """

    hidden_params: ClassVar[frozenset[str]] = HTTPChatProvider.hidden_params | {"stream_usage"}
    model: str = "gpt-4o-mini"
    #: o-series / reasoning models' effort (sent as ``reasoning_effort``).
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None

    def _http_request(self, request: Request) -> HTTPRequest:
        body = self._body(request)
        body["messages"] = openai_messages(request.as_messages())
        if request.tools:
            body["tools"] = openai_tools(request.tools)
            choice = openai_tool_choice(request.tool_choice)
            if choice is not None:
                body["tool_choice"] = choice
        if self.reasoning_effort is not None:
            body["reasoning_effort"] = self.reasoning_effort
        return HTTPRequest("/chat/completions", body, self._headers())

    def _parser(self, request: Request) -> _ChatParser:
        return _ChatParser(self.provider)
