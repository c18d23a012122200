"""One bus subscription per run running here, shared by every client that follows it.

With a subscription per client, every event wakes and polls the bus once per
client. For the runs this server executes, a :class:`Fanout` reads the run
once, encodes each entry once, keeps the run's frames, and hands each new frame
to every attached client's queue. A client joins with the frames after its
``Last-Event-ID`` (taken from that list and attached in one step, with no await
between: nothing missed, nothing twice), then receives the live ones.

A client whose queue is full (it fell ``buffer`` frames behind) is let go: its
stream ends with the ``dropped`` notice and it resumes from its last event id,
so a slow reader never holds the others back. Clients of runs served by another
process, of runs that ended, or resuming from an id the fanout does not hold,
take the path of their own subscription (:class:`~streamllm.web.sse.PumpSource`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import final

from streamllm.web.buses import BusView
from streamllm.web.sse import END, FrameCache

__all__ = ["Fanout", "Hub", "HubClient"]

log = logging.getLogger(__name__)

_YIELD_EVERY = 64


@final
class Fanout:
    """The frames of one run, read once from the bus, and the clients following it."""

    __slots__ = ("_hub", "clients", "ended", "frames", "index", "run_id", "task")

    def __init__(self, hub: Hub, run_id: str) -> None:
        self._hub = hub
        self.run_id = run_id
        self.frames: list[bytes] = []
        #: Entry id -> how many frames precede the next entry (where to resume).
        self.index: dict[str, int] = {}
        self.clients: set[HubClient] = set()
        self.ended = False
        self.task = asyncio.create_task(self._follow(), name=f"fanout-{run_id}")

    async def _follow(self) -> None:
        hub, frames, index = self._hub, self.frames, self.index
        try:
            async with contextlib.aclosing(hub.view.subscribe(self.run_id, "0")) as entries:
                async for entry_id, item in entries:
                    frame = hub.cache.frame(self.run_id, entry_id, item)
                    frames.append(frame)
                    if getattr(item, "type", "") != "entries_lost":
                        index[entry_id] = len(frames)
                    for client in tuple(self.clients):
                        client.push(frame)
                    if len(frames) % _YIELD_EVERY == 0:
                        # A burst (a fast model, a batch from the bus) reaches the
                        # writers in slices: a client keeping up never overflows.
                        await asyncio.sleep(0)
        except Exception as exc:
            # Clients see their stream end early and resume on their own path.
            log.warning("following run %s failed: %s", self.run_id, type(exc).__name__)
        finally:
            self.ended = True
            for client in tuple(self.clients):
                client.push(END)
            self._hub.forget(self)

    def backlog(self, after: str) -> list[bytes] | None:
        """The frames after ``after`` that this fanout holds; None when it cannot tell."""
        if after == "0":
            return list(self.frames)
        if after == "$":
            return []
        start = self.index.get(after)
        return None if start is None else self.frames[start:]


@final
class HubClient:
    """One stream's place in a :class:`Fanout` (a :class:`~streamllm.web.sse.Source`)."""

    __slots__ = ("_after", "_fanout", "_queue", "lagged")

    def __init__(self, fanout: Fanout, after: str) -> None:
        self._fanout = fanout
        self._after = after
        self._queue: asyncio.Queue[object] | None = None
        self.lagged = False

    def open(self, queue: asyncio.Queue[object]) -> list[bytes]:
        fanout = self._fanout
        # No await from here to the attach: the backlog ends where live frames begin.
        backlog = fanout.backlog(self._after) or []
        self._queue = queue
        if fanout.ended:
            queue.put_nowait(END)
        else:
            fanout.clients.add(self)
        return backlog

    def push(self, item: object) -> None:
        assert self._queue is not None
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.lagged = True
            self._fanout.clients.discard(self)

    async def close(self) -> None:
        self._fanout.clients.discard(self)


@final
class Hub:
    """The fanouts of the runs this server is running."""

    __slots__ = ("_fanouts", "cache", "view")

    def __init__(self, view: BusView, cache: FrameCache) -> None:
        self.view = view
        self.cache = cache
        self._fanouts: dict[str, Fanout] = {}

    def track(self, run_id: str) -> None:
        """Start reading a run this server just started."""
        self._fanouts[run_id] = Fanout(self, run_id)

    def client(self, run_id: str, after: str) -> HubClient | None:
        """A place in the run's fanout from ``after``; None when the fanout cannot serve it."""
        fanout = self._fanouts.get(run_id)
        if fanout is None or fanout.backlog(after) is None:
            return None
        return HubClient(fanout, after)

    def forget(self, fanout: Fanout) -> None:
        # The run ended: later clients replay it from the bus.
        if self._fanouts.get(fanout.run_id) is fanout:
            del self._fanouts[fanout.run_id]

    async def aclose(self) -> None:
        tasks = [f.task for f in self._fanouts.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
