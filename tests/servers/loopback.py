"""A tiny HTTP/1.1 server on 127.0.0.1 for tests: asyncio in one background thread.

One thread for the whole server (connections are tasks on its loop), so a test
never leaves a handler thread behind. Handlers get the parsed request and a
:class:`Reply` that writes the status, headers and a chunked body.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class HTTPRequest:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class Reply:
    """Writes one response; the body is sent with chunked transfer encoding."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    started: bool = False
    keep_alive: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    async def start(
        self, status: int = 200, content_type: str = "text/event-stream", **headers: str
    ) -> None:
        """Send the status line and headers of a chunked response."""
        lines = [
            f"HTTP/1.1 {status} X",
            f"content-type: {content_type}",
            "transfer-encoding: chunked",
        ]
        lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()
        self.started = True

    async def send(self, data: bytes) -> None:
        """Send one piece of the body as one chunk (and flush it)."""
        if data:
            self.writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            await self.writer.drain()

    async def raw(self, data: bytes) -> None:
        """Write bytes as they are, outside the chunked framing."""
        self.writer.write(data)
        await self.writer.drain()

    async def finish(self) -> None:
        """End the chunked body properly."""
        self.writer.write(b"0\r\n\r\n")
        await self.writer.drain()

    async def full(
        self, status: int, body: bytes, content_type: str = "application/json", **headers: str
    ) -> None:
        """Send a whole response with a Content-Length body."""
        lines = [
            f"HTTP/1.1 {status} X",
            f"content-type: {content_type}",
            f"content-length: {len(body)}",
        ]
        lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        self.started = True

    def drop(self) -> None:
        """Close the connection at once, mid-response."""
        self.keep_alive = False
        transport = self.writer.transport
        transport.abort()

    async def wait_for_client(self, limit: float = 30.0) -> None:
        """Stall: wait until the client goes away (or ``limit`` seconds)."""
        self.keep_alive = False
        with contextlib.suppress(TimeoutError, ConnectionError):
            await asyncio.wait_for(self.reader.read(), limit)


Handler = Callable[[HTTPRequest, Reply], Awaitable[None]]


class LoopbackServer:
    """Serves ``handler`` on a free port of 127.0.0.1 until :meth:`stop`."""

    def __init__(self, handler: Handler, name: str = "loopback-server") -> None:
        self._handler = handler
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self.open_connections = 0

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``"""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LoopbackServer:
        """Start the thread and wait until the port is bound."""
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("loopback server did not start")
        return self

    def stop(self) -> None:
        """Close every connection, stop the loop and join the thread."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.open_connections += 1
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                reply = Reply(reader, writer)
                await self._handler(request, reply)
                if not reply.keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.open_connections -= 1
            self._tasks.discard(task)
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> HTTPRequest | None:
    line = await reader.readline()
    if not line:
        return None
    method, path, _ = line.decode().split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        header = await reader.readline()
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return HTTPRequest(method, path, headers, body)
