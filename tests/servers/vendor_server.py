"""One loopback server that streams scripted chat answers in each vendor's wire format.

A test scripts each request: :meth:`VendorServer.serve` takes the frames (the
JSON objects the vendor sends) and returns a :class:`Scripted` with its own
URL prefix. The request's path picks the framing, as the vendors do:

- ``/v1/chat/completions`` (OpenAI and compatible servers): SSE ``data:``
  lines, then ``data: [DONE]``;
- ``/v1/messages`` (Anthropic): SSE with ``event: <type>`` before each
  ``data:``; the frames end with ``message_stop`` themselves;
- ``/api/chat`` (Ollama): NDJSON, one object per line.

Frames are written in uneven pieces (a frame split in two, two frames in one
write) so the client's decoders must reassemble them. ``cut_after=n`` ends the
response after ``n`` frames: ``cut="drop"`` closes the connection (with half of
frame ``n`` first when ``half=True``), ``cut="end"`` ends the body cleanly but
without the vendor's terminator. Every request is kept with its headers and
JSON body on the :class:`Scripted` it reached.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.servers.loopback import HTTPRequest, LoopbackServer, Reply

Cut = Literal["drop", "end"]


@dataclass
class Scripted:
    """One scripted answer (served to every request under its prefix) and the requests it got."""

    prefix: str
    frames: Sequence[Any]
    root: str
    cut_after: int | None = None
    cut: Cut = "drop"
    half: bool = False
    requests: list[HTTPRequest] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The host root for this script (Anthropic's and Ollama's ``base_url``)."""
        return f"{self.root}/{self.prefix}"

    @property
    def openai_url(self) -> str:
        """The ``base_url`` of an OpenAI-compatible client (it ends in ``/v1``)."""
        return f"{self.url}/v1"

    @property
    def bodies(self) -> list[Any]:
        """The JSON bodies of the requests, in order."""
        return [r.json() for r in self.requests]


def _sse(frame: Any) -> bytes:
    return b"data: " + json.dumps(frame).encode() + b"\n\n"


def _anthropic_sse(frame: Any) -> bytes:
    return f"event: {frame['type']}\ndata: {json.dumps(frame)}\n\n".encode()


def _ndjson(frame: Any) -> bytes:
    return json.dumps(frame).encode() + b"\n"


# path suffix -> (encoder, terminator, content type)
_VENDORS: dict[str, tuple[Any, bytes, str]] = {
    "/v1/chat/completions": (_sse, b"data: [DONE]\n\n", "text/event-stream"),
    "/v1/messages": (_anthropic_sse, b"", "text/event-stream"),
    "/api/chat": (_ndjson, b"", "application/x-ndjson"),
}


def _writes(frames: list[bytes]) -> list[bytes]:
    """The frames in uneven writes: one split in two, the next two joined, and so on."""
    out: list[bytes] = []
    i = 0
    while i < len(frames):
        data = frames[i]
        if i % 3 == 1:
            out += [data[: len(data) // 2], data[len(data) // 2 :]]
        elif i % 3 == 2 and i + 1 < len(frames):
            out.append(data + frames[i + 1])
            i += 1
        else:
            out.append(data)
        i += 1
    return out


class VendorServer:
    """The server; :meth:`serve` scripts one answer under a fresh URL prefix."""

    def __init__(self) -> None:
        self._scripts: dict[str, Scripted] = {}
        self._ids = itertools.count()
        self.server = LoopbackServer(self._handle, name="vendor-server")

    def start(self) -> VendorServer:
        """Start on a free port."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop and join."""
        self.server.stop()

    def serve(
        self,
        frames: Sequence[Any],
        *,
        cut_after: int | None = None,
        cut: Cut = "drop",
        half: bool = False,
    ) -> Scripted:
        """Script the answer to every request made under the returned prefix."""
        prefix = f"s{next(self._ids)}"
        script = Scripted(prefix, frames, self.server.url, cut_after, cut, half)
        self._scripts[prefix] = script
        return script

    async def _handle(self, request: HTTPRequest, reply: Reply) -> None:
        prefix, _, rest = request.path.lstrip("/").partition("/")
        script = self._scripts.get(prefix)
        vendor = _VENDORS.get("/" + rest)
        if script is None or vendor is None:
            await reply.full(404, b'{"error": "no such script or endpoint"}')
            return
        script.requests.append(request)
        encode, terminator, content_type = vendor
        await reply.start(content_type=content_type)
        frames = [encode(f) for f in script.frames]
        cut = script.cut_after
        sent = frames if cut is None else frames[:cut]
        for data in _writes(sent):
            await reply.send(data)
        if cut is None:
            await reply.send(terminator)
        elif script.cut == "drop":
            if script.half and cut < len(frames):
                await reply.send(frames[cut][: len(frames[cut]) // 2])
            reply.drop()
            return
        await reply.finish()
