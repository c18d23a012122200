"""Ollama: a local model server's native API, streamed as NDJSON.

``base_url`` is the host root (``http://127.0.0.1:11434``), as in Ollama's own
client. A prompt goes to ``/api/generate`` and messages to ``/api/chat``
(``endpoint`` forces one). Each line is one JSON object; the last has
``"done": true`` with ``done_reason``, ``prompt_eval_count`` and ``eval_count``.
:class:`Ollama` is the text model (its chunks are text); :class:`ChatOllama`
the chat model of ``/api/chat``, whose lines become deltas through
:func:`~streamllm.chat.wire_ollama.ollama_deltas` (``message.thinking``,
whole ``message.tool_calls``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypeVar, final

from streamllm.chat.deltas import ChatDelta
from streamllm.chat.tools_schema import ToolChoice, ToolSpec
from streamllm.chat.wire_ollama import (
    check_ollama_tool_choice,
    ollama_deltas,
    ollama_messages,
    ollama_tools,
)
from streamllm.errors import StreamProtocolError
from streamllm.http.errors import load_frame, stream_error
from streamllm.http.ndjson import NDJSONDecoder
from streamllm.http.parser import FrameParser, HTTPRequest
from streamllm.models.http import HTTPChatProvider, HTTPProvider
from streamllm.outputs import GenerationChunk, TokenUsage
from streamllm.request import Request

__all__ = ["ChatOllama", "Ollama"]

C = TypeVar("C")

# streamllm's parameter names to Ollama's "options" names.
_OPTIONS = {
    "max_tokens": "num_predict",
    "temperature": "temperature",
    "top_p": "top_p",
    "stop": "stop",
}


class _Lines(FrameParser[C]):
    """NDJSON lines; a last line without its newline still counts."""

    __slots__ = ("_ndjson",)

    def __init__(self) -> None:
        self._ndjson = NDJSONDecoder()
        super().__init__(self._ndjson)

    def end(self) -> list[C]:
        out: list[C] = []
        rest = self._ndjson.end()
        if rest is not None and not self.done:
            self._frame(rest, out)
        if not self.done:
            raise StreamProtocolError("ollama: the stream ended without its done line")
        return out


def _load(line: bytes) -> dict[str, Any]:
    frame = load_frame(line, "ollama")
    if "error" in frame:
        raise stream_error("ollama", frame["error"])
    return frame


@final
class _Parser(_Lines[GenerationChunk]):
    __slots__ = ("_chat",)

    def __init__(self, chat: bool) -> None:
        super().__init__()
        self._chat = chat

    def _frame(self, line: bytes, out: list[GenerationChunk]) -> None:
        frame = _load(line)
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


@final
class _ChatParser(_Lines[ChatDelta]):
    __slots__ = ()

    def _frame(self, line: bytes, out: list[ChatDelta]) -> None:
        frame = _load(line)
        if frame.get("done"):
            self.done = True
        out += ollama_deltas(frame)


def _options(params: Mapping[str, Any], extra: dict[str, Any] | None) -> dict[str, Any]:
    options = {
        ollama: params[ours] for ours, ollama in _OPTIONS.items() if params.get(ours) is not None
    }
    if extra:
        options.update(extra)
    return options


def _headers(model: HTTPProvider | HTTPChatProvider) -> dict[str, str]:
    headers = {"accept": "application/x-ndjson"}
    if model.api_key is not None:  # an Ollama behind an authenticating proxy
        headers["authorization"] = f"Bearer {model.api_key.get_secret_value()}"
    return headers


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
        options = _options(request.params, self.options)
        body: dict[str, Any] = {"model": self.model, "stream": True}
        if options:
            body["options"] = options
        headers = _headers(self)
        if self._is_chat(request):
            body["messages"] = [{"role": m.role, "content": m.text} for m in request.as_messages()]
            return HTTPRequest("/api/chat", body, headers)
        body["prompt"] = request.as_prompt()
        return HTTPRequest("/api/generate", body, headers)

    def _parser(self, request: Request) -> _Parser:
        return _Parser(self._is_chat(request))


class ChatOllama(HTTPChatProvider):
    """A chat model served by Ollama's ``/api/chat`` (no key needed).

    ``think=True`` (or ``"low"``/``"medium"``/``"high"`` for models that take
    a level) asks a thinking model for its reasoning, streamed as a reasoning
    block. Tools bound with ``bind_tools`` go as ``tools``; Ollama has no
    ``tool_choice``, so a forced choice is refused at bind time and ``"none"``
    sends no tools. Tool calls arrive whole.

    >>> model = ChatOllama(model="qwen3")  # doctest: +SKIP
    >>> model.invoke("Why is the sky blue?").text  # doctest: +SKIP
    """

    provider: ClassVar[str] = "ollama"

    base_url: str = "http://127.0.0.1:11434"
    model: str = "llama3.2"
    #: Extra Ollama ``options`` (``{"seed": 1, "num_ctx": 4096}``).
    options: dict[str, Any] | None = None
    #: Ollama's ``think``: None leaves the server's default.
    think: bool | Literal["low", "medium", "high"] | None = None

    def _check_tools(self, tools: tuple[ToolSpec, ...], tool_choice: ToolChoice | None) -> None:
        check_ollama_tool_choice(tool_choice)

    def _http_request(self, request: Request) -> HTTPRequest:
        body: dict[str, Any] = {
            "model": self.model,
            "stream": True,
            "messages": ollama_messages(request.as_messages()),
        }
        options = _options(request.params, self.options)
        if options:
            body["options"] = options
        if request.tools and request.tool_choice != "none":
            body["tools"] = ollama_tools(request.tools)
        if self.think is not None:
            body["think"] = self.think
        return HTTPRequest("/api/chat", body, _headers(self))

    def _parser(self, request: Request) -> _ChatParser:
        return _ChatParser()
