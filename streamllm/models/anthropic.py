"""ChatAnthropic: Anthropic's Messages API (``/v1/messages``), streamed as SSE.

``base_url`` is the host root, as in Anthropic's SDK. The stream is
``message_start`` (input tokens), ``content_block_delta`` (text),
``message_delta`` (stop reason and the cumulative output tokens),
``message_stop``; ``ping`` may come at any time and ``error`` ends the stream.
"""

from __future__ import annotations

from typing import Any, ClassVar, final

from streamllm.errors import StreamProtocolError
from streamllm.http.errors import load_frame, stream_error
from streamllm.http.parser import FrameParser, HTTPRequest
from streamllm.http.sse import SSEDecoder, SSEEvent
from streamllm.models.http import HTTPProvider
from streamllm.outputs import GenerationChunk, TokenUsage
from streamllm.request import Request

__all__ = ["ChatAnthropic"]

#: The API version sent in the ``anthropic-version`` header.
ANTHROPIC_VERSION = "2023-06-01"
# The Messages API requires max_tokens; this is used when the model sets none.
_DEFAULT_MAX_TOKENS = 1024


@final
class _Parser(FrameParser):
    __slots__ = ("_input", "_output")

    def __init__(self) -> None:
        super().__init__(SSEDecoder())
        self._input: int | None = None
        self._output: int | None = None

    def _frame(self, event: SSEEvent, out: list[GenerationChunk]) -> None:
        frame = load_frame(event.data, "anthropic")
        kind = frame.get("type") or event.event
        if kind == "content_block_delta":
            delta = frame.get("delta") or {}
            text = delta.get("text")
            if text and delta.get("type", "text_delta") == "text_delta":
                out.append(GenerationChunk(text))
        elif kind == "message_delta":
            self._read_usage(frame.get("usage"))
            stop = (frame.get("delta") or {}).get("stop_reason")
            if stop:
                out.append(GenerationChunk(finish_reason=stop))
        elif kind == "message_start":
            self._read_usage((frame.get("message") or {}).get("usage"))
        elif kind == "message_stop":
            self.done = True
            if self._input is not None or self._output is not None:
                usage = TokenUsage.of(self._input, self._output, "provider")
                out.append(GenerationChunk(usage=usage))
        elif kind == "error":
            raise stream_error("anthropic", frame.get("error", frame))
        # ping, content_block_start/stop and event types added later: nothing to do

    def _read_usage(self, usage: Any) -> None:
        # message_delta's counts are cumulative: the latest value is the total.
        if isinstance(usage, dict):
            if usage.get("input_tokens") is not None:
                self._input = usage["input_tokens"]
            if usage.get("output_tokens") is not None:
                self._output = usage["output_tokens"]

    def end(self) -> list[GenerationChunk]:
        if not self.done:
            raise StreamProtocolError("anthropic: the stream ended without message_stop")
        return []


class ChatAnthropic(HTTPProvider):
    """Claude through Anthropic's Messages API.

    System messages go in the request's ``system`` field; ``max_tokens`` is
    required by the API and defaults to 1024.

    >>> model = ChatAnthropic(model="claude-3-5-haiku-latest")  # doctest: +SKIP
    >>> model.invoke("Tell me a joke.")  # doctest: +SKIP
    """

    provider: ClassVar[str] = "anthropic"
    vendor_host: ClassVar[str | None] = "api.anthropic.com"
    api_key_env: ClassVar[str | None] = "ANTHROPIC_API_KEY"
    hidden_params: ClassVar[frozenset[str]] = HTTPProvider.hidden_params | {"anthropic_version"}

    base_url: str = "https://api.anthropic.com"
    model: str = "claude-3-5-haiku-latest"
    anthropic_version: str = ANTHROPIC_VERSION

    def _http_request(self, request: Request) -> HTTPRequest:
        params = request.params
        system = [m.text for m in request.as_messages() if m.role == "system"]
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": params.get("max_tokens") or _DEFAULT_MAX_TOKENS,
            "messages": [
                {"role": m.role, "content": m.text}
                for m in request.as_messages()
                if m.role != "system"
            ],
            "stream": True,
        }
        if system:
            body["system"] = "\n\n".join(system)
        for name in ("temperature", "top_p"):
            if params.get(name) is not None:
                body[name] = params[name]
        if params.get("stop"):
            body["stop_sequences"] = params["stop"]
        headers = {"accept": "text/event-stream", "anthropic-version": self.anthropic_version}
        if self.api_key is not None:
            headers["x-api-key"] = self.api_key.get_secret_value()
        return HTTPRequest("/v1/messages", body, headers)

    def _parser(self, request: Request) -> _Parser:
        return _Parser()
