"""An Ollama look-alike on loopback: ``/api/generate`` and ``/api/chat``, NDJSON.

It follows Ollama's documented wire format: one JSON object per line,
``response`` (generate) or ``message.content`` (chat) per token, then a last
line with ``"done": true``, ``done_reason`` and the counts and durations.
Model ``missing`` answers 404 as Ollama does; model ``broken`` sends an
``{"error": ...}`` line after one token; model ``nodone`` ends without its
done line.
"""

from __future__ import annotations

import json
from typing import Any

from tests.servers.loopback import HTTPRequest, LoopbackServer, Reply

TOKENS = ("The", " sky", " is", " blue", ".")
PROMPT_EVAL_COUNT = 26
_CREATED = "2024-08-07T03:57:33.0365888Z"


def _line(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode() + b"\n"


class OllamaServer:
    """The server; ``requests`` holds each request's path and JSON body."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.server = LoopbackServer(self._handle, name="ollama-server")

    @property
    def url(self) -> str:
        """The host root, as Ollama's clients take it."""
        return self.server.url

    def start(self) -> OllamaServer:
        """Start on a free port."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop and join."""
        self.server.stop()

    async def _handle(self, request: HTTPRequest, reply: Reply) -> None:
        body = request.json()
        self.requests.append((request.path, body))
        chat = request.path == "/api/chat"
        if request.path not in ("/api/chat", "/api/generate"):
            await reply.full(404, b"404 page not found", "text/plain")
            return
        model = body["model"]
        if model == "missing":
            error = {"error": f"model '{model}' not found, try pulling it first"}
            await reply.full(404, json.dumps(error).encode())
            return
        await reply.start(content_type="application/x-ndjson")
        limit = body.get("options", {}).get("num_predict")
        tokens = TOKENS[:limit] if limit else TOKENS
        for i, token in enumerate(tokens):
            line: dict[str, Any] = {"model": model, "created_at": _CREATED, "done": False}
            if chat:
                line["message"] = {"role": "assistant", "content": token}
            else:
                line["response"] = token
            # Two lines in one write now and then: the client must split them.
            await reply.send(_line(line)[: -1 if i == 1 else None])
            if i == 1:
                await reply.send(b"\n")
            if model == "broken":
                message = "an error was encountered while running the model"
                await reply.send(_line({"error": message}))
                await reply.finish()
                return
        if model == "nodone":
            await reply.finish()
            return
        done: dict[str, Any] = {
            "model": model,
            "created_at": _CREATED,
            "done": True,
            "done_reason": "length" if limit else "stop",
            "total_duration": 4353619900,
            "load_duration": 63915300,
            "prompt_eval_count": PROMPT_EVAL_COUNT,
            "prompt_eval_duration": 246847000,
            "eval_count": len(tokens),
            "eval_duration": 4032296000,
        }
        if chat:
            done["message"] = {"role": "assistant", "content": ""}
        else:
            done["response"] = ""
            done["context"] = [1, 2, 3]
        await reply.send(_line(done))
        await reply.finish()
