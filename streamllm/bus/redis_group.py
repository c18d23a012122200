"""Consumer groups on Redis: each trace handled once by the group, in order.

Work is handed out a trace at a time, so order within a trace holds across
the group's consumers:

1. The group reads the index ``streamllm:runs`` with ``XREADGROUP``: the entry
   of a root run's start gives that trace to the consumer that read it (other
   index entries are acknowledged at once).
2. The consumer reads the trace's stream from the group's checkpoint
   (``streamllm:{<trace>}:group:<name>``, on the trace's slot), hands each event
   to its handlers, and moves the checkpoint past it once they returned. That
   checkpoint is the group's memory of what was handled: an entry Redis hands
   out again is never handed to a handler again.
3. After the root's terminal event it marks the trace done and ``XACK``s the
   index entry.

A consumer keeps its index entries fresh with ``XCLAIM`` from a heartbeat
thread (so a handler slower than ``claim_idle`` does not lose its trace); one
that died stops doing so, and after ``claim_idle`` another consumer takes its
entries with ``XAUTOCLAIM`` and goes on from the checkpoint. What remains is
one window: a consumer killed after a handler returned and before the
checkpoint moved (one round trip) leaves that one event to be handled again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any, final
from uuid import UUID

from streamllm._log import get_logger
from streamllm.bus.base import LostCallback
from streamllm.bus.cursor import Cursor
from streamllm.bus.dispatch import Dispatcher
from streamllm.bus.entries import EntriesLost
from streamllm.bus.errors import translated
from streamllm.bus.follow import INDEX, group_key, items, trace_key

__all__ = ["GroupConsumer"]

_log = get_logger("streamllm.bus")
_BATCH = 200


@final
class _Held:
    __slots__ = ("cursor", "index_id", "key")

    def __init__(self, index_id: str, cursor: Cursor, key: str) -> None:
        self.index_id, self.cursor, self.key = index_id, cursor, key


@final
class GroupConsumer:
    """One member of a consumer group (what ``RedisBus.consume`` runs) on a
    redis-py ``client``; ``ttl`` is the streams' expiry, which the group's
    checkpoints outlive twice over."""

    def __init__(
        self,
        client: Any,
        url: str,
        ttl: int,
        group: str,
        consumer: str,
        handlers: Iterable[object],
        *,
        claim_idle: float,
        on_lost: LostCallback | None,
    ) -> None:
        self._client = client
        self._url = url  # with its password: only ever handed to translated()
        self._ttl = ttl
        self._dispatch = Dispatcher(handlers)
        self.group, self.consumer = group, consumer
        self.claim_idle = claim_idle
        self._on_lost = on_lost
        self._held: dict[UUID, _Held] = {}
        self._lost: set[UUID] = set()
        self._lock = threading.Lock()
        #: Events handed to the handlers by this consumer.
        self.handled = 0

    def run(self, stop: threading.Event, start: str) -> None:
        with translated(self._url, "consuming"):
            self._join(start)
        beat = threading.Thread(
            target=self._heartbeat, args=(stop,), name=f"streamllm-bus-{self.consumer}", daemon=True
        )
        beat.start()
        next_claim = 0.0
        busy = False
        try:
            while not stop.is_set():
                with translated(self._url, "consuming"):
                    if time.monotonic() >= next_claim:
                        self._autoclaim()
                        next_claim = time.monotonic() + self.claim_idle / 2
                    self._read_index(0 if busy else (20 if self._held else 500))
                    busy = self._advance()
        finally:
            stop.set()
            beat.join()
            self._dispatch.close()

    def _join(self, start: str) -> None:
        from redis.exceptions import ResponseError

        try:
            self._client.xgroup_create(INDEX, self.group, id=start, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    # -- taking traces -------------------------------------------------------

    def _read_index(self, block_ms: int) -> None:
        reply = self._client.xreadgroup(
            self.group, self.consumer, {INDEX: ">"}, count=10, block=block_ms or None
        )
        for _, entries in reply or ():
            for entry_id, fields in entries:
                self._take(entry_id, fields)

    def _autoclaim(self) -> None:
        cursor = "0-0"
        while True:
            reply = self._client.xautoclaim(
                INDEX, self.group, self.consumer, int(self.claim_idle * 1000), cursor, count=100
            )
            cursor, entries = reply[0], reply[1]
            for entry_id, fields in entries:
                if fields:  # None for an entry trimmed from the index meanwhile
                    self._take(entry_id, fields)
            if cursor == "0-0":
                return

    def _take(self, entry_id: str, fields: Mapping[str, str]) -> None:
        if fields["run"] != fields["trace"] or fields["phase"] != "start":
            self._client.xack(INDEX, self.group, entry_id)  # only root starts carry work
            return
        trace = UUID(fields["trace"])
        key = group_key(trace, self.group)
        pipe = self._client.pipeline(transaction=False)
        pipe.hsetnx(key, "index", entry_id)
        pipe.hgetall(key)
        pipe.expire(key, self._ttl * 2)
        _, state, _ = pipe.execute()
        if state.get("done") or state.get("index") != entry_id or trace in self._held:
            # Done, or a second index entry of the same start (a retried write).
            self._client.xack(INDEX, self.group, entry_id)
            return
        cursor = Cursor(trace, state.get("ckpt", "0"))
        with self._lock:
            self._held[trace] = _Held(entry_id, cursor, key)
            self._lost.discard(trace)

    # -- handling ------------------------------------------------------------

    def _advance(self) -> bool:
        """Hand what is new in the held traces to the handlers; True if any was."""
        with self._lock:
            for trace in self._lost:
                self._held.pop(trace, None)
            self._lost.clear()
            held = list(self._held.items())
        if not held:
            return False
        pipe = self._client.pipeline(transaction=False)
        for trace, h in held:
            last = h.cursor.last
            pipe.xrange(trace_key(trace), "-" if last == "0-0" else f"({last}", count=_BATCH)
            pipe.exists(trace_key(trace))
        results = pipe.execute()
        worked = False
        for i, (trace, h) in enumerate(held):
            entries, exists = results[2 * i], results[2 * i + 1]
            if entries:
                worked = True
                for entry_id, item in h.cursor.feed(items(trace, entries)):
                    self._handle(h, entry_id, item)
            elif not exists:
                self._handle(h, *h.cursor.expired())
            if h.cursor.ended:
                self._finish(trace, h)
        return worked

    def _handle(self, held: _Held, entry_id: str, item: object) -> None:
        if isinstance(item, EntriesLost):
            _log.warning(
                "entries lost", trace_id=str(item.trace_id), count=item.count, why=item.why
            )
            if self._on_lost is not None:
                self._on_lost(item)
        else:
            self._dispatch(item)  # type: ignore[arg-type]
            self.handled += 1
        self._client.hset(held.key, "ckpt", entry_id)

    def _finish(self, trace: UUID, held: _Held) -> None:
        pipe = self._client.pipeline(transaction=False)
        pipe.hset(held.key, "done", "1")
        pipe.expire(held.key, self._ttl * 2)
        pipe.execute()
        self._client.xack(INDEX, self.group, held.index_id)
        with self._lock:
            self._held.pop(trace, None)

    # -- staying alive -------------------------------------------------------

    def _heartbeat(self, stop: threading.Event) -> None:
        """Keep this consumer's index entries fresh; notice the ones taken over."""
        while not stop.wait(self.claim_idle / 3):
            with self._lock:
                held = {h.index_id: t for t, h in self._held.items()}
            if not held:
                continue
            try:
                pipe = self._client.pipeline(transaction=False)
                for index_id in held:
                    pipe.xpending_range(INDEX, self.group, index_id, index_id, 1)
                owners = pipe.execute()
                mine = []
                for (index_id, trace), pending in zip(held.items(), owners, strict=True):
                    if pending and pending[0]["consumer"] != self.consumer:
                        with self._lock:
                            self._lost.add(trace)
                    else:
                        mine.append(index_id)
                if mine:
                    self._client.xclaim(INDEX, self.group, self.consumer, 0, mine, justid=True)
            except Exception as exc:  # Redis away for a moment: the main loop reports it
                _log.debug("heartbeat failed", error=type(exc).__name__)
