"""Server-Sent Events over ASGI: one bounded buffer per client, heartbeats, a clear drop.

A pump task reads frames (already encoded bytes) from an async iterator into a
bounded queue; the response coroutine writes them to the client, several at a
time when they have piled up. The queue never grows past ``buffer`` frames: when
it is full the pump waits, so a client reading slowly holds back only its own
subscription. A client that stops reading altogether (one write blocked for
``stall_timeout`` seconds) is dropped: it gets a last ``event: dropped`` frame
if its socket takes it, the connection closes, and :class:`StreamStats` counts
it. Nothing is lost by a drop: the bus keeps the events, and the client resumes
from its ``Last-Event-ID``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Final, Protocol, final

from pydantic import BaseModel

from streamllm.events import Event

__all__ = ["END", "EventStream", "FrameCache", "PumpSource", "Source", "StreamStats", "sse_frame"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HEARTBEAT: Final = b": keep-alive\n\n"
#: The item that ends a stream's queue.
END: Final = object()
# Frames per write while replaying a backlog.
_BACKLOG_BATCH: Final = 256

SSE_HEADERS: Final = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-transform"),
    # Proxies (nginx) would otherwise hold the stream back in their buffers.
    (b"x-accel-buffering", b"no"),
    # A dropped client's socket is closed rather than kept for another request.
    (b"connection", b"close"),
]


def sse_frame(data: str, *, event: str | None = None, id: str | None = None) -> bytes:
    """One SSE frame. ``data`` must hold no newline (JSON from pydantic never does)."""
    head = (f"id: {id}\n" if id is not None else "") + (
        f"event: {event}\n" if event is not None else ""
    )
    return f"{head}data: {data}\n\n".encode()


@final
class FrameCache:
    """Encodes each bus entry once, however many clients follow its run.

    Clients of one run ask for the same entries at about the same time, so a
    small insertion-ordered window is enough; the oldest entry goes first.
    """

    __slots__ = ("_frames", "_size")

    def __init__(self, size: int = 4096) -> None:
        self._frames: dict[tuple[str, str], bytes] = {}
        self._size = size

    def frame(self, trace: str, entry_id: str, item: Event | BaseModel) -> bytes:
        kind: str = getattr(item, "type", "")
        if kind == "entries_lost":
            # A notice travels under the id of the last entry read: no id of its
            # own (the client's position stays), and never cached in its place.
            return sse_frame(item.model_dump_json(), event=kind)
        key = (trace, entry_id)
        frame = self._frames.get(key)
        if frame is None:
            frame = sse_frame(item.model_dump_json(), event=kind, id=entry_id)
            if len(self._frames) >= self._size:
                del self._frames[next(iter(self._frames))]
            self._frames[key] = frame
        return frame


@dataclass
class StreamStats:
    """Counters of the event streams one app serves."""

    open: int = 0
    served: int = 0
    dropped: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"open": self.open, "served": self.served, "dropped": self.dropped}


class Source(Protocol):
    """Where a stream's frames come from: a backlog at once, then the queue.

    ``open`` returns frames to write first and arranges for later ones (and
    finally ``END``) to arrive on ``queue``; ``lagged`` turns True when the
    source gave up on a client whose queue was full; ``close`` releases it.
    """

    lagged: bool

    def open(self, queue: asyncio.Queue[object]) -> list[bytes]: ...

    async def close(self) -> None: ...


@final
class PumpSource:
    """Frames from an async iterator, pumped by a task of this client's own.

    The queue never grows past its size: when it is full the pump waits, so a
    client reading slowly holds back only its own iterator (its bus cursor).
    """

    __slots__ = ("_frames", "_task", "lagged")

    def __init__(self, frames: AsyncIterator[bytes]) -> None:
        self._frames = frames
        self._task: asyncio.Task[None] | None = None
        self.lagged = False

    def open(self, queue: asyncio.Queue[object]) -> list[bytes]:
        self._task = asyncio.create_task(self._pump(queue))
        return []

    async def _pump(self, queue: asyncio.Queue[object]) -> None:
        frames = self._frames
        try:
            async for frame in frames:
                try:
                    queue.put_nowait(frame)
                except asyncio.QueueFull:
                    await queue.put(frame)
        finally:
            aclose = getattr(frames, "aclose", None)
            if aclose is not None:
                await aclose()
        await queue.put(END)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await self._task


@final
class EventStream:
    """An ASGI response that streams a :class:`Source`'s frames as ``text/event-stream``.

    The client going away ends the response and releases its source, nothing
    else: a run is never cancelled by a disconnect.
    """

    __slots__ = ("_buffer", "_headers", "_heartbeat", "_source", "_stall", "_stats")

    def __init__(
        self,
        source: Source,
        *,
        stats: StreamStats,
        heartbeat: float = 15.0,
        buffer: int = 1024,
        stall_timeout: float = 10.0,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self._source = source
        self._stats = stats
        self._heartbeat = heartbeat
        self._buffer = buffer
        self._stall = stall_timeout
        self._headers = SSE_HEADERS + (headers or [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        queue: asyncio.Queue[object] = asyncio.Queue(self._buffer)
        stats = self._stats
        stats.open += 1
        stats.served += 1
        watch = asyncio.create_task(_until_disconnect(receive))
        clock = _Clock(asyncio.get_running_loop().time())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self._headers})
            backlog = self._source.open(queue)
            write = asyncio.create_task(self._write(backlog, queue, send, clock))
            dog = asyncio.create_task(self._watchdog(queue, clock, write))
            try:
                await asyncio.wait((write, watch), return_when=asyncio.FIRST_COMPLETED)
            finally:
                dog.cancel()
                write.cancel()
            outcome = "disconnected"
            if clock.stalled:
                outcome = "stalled"
            elif write.done() and not write.cancelled():
                outcome = write.result()
            if outcome in ("stalled", "lagged"):
                stats.dropped += 1
                await _last_words(send)
            elif outcome == "ended":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            stats.open -= 1
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await watch
            await self._source.close()

    async def _write(
        self, backlog: list[bytes], queue: asyncio.Queue[object], send: Send, clock: _Clock
    ) -> str:
        """Write the backlog, then frames until the end ("ended"), several at once
        when they piled up; "lagged" when the source gave up on this client."""
        loop = asyncio.get_running_loop()
        source = self._source
        try:
            for i in range(0, len(backlog), _BACKLOG_BATCH):
                await self._send(send, b"".join(backlog[i : i + _BACKLOG_BATCH]), clock, loop)
            while True:
                if queue.empty() and source.lagged:
                    return "lagged"
                batch = [await queue.get()]
                while batch[-1] is not END and not queue.empty():
                    batch.append(queue.get_nowait())
                body = b"".join(b for b in batch if isinstance(b, bytes))
                if body:
                    await self._send(send, body, clock, loop)
                if batch[-1] is END:
                    return "ended"
        except OSError:
            return "disconnected"

    @staticmethod
    async def _send(
        send: Send, body: bytes, clock: _Clock, loop: asyncio.AbstractEventLoop
    ) -> None:
        clock.sending = loop.time()
        await send({"type": "http.response.body", "body": body, "more_body": True})
        clock.sending = None
        clock.wrote = loop.time()

    async def _watchdog(
        self, queue: asyncio.Queue[object], clock: _Clock, write: asyncio.Task[str]
    ) -> None:
        """Heartbeats on an idle stream, and the drop of a client whose socket takes
        nothing: one timer per client, rather than a timeout around every write."""
        loop = asyncio.get_running_loop()
        tick = min(self._heartbeat, self._stall) / 4
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            if clock.sending is not None:
                if now - clock.sending > self._stall:
                    clock.stalled = True
                    write.cancel()
                    return
            elif now - clock.wrote >= self._heartbeat and queue.empty():
                queue.put_nowait(HEARTBEAT)
                clock.wrote = now


@final
class _Clock:
    """When the writer last wrote, whether it is in a write now, and whether it stalled."""

    __slots__ = ("sending", "stalled", "wrote")

    def __init__(self, now: float) -> None:
        self.wrote = now
        self.sending: float | None = None
        self.stalled = False


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _last_words(send: Send) -> None:
    """Tell a dropped client why, if its socket still takes a few bytes; then end."""
    notice = sse_frame(json.dumps({"reason": "slow_client"}), event="dropped")
    with contextlib.suppress(TimeoutError, OSError):
        async with asyncio.timeout(1.0):
            await send({"type": "http.response.body", "body": notice, "more_body": False})
