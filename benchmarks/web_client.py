"""A lean async SSE client for the web load benchmark: one asyncio Protocol per connection.

httpx is too heavy to hold a thousand live streams in one Python process next
to the server on two cores, so this speaks just enough HTTP/1.1 (a GET, a
chunked response) and SSE (id, event, data) to follow one run's events, and
records when each frame arrived.

Two arrival times per frame: the kernel's receive timestamp of the bytes
(``SO_TIMESTAMPNS``: when they reached the client's socket, whatever this
process was busy with) and when this client's event loop got to them. A burst
of a thousand sockets turning readable at once is read one after another by
this one loop, so the second time carries the client's own queueing; the first
is the server's latency.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from typing import Any

#: (entry id, event type, event JSON, arrival at the socket, arrival in the client's loop)
Frame = tuple[str | None, str, dict[str, Any], float, float]
# Python's socket module does not name it; 35 on Linux.
_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform == "linux" else None)
_ANCILLARY = socket.CMSG_SPACE(16)
_READ = 256 * 1024


@dataclass
class Received:
    """What one connection got: ``frames`` as (entry id, event type, event JSON,
    arrival wall time). While streaming only the raw frame and its arrival time
    are kept; they are parsed when first read, after the load, so the client's
    own work does not sit between the server and the clock."""

    raw: list[tuple[bytes, float, float]] = field(default_factory=list)
    status: int = 0
    #: When the response's headers arrived: later events came live, earlier ones replayed.
    headers_at: float = 0.0
    dropped_notice: bool = False
    ended: bool = False
    _parsed: list[Frame] | None = None

    @property
    def frames(self) -> list[Frame]:
        if self._parsed is None or len(self._parsed) != len(self.raw):
            self._parsed = [_parse(*raw) for raw in self.raw]
        return self._parsed

    def last_id(self) -> str | None:
        """The entry id of the last frame (parsing only that one)."""
        return _parse(*self.raw[-1])[0] if self.raw else None


def _parse(raw: bytes, arrived: float, seen: float) -> Frame:
    fields = dict(line.split(b": ", 1) for line in raw.split(b"\n"))
    entry = fields.get(b"id")
    kind = fields.get(b"event", b"message").decode()
    return (entry.decode() if entry else None, kind, json.loads(fields[b"data"]), arrived, seen)


class _SSEProtocol:
    """The response's parser, fed by :class:`_Reader` with each read and its timestamp."""

    def __init__(self, received: Received, stop_after: int | None) -> None:
        self.received = received
        self.stop_after = stop_after
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._head = b""
        self._chunks = b""
        self._sse = b""
        self._in_body = False
        self._arrived = self._seen = 0.0

    def data_received(self, data: bytes, arrived: float, seen: float) -> None:
        self._arrived, self._seen = arrived, seen
        if not self._in_body:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            self.received.status = int(self._head.split(b" ", 2)[1])
            self.received.headers_at = arrived
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
            self.received.ended = True
            self._finish()

    def _frames(self) -> bool:
        """Parse the complete frames; False when the connection was cut among them."""
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
            self.received.raw.append((raw, self._arrived, self._seen))
            if self.stop_after is not None and len(self.received.raw) >= self.stop_after:
                self._finish()
                return False

    def _finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)


class _Reader:
    """Reads a socket when it turns readable, with the kernel's receive timestamp."""

    def __init__(self, sock: socket.socket, protocol: _SSEProtocol) -> None:
        self.sock = sock
        self.protocol = protocol

    def __call__(self) -> None:
        try:
            data, ancillary, _, _ = self.sock.recvmsg(_READ, _ANCILLARY)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, ancillary = b"", []
        seen = time.time()
        if not data:
            self.protocol._finish()
            return
        arrived = seen
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == _TIMESTAMPNS and len(value) >= 16:
                sec, nsec = struct.unpack("qq", value[:16])
                arrived = sec + nsec / 1e9
        self.protocol.data_received(data, arrived, seen)


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
    if _TIMESTAMPNS is not None:
        sock.setsockopt(socket.SOL_SOCKET, _TIMESTAMPNS, 1)
    sock.setblocking(False)
    protocol = _SSEProtocol(received, stop_after)
    try:
        await loop.sock_connect(sock, (host, port))
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
        if last_event_id is not None:
            lines.append(f"Last-Event-ID: {last_event_id}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        await loop.sock_sendall(sock, ("\r\n".join(lines) + "\r\n\r\n").encode())
        if read:
            loop.add_reader(sock.fileno(), _Reader(sock, protocol))
        try:
            await protocol.done
        finally:
            if read:
                loop.remove_reader(sock.fileno())
    finally:
        sock.close()
    return received
