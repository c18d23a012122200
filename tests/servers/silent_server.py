"""A loopback server that goes silent, for every HTTP provider's wire format.

The base URL chooses what it sends before it stops: ``{url}/{shape}/{gap}`` then
the provider's own path (``/v1/chat/completions``, ``/v1/completions``,
``/v1/messages``, ``/api/generate``, ``/api/chat``). Shapes:

* ``no_headers``: reads the request and sends nothing at all;
* ``preamble``: the headers and the frames a provider sends before any text
  (OpenAI's role-only delta, Anthropic's ``message_start`` and ``ping``,
  Ollama's empty ``response`` line), then nothing;
* ``token``: the preamble and one token, then nothing;
* ``gap``: one token, ``gap`` seconds of silence, a second token, the end.

"Nothing" lasts until the client goes away (at most :data:`SILENCE` seconds),
so a timeout that does not fire on its own shows as a run of that length.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.servers.loopback import HTTPRequest, LoopbackServer, Reply

SILENCE = 10.0
TOKENS = ("Hi", " there")


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


def _openai(text: str | None, chat: bool) -> bytes:
    if text is None:  # the role-only first delta
        choice: dict[str, Any] = {"index": 0, "delta": {"role": "assistant"}}
    elif chat:
        choice = {"index": 0, "delta": {"content": text}}
    else:
        choice = {"index": 0, "text": text}
    return _sse({"id": "c", "choices": [choice]})


class _Format:
    """One provider's frames: preamble, a token, the end."""

    def __init__(self, path: str) -> None:
        self.kind = (
            "anthropic" if path.endswith("/messages") else "ollama" if "/api/" in path else "openai"
        )
        self.chat = path.endswith("/chat/completions") or path.endswith("/api/chat")
        self.content_type = "application/x-ndjson" if self.kind == "ollama" else "text/event-stream"

    def preamble(self) -> bytes:
        if self.kind == "anthropic":
            start = {"type": "message_start", "message": {"usage": {"input_tokens": 3}}}
            return _sse(start, "message_start") + _sse({"type": "ping"}, "ping")
        if self.kind == "ollama":
            return self._ollama("", done=False)
        return _openai(None, self.chat) if self.chat else b": keep-alive\n\n"

    def token(self, text: str) -> bytes:
        if self.kind == "anthropic":
            delta = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": text}}
            return _sse(delta, "content_block_delta")
        if self.kind == "ollama":
            return self._ollama(text, done=False)
        return _openai(text, self.chat)

    def end(self) -> bytes:
        if self.kind == "anthropic":
            delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}
            return _sse(delta, "message_delta") + _sse({"type": "message_stop"}, "message_stop")
        if self.kind == "ollama":
            return self._ollama("", done=True)
        return b"data: [DONE]\n\n"

    def _ollama(self, text: str, *, done: bool) -> bytes:
        frame: dict[str, Any] = {"model": "m", "done": done}
        if self.chat:
            frame["message"] = {"role": "assistant", "content": text}
        else:
            frame["response"] = text
        if done:
            frame["done_reason"] = "stop"
        return json.dumps(frame).encode() + b"\n"


class SilentServer:
    """The server; ``url(shape, gap)`` is the base URL of a provider's API."""

    def __init__(self) -> None:
        self.server = LoopbackServer(self._handle, name="silent-server")

    def start(self) -> SilentServer:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def url(self, shape: str, gap: float = 0.0, api_root: str = "") -> str:
        """``api_root`` is what the provider's base URL ends in (``/v1`` for OpenAI)."""
        return f"{self.server.url}/{shape}/{gap}{api_root}"

    async def _handle(self, request: HTTPRequest, reply: Reply) -> None:
        _, shape, gap, *_ = request.path.split("/")
        wire = _Format(request.path)
        if shape == "no_headers":
            await reply.wait_for_client(SILENCE)
            return
        await reply.start(content_type=wire.content_type)
        if shape != "gap":
            await reply.send(wire.preamble())
        if shape == "preamble":
            await reply.wait_for_client(SILENCE)
            return
        await reply.send(wire.token(TOKENS[0]))
        if shape == "token":
            await reply.wait_for_client(SILENCE)
            return
        await asyncio.sleep(float(gap))
        await reply.send(wire.token(TOKENS[1]))
        await reply.send(wire.end())
        await reply.finish()
