"""An OpenAI-compatible SSE server on loopback that misbehaves on demand.

The base URL chooses the behaviour: ``{url}/{fault}/{n}/{key}/v1``. The first
``n`` requests made with ``key`` suffer ``fault``; later ones are served
normally, so a test sees either a successful retry (``n`` within the model's
``max_retries``) or the typed error (``n`` beyond it). ``key`` keeps tests
apart; :meth:`FaultServer.requests` counts the requests each key made.

Faults: ``ok``, ``drop`` (connection closed after two tokens), ``drop_early``
(closed before any token), ``truncate`` (half a frame, then a clean end
without ``[DONE]``), ``stall`` (two tokens, then silence), ``stall_early``
(headers, then silence), ``malformed`` (invalid JSON after one token),
``error_frame`` (an error object after one token), ``429`` (with
``Retry-After: 0``), ``429_date`` (Retry-After as an HTTP date), ``429_bare``
(no Retry-After: the client's own backoff), ``500``,
``503``, ``401``, ``slow_first_byte`` (a pause before the headers), ``silent``
(reads the request and sends nothing, not even headers).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections import Counter
from typing import Any

from tests.servers.loopback import HTTPRequest, LoopbackServer, Reply

#: The tokens every normal stream sends, and the usage it reports.
TOKENS = ("Hello", " wörld", "!")
USAGE = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}


def frame(data: Any) -> bytes:
    """One SSE event carrying ``data`` as JSON (or a literal string)."""
    text = data if isinstance(data, str) else json.dumps(data)
    return f"data: {text}\n\n".encode()


def token_frame(text: str, chat: bool = True, finish: str | None = None) -> bytes:
    """An OpenAI chunk for one token (chat delta or legacy text)."""
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
    if chat:
        choice["delta"] = {"content": text}
    else:
        choice["text"] = text
    return frame({"id": "cmpl-1", "object": "chunk", "choices": [choice]})


class FaultServer:
    """The server and its per-key request counts."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.bodies: dict[str, list[Any]] = {}
        self.server = LoopbackServer(self._handle, name="fault-server")

    def start(self) -> FaultServer:
        """Start on a free port."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop and join."""
        self.server.stop()

    def base_url(self, fault: str, key: str, times: int = 1) -> str:
        """The ``base_url`` for ``fault`` on the first ``times`` requests of ``key``."""
        return f"{self.server.url}/{fault}/{times}/{key}/v1"

    def requests(self, key: str) -> int:
        """How many requests ``key`` made."""
        return self.counts[key]

    async def _handle(self, request: HTTPRequest, reply: Reply) -> None:
        _, fault, times, key, *_rest = request.path.split("/")
        self.counts[key] += 1
        self.bodies.setdefault(key, []).append(request.json())
        chat = request.path.endswith("/chat/completions")
        if self.counts[key] > int(times):
            fault = "ok"
        await _FAULTS[fault](reply, chat)


async def _ok(reply: Reply, chat: bool) -> None:
    await reply.start()
    await reply.send(b": a comment the client must skip\n\n")
    for i, token in enumerate(TOKENS):
        await reply.send(token_frame(token, chat, "stop" if i == len(TOKENS) - 1 else None))
    await reply.send(frame({"id": "cmpl-1", "choices": [], "usage": USAGE}))
    await reply.send(frame("[DONE]"))
    await reply.finish()


async def _drop(reply: Reply, chat: bool) -> None:
    await reply.start()
    for token in TOKENS[:2]:
        await reply.send(token_frame(token, chat))
    reply.drop()


async def _drop_early(reply: Reply, chat: bool) -> None:
    await reply.start()
    reply.drop()


async def _truncate(reply: Reply, chat: bool) -> None:
    await reply.start()
    await reply.send(token_frame(TOKENS[0], chat))
    await reply.send(token_frame(TOKENS[1], chat)[:20])
    await reply.finish()


async def _stall(reply: Reply, chat: bool) -> None:
    await reply.start()
    for token in TOKENS[:2]:
        await reply.send(token_frame(token, chat))
    await reply.wait_for_client()


async def _stall_early(reply: Reply, chat: bool) -> None:
    await reply.start()
    await reply.wait_for_client()


async def _silent(reply: Reply, chat: bool) -> None:
    await reply.wait_for_client()


async def _malformed(reply: Reply, chat: bool) -> None:
    await reply.start()
    await reply.send(token_frame(TOKENS[0], chat))
    await reply.send(b'data: {"choices": [{"delta": {"content": "x"\n\n')
    await reply.finish()


async def _error_frame(reply: Reply, chat: bool) -> None:
    await reply.start()
    await reply.send(token_frame(TOKENS[0], chat))
    await reply.send(frame({"error": {"message": "the model crashed", "type": "server_error"}}))
    await reply.finish()


def _status(status: int, **headers: str) -> Any:
    async def send(reply: Reply, chat: bool) -> None:
        body = json.dumps({"error": {"message": f"status {status} on purpose", "type": "x"}})
        await reply.full(status, body.encode(), **headers)

    return send


async def _rate_limited_until_date(reply: Reply, chat: bool) -> None:
    date = email.utils.formatdate(time.time() - 5, usegmt=True)  # already past: retry at once
    await _status(429, retry_after=date)(reply, chat)


async def _slow_first_byte(reply: Reply, chat: bool) -> None:
    await asyncio.sleep(0.3)
    await _ok(reply, chat)


_FAULTS: dict[str, Any] = {
    "ok": _ok,
    "drop": _drop,
    "drop_early": _drop_early,
    "truncate": _truncate,
    "stall": _stall,
    "stall_early": _stall_early,
    "silent": _silent,
    "malformed": _malformed,
    "error_frame": _error_frame,
    "429": _status(429, retry_after="0"),
    "429_date": _rate_limited_until_date,
    "429_bare": _status(429),
    "500": _status(500),
    "503": _status(503, retry_after="0"),
    "401": _status(401),
    "slow_first_byte": _slow_first_byte,
}
