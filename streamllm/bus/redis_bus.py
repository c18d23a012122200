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
import contextlib
import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, final
from uuid import UUID

from streamllm.bus import shared, steps
from streamllm.bus.base import Bus, LostCallback, as_uuid
from streamllm.bus.batch import Batch, Expiry
from streamllm.bus.cursor import start_id
from streamllm.bus.entries import EntriesLost, Item, Numbering
from streamllm.bus.errors import BusError, redact, translated
from streamllm.bus.follow import INDEX, Entries, Follower, items, pairs, trace_key
from streamllm.bus.resp import send_packed
from streamllm.bus.runs import RunInfo, fold
from streamllm.bus.shared import COUNT, SharedReader
from streamllm.bus.steps import Reads, Step, Steps, Writes, reply_pairs
from streamllm.events import BaseEvent

__all__ = ["RedisBus"]

_SCHEMES = ("redis", "rediss", "unix")
_BLOCK_MS = 1000
_MAX_ACONNECTIONS = 100  # per event loop (one of them the shared blocking read)
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
        self._expiry = Expiry()
        self._client: Any = None
        self._aclients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._readers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SharedReader] = (
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
                if self._cluster:
                    client = RedisCluster.from_url(self._url, **options)
                else:
                    # Many subscriptions starting at once wait for a connection
                    # rather than fail with "Too many connections".
                    pool = aredis.BlockingConnectionPool.from_url(
                        self._url, max_connections=_MAX_ACONNECTIONS,
                        timeout=options["socket_timeout"], **options,
                    )  # fmt: skip
                    client = aredis.Redis.from_pool(pool)
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

    # -- talking to Redis: the two shells of streamllm.bus.steps ---------------

    def _do(self, client: Any, step: Step) -> Any:
        if isinstance(step, Writes) and not self._cluster:
            return send_packed(client.connection_pool, step)
        if isinstance(step, Reads | Writes):
            pipe = client.pipeline(transaction=False)
            for command in step:
                pipe.execute_command(*command)
            return pipe.execute(raise_on_error=False)
        return client.execute_command(*step)

    async def _ado(self, client: Any, step: Step) -> Any:
        if isinstance(step, Reads | Writes):
            pipe = client.pipeline(transaction=False)
            for command in step:
                pipe.execute_command(*command)
            return await pipe.execute(raise_on_error=False)
        return await client.execute_command(*step)

    def _drive(self, ops: Steps) -> Any:
        client = self.client
        try:
            step = next(ops)
            while True:
                step = ops.send(self._do(client, step))
        except StopIteration as stop:
            return stop.value

    async def _adrive(self, ops: Steps) -> Any:
        client = await self._aclient()
        try:
            step = next(ops)
            while True:
                step = ops.send(await self._ado(client, step))
        except StopIteration as stop:
            return stop.value

    @contextmanager
    def _numbers(self) -> Iterator[Numbering]:
        with self._lock:
            yield self._numbering

    # -- writing -------------------------------------------------------------

    def prepared(self, events: Sequence[BaseEvent], notices: Sequence[EntriesLost] = ()) -> Batch:
        """Number a batch for :meth:`send` (ids are chosen once, kept across retries)."""
        with self._numbers() as numbering:
            return Batch.of(events, notices, numbering, self.maxlen)

    def send(self, batch: Batch) -> None:
        """Write what of ``batch`` is not written yet; call again after a BusError."""
        with translated(self._url, "writing"):
            ops = steps.send(batch, self.ttl, self.index_maxlen, self._numbers(), self._expiry)
            done = self._drive(ops)
        if not done:
            raise BusError(f"writing on {self.url}: Redis refused entries of this batch")

    def publish(self, event: BaseEvent) -> str:
        batch = self.prepared([event])
        self.send(batch)
        return batch.entries[-1].entry_id

    async def apublish(self, event: BaseEvent) -> str:
        batch = self.prepared([event])
        with translated(self._url, "writing"):
            ops = steps.send(batch, self.ttl, self.index_maxlen, self._numbers(), self._expiry)
            done = await self._adrive(ops)
        if not done:
            raise BusError(f"writing on {self.url}: Redis refused the entry")
        return batch.entries[-1].entry_id

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

    def subscribe(
        self, trace_id: UUID | str | None = None, after: str = "0"
    ) -> Iterator[tuple[str, Item]]:
        trace = None if trace_id is None else as_uuid(trace_id)
        with translated(self._url, "subscribing"):
            follower: Follower = self._drive(steps.follower(trace, after))
        client = self.client
        while not follower.ended:
            step = steps.read_plan(follower.plan(), bool(self._cluster), _BLOCK_MS)
            expired = None
            with translated(self._url, "reading"):
                reply = reply_pairs(step, self._do(client, step))
                if not reply and isinstance(step, Reads):
                    threading.Event().wait(_POLL_S)
                if not reply and trace and self._drive(steps.gone(trace, self.index_maxlen)):
                    expired = follower.cursors[trace].expired()
            if expired is not None:
                yield expired
                return
            yield from follower.take(reply)

    async def asubscribe(
        self, trace_id: UUID | str | None = None, after: str = "0"
    ) -> AsyncIterator[tuple[str, Item]]:
        """See :meth:`Bus.asubscribe`. On one Redis (not a cluster) the
        subscriptions of one event loop share one blocking read
        (:mod:`streamllm.bus.shared`)."""
        trace = None if trace_id is None else as_uuid(trace_id)
        with translated(self._url, "subscribing"):
            follower: Follower = await self._adrive(steps.follower(trace, after))
            client = await self._aclient()
        if self._cluster:
            entries = self._afollow_alone(client, follower, trace)
        else:

            async def read(plan: dict[str, str]) -> list[tuple[str, Entries]]:
                flat = [x for pair in plan.items() for x in pair]
                keys, ids = flat[0::2], flat[1::2]
                return pairs(
                    await client.execute_command("XREAD", "COUNT", COUNT, "STREAMS", *keys, *ids)
                )

            async def gone() -> tuple[str, Item] | None:
                assert trace is not None
                if await self._adrive(steps.gone(trace, self.index_maxlen)):
                    return follower.cursors[trace].expired()
                return None

            entries = shared.follow(follower, self._reader(client), read, gone)
        async with contextlib.aclosing(entries):
            while True:
                with translated(self._url, "reading"):
                    try:
                        item = await anext(entries)
                    except StopAsyncIteration:
                        return
                yield item

    def _reader(self, client: Any) -> SharedReader:
        loop = asyncio.get_running_loop()
        reader = self._readers.get(loop)
        if reader is None:
            reader = self._readers[loop] = SharedReader(client, pairs, _BLOCK_MS)
        return reader

    async def _afollow_alone(
        self, client: Any, follower: Follower, trace: UUID | None
    ) -> AsyncGenerator[tuple[str, Item], None]:
        """A subscription's own reads (on a cluster, where one XREAD cannot span slots)."""
        while not follower.ended:
            step = steps.read_plan(follower.plan(), True, _BLOCK_MS)
            reply = reply_pairs(step, await self._ado(client, step))
            if not reply and isinstance(step, Reads):
                await asyncio.sleep(_POLL_S)
            if not reply and trace and await self._adrive(steps.gone(trace, self.index_maxlen)):
                yield follower.cursors[trace].expired()
                return
            for item in follower.take(reply):
                yield item

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
        reader = self._readers.pop(asyncio.get_running_loop(), None)
        if reader is not None:
            await reader.aclose()
        client = self._aclients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
        self.close()
