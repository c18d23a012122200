"""OpenAI and any OpenAI-compatible server: ``/v1/completions`` and ``/v1/chat/completions``.

``base_url`` follows the OpenAI SDK's convention and ends in ``/v1``, so the
same value works for vLLM, llama.cpp's ``llama-server``, LM Studio or a hosted
compatible API. The stream is Server-Sent Events ending in ``data: [DONE]``;
usage arrives in a last chunk whose ``choices`` is empty.
"""

from __future__ import annotations

from typing import Any, ClassVar, final

from pydantic import Field

from streamllm.errors import StreamProtocolError
from streamllm.http.errors import load_frame, raw_decode, stream_error
from streamllm.http.parser import FrameParser, HTTPRequest
from streamllm.http.sse import SSEDecoder, SSEEvent
from streamllm.models.http import HTTPProvider
from streamllm.outputs import GenerationChunk, TokenUsage
from streamllm.request import Request

__all__ = ["ChatOpenAI", "OpenAI"]

_PARAMS = ("max_tokens", "temperature", "top_p", "stop")


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
class _Parser(FrameParser):
    """OpenAI's SSE frames to chunks; the usage goes on a last empty chunk."""

    __slots__ = ("_chat", "_provider", "_usage")

    def __init__(self, chat: bool, provider: str) -> None:
        super().__init__(SSEDecoder())
        self._chat = chat
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
            frame, end = raw_decode(payload)
        except ValueError:
            end = -1
        if end != len(payload) or type(frame) is not dict:
            frame = load_frame(payload, self._provider)
        if kind == "error" or "error" in frame:
            raise stream_error(self._provider, frame.get("error", frame))
        choices = frame.get("choices")
        if choices:
            choice = choices[0]
            if self._chat:
                delta = choice.get("delta")
                text = delta.get("content") if delta else None
            else:
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
        if not self.done:
            raise StreamProtocolError(f"{self._provider}: the stream ended without [DONE]")
        return []


class _OpenAIBase(HTTPProvider):
    provider: ClassVar[str] = "openai"
    hidden_params: ClassVar[frozenset[str]] = HTTPProvider.hidden_params | {"stream_usage"}
    vendor_host: ClassVar[str | None] = "api.openai.com"
    api_key_env: ClassVar[str | None] = "OPENAI_API_KEY"
    _chat: ClassVar[bool] = True

    base_url: str = "https://api.openai.com/v1"
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

    def _parser(self, request: Request) -> _Parser:
        return _Parser(self._chat, self.provider)


class OpenAI(_OpenAIBase):
    """OpenAI's legacy completions endpoint (``/v1/completions``): a prompt in, text out.

    >>> model = OpenAI(model="gpt-3.5-turbo-instruct", api_key="sk-...")  # doctest: +SKIP
    >>> for token in model.stream("Tell me a joke."):  # doctest: +SKIP
    ...     print(token, end="")
    """

    _chat: ClassVar[bool] = False
    model: str = "gpt-3.5-turbo-instruct"

    def _http_request(self, request: Request) -> HTTPRequest:
        body = self._body(request)
        body["prompt"] = request.as_prompt()
        return HTTPRequest("/completions", body, self._headers())


class ChatOpenAI(_OpenAIBase):
    """OpenAI chat completions (``/v1/chat/completions``), or any compatible server.

    >>> model = ChatOpenAI(base_url="http://127.0.0.1:8080/v1", model="local")  # doctest: +SKIP
    >>> model.invoke([{"role": "user", "content": "Hi"}])  # doctest: +SKIP
    """

    model: str = "gpt-4o-mini"

    def _http_request(self, request: Request) -> HTTPRequest:
        body = self._body(request)
        body["messages"] = [{"role": m.role, "content": m.text} for m in request.as_messages()]
        return HTTPRequest("/chat/completions", body, self._headers())
