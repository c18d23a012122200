"""Ollama: a local model server's native API, streamed as NDJSON.

``base_url`` is the host root (``http://127.0.0.1:11434``), as in Ollama's own
client. A prompt goes to ``/api/generate`` and messages to ``/api/chat``
(``endpoint`` forces one). Each line is one JSON object; the last has
``"done": true`` with ``done_reason``, ``prompt_eval_count`` and ``eval_count``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, final

from streamllm.errors import StreamProtocolError
from streamllm.http.errors import load_frame, stream_error
from streamllm.http.ndjson import NDJSONDecoder
from streamllm.http.parser import FrameParser, HTTPRequest
from streamllm.models.http import HTTPProvider
from streamllm.outputs import GenerationChunk, TokenUsage
from streamllm.request import Request

__all__ = ["Ollama"]

# streamllm's parameter names to Ollama's "options" names.
_OPTIONS = {
    "max_tokens": "num_predict",
    "temperature": "temperature",
    "top_p": "top_p",
    "stop": "stop",
}


@final
class _Parser(FrameParser):
    __slots__ = ("_chat", "_ndjson")

    def __init__(self, chat: bool) -> None:
        self._ndjson = NDJSONDecoder()
        super().__init__(self._ndjson)
        self._chat = chat

    def _frame(self, line: bytes, out: list[GenerationChunk]) -> None:
        frame = load_frame(line, "ollama")
        if "error" in frame:
            raise stream_error("ollama", frame["error"])
        if self._chat:
            message = frame.get("message")
            text = message.get("content") if message else None
        else:
            text = frame.get("response")
        if frame.get("done"):
            self.done = True
            if text:
                out.append(GenerationChunk(text))
            prompt, completion = frame.get("prompt_eval_count"), frame.get("eval_count")
            usage = (
                TokenUsage.of(prompt, completion, "provider")
                if prompt is not None or completion is not None
                else None
            )
            out.append(GenerationChunk(finish_reason=frame.get("done_reason"), usage=usage))
        elif text:
            out.append(GenerationChunk(text))

    def end(self) -> list[GenerationChunk]:
        out: list[GenerationChunk] = []
        rest = self._ndjson.end()
        if rest is not None and not self.done:
            self._frame(rest, out)
        if not self.done:
            raise StreamProtocolError("ollama: the stream ended without its done line")
        return out


class Ollama(HTTPProvider):
    """A model served by Ollama (no key needed).

    >>> model = Ollama(model="llama3.2")  # doctest: +SKIP
    >>> model.invoke("Why is the sky blue?")  # doctest: +SKIP
    """

    provider: ClassVar[str] = "ollama"
    hidden_params: ClassVar[frozenset[str]] = HTTPProvider.hidden_params | {"endpoint"}

    base_url: str = "http://127.0.0.1:11434"
    model: str = "llama3.2"
    #: ``"auto"``: a prompt to /api/generate, messages to /api/chat.
    endpoint: Literal["auto", "chat", "generate"] = "auto"
    #: Extra Ollama ``options`` (``{"seed": 1, "num_ctx": 4096}``).
    options: dict[str, Any] | None = None

    def _is_chat(self, request: Request) -> bool:
        if self.endpoint == "auto":
            return request.messages is not None
        return self.endpoint == "chat"

    def _http_request(self, request: Request) -> HTTPRequest:
        params = request.params
        options = {
            ollama: params[ours]
            for ours, ollama in _OPTIONS.items()
            if params.get(ours) is not None
        }
        if self.options:
            options.update(self.options)
        body: dict[str, Any] = {"model": self.model, "stream": True}
        if options:
            body["options"] = options
        headers = {"accept": "application/x-ndjson"}
        if self.api_key is not None:  # an Ollama behind an authenticating proxy
            headers["authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        if self._is_chat(request):
            body["messages"] = [{"role": m.role, "content": m.text} for m in request.as_messages()]
            return HTTPRequest("/api/chat", body, headers)
        body["prompt"] = request.as_prompt()
        return HTTPRequest("/api/generate", body, headers)

    def _parser(self, request: Request) -> _Parser:
        return _Parser(self._is_chat(request))
