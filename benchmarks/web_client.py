"""A lean async SSE client for the web load benchmark: one asyncio Protocol per connection.

httpx is too heavy to hold a thousand live streams in one Python process next
to the server on two cores, so this speaks just enough HTTP/1.1 (a GET, a
chunked response) and SSE (id, event, data) to follow one run's events, and
records when each frame arrived.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

Frame = tuple[str | None, str, dict[str, Any], float]


@dataclass
class Received:
    """What one connection got: ``frames`` as (entry id, event type, event JSON,
    arrival wall time). While streaming only the raw frame and its arrival time
    are kept; they are parsed when first read, after the load, so the client's
    own work does not sit between the server and the clock."""

    raw: list[tuple[bytes, float]] = field(default_factory=list)
    status: int = 0
    #: When the response's headers arrived: later events came live, earlier ones replayed.
    headers_at: float = 0.0
    dropped_notice: bool = False
    ended: bool = False
    _parsed: list[Frame] | None = None

    @property
    def frames(self) -> list[Frame]:
        if self._parsed is None or len(self._parsed) != len(self.raw):
            self._parsed = [_parse(raw, arrived) for raw, arrived in self.raw]
        return self._parsed

    def last_id(self) -> str | None:
        """The entry id of the last frame (parsing only that one)."""
        return _parse(*self.raw[-1])[0] if self.raw else None


def _parse(raw: bytes, arrived: float) -> Frame:
    fields = dict(line.split(b": ", 1) for line in raw.split(b"\n"))
    entry = fields.get(b"id")
    kind = fields.get(b"event", b"message").decode()
    return (entry.decode() if entry else None, kind, json.loads(fields[b"data"]), arrived)


class _SSEProtocol(asyncio.Protocol):
    def __init__(self, received: Received, stop_after: int | None, read: bool) -> None:
        self.received = received
        self.stop_after = stop_after
        self.read = read
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: Any = None
        self._head = b""
        self._chunks = b""
        self._sse = b""
        self._in_body = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # uvloop's transports are no asyncio.Transport subclass
        if not self.read:
            # After connection_made returns: uvloop starts reading only then.
            asyncio.get_running_loop().call_soon(self.transport.pause_reading)

    def data_received(self, data: bytes) -> None:
        if not self._in_body:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            self.received.status = int(self._head.split(b" ", 2)[1])
            self.received.headers_at = time.time()
            data, self._head, self._in_body = self._head[end + 4 :], b"", True
        self._chunks += data
        self._dechunk()

    def _dechunk(self) -> None:
        buf = self._chunks
        finished = False
        while True:
            line_end = buf.find(b"\r\n")
            if line_end < 0:
                break
            size = int(buf[:line_end].split(b";")[0], 16)
            if size == 0:
                finished, buf = True, b""
                break
            if len(buf) < line_end + 2 + size + 2:
                break
            self._sse += buf[line_end + 2 : line_end + 2 + size]
            buf = buf[line_end + 2 + size + 2 :]
        self._chunks = buf
        # The frames first: a cut (stop_after) among them is not a normal end.
        if self._frames() and finished:
            self._finish()

    def _frames(self) -> bool:
        """Parse the complete frames; False when the connection was cut among them."""
        now = time.time()
        while True:
            cut = self._sse.find(b"\n\n")
            if cut < 0:
                return True
            raw, self._sse = self._sse[:cut], self._sse[cut + 2 :]
            if raw.startswith(b":"):
                continue
            if raw.startswith(b"event: dropped"):
                self.received.dropped_notice = True
                continue
            self.received.raw.append((raw, now))
            if self.stop_after is not None and len(self.received.raw) >= self.stop_after:
                self._close()
                return False

    def _finish(self) -> None:
        self.received.ended = True
        self._close()

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        if not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def follow(
    host: str,
    port: int,
    path: str,
    *,
    last_event_id: str | None = None,
    stop_after: int | None = None,
    read: bool = True,
    rcvbuf: int | None = None,
    headers: dict[str, str] | None = None,
) -> Received:
    """GET ``path`` and collect its SSE frames until the stream ends, ``stop_after``
    frames have come (then the connection is cut), or the server closes it.

    ``read=False`` never reads the socket (a stalled client); with ``rcvbuf`` the
    kernel buffers little for it.
    """
    received = Received()
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await loop.sock_connect(sock, (host, port))
    transport, protocol = await loop.create_connection(
        lambda: _SSEProtocol(received, stop_after, read), sock=sock
    )
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
    if last_event_id is not None:
        lines.append(f"Last-Event-ID: {last_event_id}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    try:
        await protocol.done
    finally:
        transport.close()
    return received
