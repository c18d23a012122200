"""ChatAnthropic: Anthropic's Messages API (``/v1/messages``), streamed as SSE.

``base_url`` is the host root, as in Anthropic's SDK. The stream is
``message_start`` (id, model, input tokens), per content block
``content_block_start`` / ``content_block_delta`` (``text_delta``,
``thinking_delta`` and ``signature_delta``, ``input_json_delta``) /
``content_block_stop``, then ``message_delta`` (stop reason, cumulative
output tokens) and ``message_stop``; ``ping`` may come at any time and
``error`` ends the stream. Frames become deltas through
:class:`~streamllm.chat.wire_anthropic.AnthropicStream`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self, final

from pydantic import Field, model_validator

from streamllm.chat.deltas import ChatDelta
from streamllm.chat.tools_schema import NamedTool, ToolChoice, ToolSpec
from streamllm.chat.wire_anthropic import (
    AnthropicStream,
    anthropic_messages,
    anthropic_tool_choice,
    anthropic_tools,
)
from streamllm.errors import ConfigurationError, StreamProtocolError
from streamllm.http.errors import load_frame, stream_error
from streamllm.http.parser import FrameParser, HTTPRequest
from streamllm.http.sse import SSEDecoder, SSEEvent
from streamllm.models.http import HTTPChatProvider
from streamllm.request import Request

__all__ = ["ANTHROPIC_VERSION", "ChatAnthropic"]

#: The API version sent in the ``anthropic-version`` header.
ANTHROPIC_VERSION = "2023-06-01"
# The Messages API requires max_tokens; this is used when the model sets none
# (added to the thinking budget, which max_tokens must exceed).
_DEFAULT_MAX_TOKENS = 1024
# The smallest thinking budget the API accepts.
_MIN_THINKING = 1024


@final
class _Parser(FrameParser[ChatDelta]):
    __slots__ = ("_stream",)

    def __init__(self) -> None:
        super().__init__(SSEDecoder())
        self._stream = AnthropicStream()

    def _frame(self, event: SSEEvent, out: list[ChatDelta]) -> None:
        frame = load_frame(event.data, "anthropic")
        kind = frame.get("type") or event.event
        if kind == "error":
            raise stream_error("anthropic", frame.get("error", frame))
        if kind == "message_stop":
            self.done = True
            return
        out += self._stream.deltas(frame)

    def end(self) -> list[ChatDelta]:
        if not self.done:
            raise StreamProtocolError("anthropic: the stream ended without message_stop")
        return []


class ChatAnthropic(HTTPChatProvider):
    """Claude through Anthropic's Messages API.

    System messages go in the request's ``system`` field; ``max_tokens`` is
    required by the API and defaults to 1024 (plus the thinking budget).
    ``thinking=N`` turns on extended thinking with a budget of N tokens
    (>= 1024): the reasoning streams as a reasoning block whose signature is
    kept, so the message can be sent back in a tool loop. Tools bound with
    ``bind_tools`` go as ``tools`` (``input_schema``) and ``tool_choice``
    (``auto``/``any``/``tool``/``none``); the API refuses a forced tool with
    thinking on, so ``bind_tools`` does too.

    >>> model = ChatAnthropic(model="claude-3-5-haiku-latest")  # doctest: +SKIP
    >>> model.invoke("Tell me a joke.").text  # doctest: +SKIP
    """

    provider: ClassVar[str] = "anthropic"
    vendor_host: ClassVar[str | None] = "api.anthropic.com"
    api_key_env: ClassVar[str | None] = "ANTHROPIC_API_KEY"
    hidden_params: ClassVar[frozenset[str]] = HTTPChatProvider.hidden_params | {"anthropic_version"}

    base_url: str = "https://api.anthropic.com"
    model: str = "claude-3-5-haiku-latest"
    anthropic_version: str = ANTHROPIC_VERSION
    #: Extended thinking's token budget (None: off).
    thinking: int | None = Field(default=None, ge=_MIN_THINKING, strict=True)

    @model_validator(mode="after")
    def _thinking_fits(self) -> Self:
        if self.thinking is not None:
            if self.max_tokens is not None and self.max_tokens <= self.thinking:
                raise ValueError(
                    f"max_tokens ({self.max_tokens}) must exceed the thinking budget "
                    f"({self.thinking})"
                )
            if self.temperature is not None and self.temperature != 1.0:
                raise ValueError("thinking cannot be combined with temperature (Anthropic)")
        return self

    def _check_tools(self, tools: tuple[ToolSpec, ...], tool_choice: ToolChoice | None) -> None:
        if self.thinking is not None and (
            tool_choice == "required" or isinstance(tool_choice, NamedTool)
        ):
            raise ConfigurationError(
                "ChatAnthropic: a forced tool_choice cannot be combined with thinking "
                "(use 'auto' or 'none', or thinking=None)"
            )

    def _http_request(self, request: Request) -> HTTPRequest:
        params = request.params
        system, messages = anthropic_messages(request.as_messages())
        max_tokens = params.get("max_tokens")
        if max_tokens is None:
            max_tokens = _DEFAULT_MAX_TOKENS + (self.thinking or 0)
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens,
            "messages": messages,
            "stream": True,
        }
        if system:
            body["system"] = system
        for name in ("temperature", "top_p"):
            if params.get(name) is not None:
                body[name] = params[name]
        if params.get("stop"):
            body["stop_sequences"] = params["stop"]
        if self.thinking is not None:
            body["thinking"] = {"type": "enabled", "budget_tokens": self.thinking}
        if request.tools:
            body["tools"] = anthropic_tools(request.tools)
            choice = anthropic_tool_choice(request.tool_choice)
            if choice is not None:
                body["tool_choice"] = choice
        headers = {"accept": "text/event-stream", "anthropic-version": self.anthropic_version}
        if self.api_key is not None:
            headers["x-api-key"] = self.api_key.get_secret_value()
        return HTTPRequest("/v1/messages", body, headers)

    def _parser(self, request: Request) -> _Parser:
        return _Parser()
