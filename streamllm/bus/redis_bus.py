"""RedisBus: the bus across processes, on Redis Streams (extra ``[redis]``).

Layout (DESIGN.md section 13): one stream per trace,
``streamllm:{<trace_id>}:events``, capped with an approximate ``maxlen`` and
expiring ``ttl`` seconds after its last entry (the root's terminal event);
the index stream ``streamllm:runs`` of run starts and terminals. Every key of
one trace carries the trace's hash tag, so the bus works on Redis Cluster
(found by itself, or forced with ``cluster=True``).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any, final
from uuid import UUID

from streamllm.bus.base import Bus, LostCallback, as_uuid
from streamllm.bus.batch import Batch, Command
from streamllm.bus.cursor import start_id
from streamllm.bus.entries import EntriesLost, Item, Numbering
from streamllm.bus.errors import BusError, redact, translated
from streamllm.bus.follow import INDEX, Entries, Follower, items, trace_key
from streamllm.bus.runs import RunInfo, fold
from streamllm.events import BaseEvent

__all__ = ["RedisBus"]

_SCHEMES = ("redis", "rediss", "unix")
_BLOCK_MS = 1000
_POLL_S = 0.02  # between reads of many streams on a cluster (no multi-slot XREAD there)


@final
class RedisBus(Bus):
    """Events across processes on Redis Streams.

    >>> bus = RedisBus("redis://:secret@127.0.0.1:6379/0")
    >>> bus
    RedisBus('redis://:***@127.0.0.1:6379/0')

    Nothing connects until first use. Every redis-py error becomes a
    :class:`BusError` whose message names the URL without its password.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        maxlen: int = 10_000,
        ttl: float = 86_400.0,
        index_maxlen: int = 10_000,
        cluster: bool | None = None,
        connect_timeout: float = 2.0,
        timeout: float = 5.0,
    ) -> None:
        self.url = redact(url)
        scheme = url.partition("://")[0].lower() if "://" in url else ""
        if scheme not in _SCHEMES:
            raise BusError(f"not a Redis URL: {self.url!r} (use redis://, rediss:// or unix://)")
        self._url = url
        self.maxlen, self.ttl, self.index_maxlen = maxlen, max(1, int(ttl)), index_maxlen
        self._cluster = cluster
        self._options: dict[str, Any] = {
            "decode_responses": True,
            "socket_connect_timeout": connect_timeout,
            # A blocking read waits up to _BLOCK_MS on the server; the socket a little longer.
            "socket_timeout": max(timeout, _BLOCK_MS / 1000 + 1.0),
        }
        self._lock = threading.Lock()
        self._numbering = Numbering()
        self._client: Any = None
        self._aclients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"RedisBus({self.url!r})"

    # -- connections ---------------------------------------------------------

    def _retry(self) -> Any:
        # No retries inside redis-py: the publisher retries on its own terms, and
        # a wrong URL must fail quickly rather than after a backoff schedule.
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        return Retry(NoBackoff(), 0)

    @property
    def client(self) -> Any:
        """The synchronous redis-py client (``Redis`` or ``RedisCluster``)."""
        if self._client is None:
            with self._lock, translated(self._url, "connecting"):
                if self._client is None:
                    self._client = self._connect()
        return self._client

    def _connect(self) -> Any:
        import redis
        from redis.cluster import RedisCluster

        options = {**self._options, "retry": self._retry()}
        if self._cluster is None:
            probe = redis.Redis.from_url(self._url, **options)
            try:
                self._cluster = bool(probe.info("cluster").get("cluster_enabled"))
            finally:
                probe.close()
        if self._cluster:
            return RedisCluster.from_url(self._url, **options)
        return redis.Redis.from_url(self._url, **options)

    async def _aclient(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._aclients.get(loop)
        if client is None:
            import redis.asyncio as aredis
            from redis.asyncio.cluster import RedisCluster

            options = {**self._options, "retry": self._aretry()}
            with translated(self._url, "connecting"):
                if self._cluster is None:
                    probe = aredis.Redis.from_url(self._url, **options)
                    try:
                        info = await probe.info("cluster")
                        self._cluster = bool(info.get("cluster_enabled"))
                    finally:
                        await probe.aclose()
                factory = RedisCluster if self._cluster else aredis.Redis
                client = factory.from_url(self._url, **options)
            self._aclients[loop] = client
        return client

    def _aretry(self) -> Any:
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        return Retry(NoBackoff(), 0)

    def ping(self) -> None:
        """Check that Redis answers (:class:`BusError` quickly when it does not)."""
        with translated(self._url, "ping"):
            self.client.ping()

    # -- writing -------------------------------------------------------------

    def prepared(self, events: Sequence[BaseEvent], notices: Sequence[EntriesLost] = ()) -> Batch:
        """Number a batch for :meth:`send` (ids are chosen once, kept across retries)."""
        with self._lock:
            return Batch.of(events, notices, self._numbering, self.maxlen)

    def send(self, batch: Batch) -> None:
        """Write what of ``batch`` is not written yet; call again after a BusError."""
        with translated(self._url, "writing"):
            for _ in range(3):
                commands, owners = batch.stream_commands(self.ttl)
                collided = batch.absorb(owners, self._pipe(commands)) if commands else set()
                if not collided:
                    break
                self._renumber(batch, collided, [self._top(t) for t in collided])
            commands, index_owners = batch.index_commands(self.index_maxlen)
            if commands:
                results = self._pipe(commands)
                for pending, result in zip(index_owners, results, strict=True):
                    pending.indexed = not isinstance(result, Exception)
            if not batch.done:
                raise BusError(f"writing on {self.url}: Redis refused entries of this batch")

    def _pipe(self, commands: list[Command]) -> list[Any]:
        client = self.client
        if not self._cluster:
            return _send_packed(client.connection_pool, commands)
        pipe = client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return list(pipe.execute(raise_on_error=False))

    def _top(self, trace: UUID) -> str:
        info = self.client.xinfo_stream(trace_key(trace))
        return str(info["last-generated-id"])

    def _renumber(self, batch: Batch, traces: Iterable[UUID], tops: Iterable[str]) -> None:
        with self._lock:
            for trace, top in zip(traces, tops, strict=True):
                batch.renumber(trace, top, self._numbering)

    def publish(self, event: BaseEvent) -> str:
        batch = self.prepared([event])
        self.send(batch)
        return batch.entries[-1].entry_id

    async def apublish(self, event: BaseEvent) -> str:
        batch = self.prepared([event])
        client = await self._aclient()
        with translated(self._url, "writing"):
            for _ in range(3):
                commands, owners = batch.stream_commands(self.ttl)
                collided = batch.absorb(owners, await self._apipe(client, commands))
                if not collided:
                    break
                tops = [
                    (await client.xinfo_stream(trace_key(t)))["last-generated-id"] for t in collided
                ]
                self._renumber(batch, collided, tops)
            commands, index_owners = batch.index_commands(self.index_maxlen)
            if commands:
                results = await self._apipe(client, commands)
                for pending, result in zip(index_owners, results, strict=True):
                    pending.indexed = not isinstance(result, Exception)
        if not batch.done:
            raise BusError(f"writing on {self.url}: Redis refused the entry")
        return batch.entries[-1].entry_id

    @staticmethod
    async def _apipe(client: Any, commands: list[Command]) -> list[Any]:
        pipe = client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return list(await pipe.execute(raise_on_error=False))

    # -- reading -------------------------------------------------------------

    def read(self, trace_id: UUID | str, after: str = "0") -> list[tuple[str, Item]]:
        trace = as_uuid(trace_id)
        start = start_id(after)
        with translated(self._url, "reading"):
            entries = self.client.xrange(trace_key(trace), "-" if start == "0-0" else f"({start}")
        return items(trace, entries)

    def runs(self, limit: int = 100) -> list[RunInfo]:
        with translated(self._url, "reading the index"):
            entries = self.client.xrange(INDEX)
        return fold([fields for _, fields in entries], limit)

    async def aruns(self, limit: int = 100) -> list[RunInfo]:
        client = await self._aclient()
        with translated(self._url, "reading the index"):
            entries = await client.xrange(INDEX)
        return fold([fields for _, fields in entries], limit)

    def _last_entries(self, traces: Iterable[UUID]) -> dict[UUID, tuple[str, Item]]:
        keys = list(traces)
        pipe = self.client.pipeline(transaction=False)
        for trace in keys:
            pipe.xrevrange(trace_key(trace), count=1)
        found = {}
        for trace, result in zip(keys, pipe.execute(), strict=True):
            if result:
                found[trace] = items(trace, result)[0]
        return found

    def _follower(self, trace_id: UUID | str | None, after: str) -> Follower:
        with translated(self._url, "subscribing"):
            if trace_id is not None:
                trace = as_uuid(trace_id)
                return Follower.one(trace, after, self._last_entries([trace]).get(trace))
            index: Entries = self.client.xrange(INDEX)
            if after != "$":
                return Follower.every(index, after)
            traces = {UUID(f["trace"]) for _, f in index}
            last = {t: entry[0] for t, entry in self._last_entries(traces).items()}
            return Follower.every(index, after, last)

    def subscribe(
        self, trace_id: UUID | str | None = None, after: str = "0"
    ) -> Iterator[tuple[str, Item]]:
        follower = self._follower(trace_id, after)
        client = self.client
        while not follower.ended:
            plan = follower.plan()
            with translated(self._url, "reading"):
                if self._cluster and len(plan) > 1:
                    reply = _merge(
                        self._pipe(
                            [("XREAD", "COUNT", 500, "STREAMS", k, v) for k, v in plan.items()]
                        )
                    )
                    if not reply:
                        threading.Event().wait(_POLL_S)
                else:
                    reply = client.xread(plan, count=500, block=_BLOCK_MS)
            if not reply and follower.single and self._gone(next(iter(follower.cursors))):
                yield next(iter(follower.cursors.values())).expired()
                return
            yield from follower.take(_pairs(reply))

    async def asubscribe(
        self, trace_id: UUID | str | None = None, after: str = "0"
    ) -> AsyncIterator[tuple[str, Item]]:
        follower = await asyncio.to_thread(self._follower, trace_id, after)
        client = await self._aclient()
        while not follower.ended:
            plan = follower.plan()
            with translated(self._url, "reading"):
                if self._cluster and len(plan) > 1:
                    cmds = [("XREAD", "COUNT", 500, "STREAMS", k, v) for k, v in plan.items()]
                    reply = _merge(await self._apipe(client, cmds))
                    if not reply:
                        await asyncio.sleep(_POLL_S)
                else:
                    reply = await client.xread(plan, count=500, block=_BLOCK_MS)
            if (
                not reply
                and follower.single
                and await asyncio.to_thread(self._gone, next(iter(follower.cursors)))
            ):
                yield next(iter(follower.cursors.values())).expired()
                return
            for item in follower.take(_pairs(reply)):
                yield item

    def _gone(self, trace: UUID) -> bool:
        """True when the trace's stream is missing and the index says it ended."""
        with translated(self._url, "reading"):
            if self.client.exists(trace_key(trace)):
                return False
            for _, fields in self.client.xrevrange(INDEX, count=self.index_maxlen):
                if fields["trace"] == fields["run"] == str(trace):
                    return bool(fields["phase"] != "start")
        return False

    # -- consumer groups -----------------------------------------------------

    def consume(
        self,
        group: str,
        consumer: str,
        handlers: Iterable[object],
        *,
        stop: threading.Event | None = None,
        on_lost: LostCallback | None = None,
        start: str = "$",
        claim_idle: float = 30.0,
    ) -> None:
        """See :meth:`Bus.consume`. A consumer that stops answering for
        ``claim_idle`` seconds loses its traces to the others, which go on from
        the group's checkpoint in each. A new group starts with the runs that
        start after it (``start="$"``) or with the whole index (``"0"``)."""
        from streamllm.bus.redis_group import GroupConsumer

        worker = GroupConsumer(
            self.client, self._url, self.ttl, group, consumer, handlers,
            claim_idle=claim_idle, on_lost=on_lost,
        )  # fmt: skip
        worker.run(stop or threading.Event(), start)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        client = self._aclients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
        self.close()


def _send_packed(pool: Any, commands: list[Command]) -> list[Any]:
    """Write commands in one round trip on one pooled connection; the replies in
    order, a refused command's error in its place.

    What ``pipeline(transaction=False)`` does for writes, without its per-command
    bookkeeping and reply callbacks (XADD and EXPIRE replies need none): about a
    fifth of the publisher's time per event.
    """
    from redis.exceptions import ResponseError

    try:
        conn = pool.get_connection()
    except TypeError:  # redis-py before 5.3 wants a command name
        conn = pool.get_connection("XADD")
    try:
        conn.send_packed_command(conn.pack_commands(commands))
        results: list[Any] = []
        for _ in commands:
            try:
                results.append(conn.read_response())
            except ResponseError as exc:
                results.append(exc)
        return results
    except BaseException:
        conn.disconnect()  # replies may be left unread: never reuse it
        raise
    finally:
        pool.release(conn)


def _pairs(reply: Any) -> list[tuple[str, Entries]]:
    """XREAD's reply as (key, entries) pairs (RESP2 gives a list, RESP3 a dict)."""
    if not reply:
        return []
    if isinstance(reply, Mapping):
        return [(k, v[0] if v and isinstance(v[0], list) else v) for k, v in reply.items()]
    return [(key, entries) for key, entries in reply]


def _merge(results: list[Any]) -> list[Any]:
    merged: list[Any] = []
    for result in results:
        if isinstance(result, Exception):
            raise result
        if result:
            merged.extend(_pairs(result))
    return merged
