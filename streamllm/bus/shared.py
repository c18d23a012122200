"""One blocking XREAD for every async subscription of a RedisBus on one event loop.

Each ``asubscribe`` used to hold a blocking ``XREAD`` of its own: a web
process following 200 runs held 200 Redis connections, each woken apart. Now
a subscription reads on its own only to catch up (replay, without blocking),
then joins the loop's :class:`SharedReader`: one connection, one ``XREAD
BLOCK`` over every stream its members follow, each from the lowest id one of
them still needs. What comes back is handed to each member from its own
position, so ordering, replay, the gap notices and the end of a trace are
the :class:`~streamllm.bus.follow.Follower`'s, as before.

- A member that joins while the read is blocked has it cut short
  (``CLIENT UNBLOCK`` from another connection), so it is read at once.
- A member that lets ``_BUFFER`` entries pile up is let go: it drops what is
  waiting and reads on its own from where it stands, then joins again. A slow
  reader never holds the others back nor fills memory.
- A member that heard nothing for a block's length gets an empty batch (as an
  empty blocking read gave before), to notice a stream that expired.
- Redis failing ends the read: every member gets the error.

Redis Cluster has no ``XREAD`` across slots; there each subscription keeps
its own reads.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, final

from streamllm.bus.entries import Item, split
from streamllm.bus.errors import BusError
from streamllm.bus.follow import Entries, Follower

__all__ = ["Member", "SharedReader", "follow"]

COUNT = 500
_BUFFER = 10_000
Pairs = list[tuple[str, Entries]]
Parse = Callable[[Any], Pairs]


@final
class Member:
    """One subscription in the shared read: what it follows and what came for it."""

    __slots__ = ("batches", "buffered", "error", "follower", "heard", "left", "ready", "sent")

    def __init__(self, follower: Follower, now: float) -> None:
        self.follower = follower
        #: Per stream, the last id handed to this member (its reads go on from there).
        self.sent: dict[str, str] = {}
        self.batches: deque[Pairs] = deque()
        self.buffered = 0
        self.error: BaseException | None = None
        self.left = False  # let go: read on your own
        self.heard = now
        self.ready = asyncio.Event()

    def wants(self) -> dict[str, str]:
        """Each stream this member follows, and the id to read after."""
        wanted = self.follower.plan()
        for key, sent in self.sent.items():
            after = wanted.get(key)
            if after is not None and split(sent) > split(after):
                wanted[key] = sent
        return wanted

    async def next(self) -> Pairs | None:
        """The next batch (empty: nothing for a while), None once let go."""
        while not self.batches:
            if self.error is not None:
                raise self.error
            if self.left:
                return None
            self.ready.clear()
            await self.ready.wait()
        batch = self.batches.popleft()
        self.buffered -= sum(len(entries) for _, entries in batch)
        return batch

    def give(self, batch: Pairs, now: float) -> None:
        self.heard = now
        self.batches.append(batch)
        self.buffered += sum(len(entries) for _, entries in batch)
        self.ready.set()


@final
class SharedReader:
    """The blocking read of one event loop's subscriptions on one Redis (not a cluster)."""

    def __init__(self, client: Any, parse: Parse, block_ms: int) -> None:
        self._client = client
        self._parse = parse
        self._block_ms = block_ms
        self._members: dict[Member, None] = {}
        self._joined = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unblocks: set[asyncio.Task[None]] = set()
        self._conn_id: int | None = None
        self._reading = 0  # the read in progress (0: none)
        self._reads = 0
        self._closed = False

    def join(self, follower: Follower) -> Member:
        if self._closed:
            raise BusError("the bus was closed")
        loop = asyncio.get_running_loop()
        member = Member(follower, loop.time())
        self._members[member] = None
        self._joined.set()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="streamllm-bus-shared-reader")
        elif self._reading and self._conn_id is not None:
            task = loop.create_task(self._unblock(self._reading, self._conn_id))
            self._unblocks.add(task)
            task.add_done_callback(self._unblocks.discard)
        return member

    def leave(self, member: Member) -> None:
        self._members.pop(member, None)

    async def aclose(self) -> None:
        """Stop reading; subscriptions still following get a :class:`BusError`."""
        self._closed = True
        self._fail(BusError("the bus was closed while this subscription followed it"))
        self._joined.set()
        if self._reading and self._conn_id is not None:
            await self._unblock(self._reading, self._conn_id)
        tasks = [t for t in (self._task, *self._unblocks) if t is not None]
        for task in tasks:
            task.cancel()  # a read redis-py does not give up ends within a block
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    def _fail(self, error: BaseException) -> None:
        for member in self._members:
            member.error = error
            member.ready.set()
        self._members.clear()

    async def _unblock(self, read: int, conn_id: int) -> None:
        """Cut the blocking read ``read`` short, so the new member's streams are read."""
        with contextlib.suppress(Exception):  # not allowed (ACL): it waits out the block
            for _ in range(100):  # the read may not have reached Redis yet
                if self._reading != read or await self._client.execute_command(
                    "CLIENT", "UNBLOCK", conn_id
                ):
                    return
                await asyncio.sleep(0.001)

    async def _run(self) -> None:
        pool = self._client.connection_pool
        try:
            conn = await pool.get_connection()
        except TypeError:  # redis-py before 5.3 wants a command name
            conn = await pool.get_connection("XREAD")
        try:
            await conn.send_command("CLIENT", "ID")
            self._conn_id = int(await conn.read_response())
            while not self._closed:
                if not self._members:
                    self._joined.clear()
                    await self._joined.wait()
                    continue
                await self._read_once(conn)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis failed: every member is told
            self._fail(exc)
        finally:
            self._conn_id, self._reading = None, 0
            await conn.disconnect()
            await pool.release(conn)

    async def _read_once(self, conn: Any) -> None:
        wants = {m: m.wants() for m in self._members}
        lowest: dict[str, str] = {}
        for wanted in wants.values():
            for key, after in wanted.items():
                low = lowest.get(key)
                if low is None or split(after) < split(low):
                    lowest[key] = after
        if not lowest:  # every member is at its end: it leaves on its own
            await asyncio.sleep(self._block_ms / 1000)
            return
        self._reads += 1
        self._reading = self._reads
        try:
            await conn.send_command(
                "XREAD", "COUNT", COUNT, "BLOCK", self._block_ms,
                "STREAMS", *lowest, *lowest.values(),
            )  # fmt: skip
            reply = self._parse(await self._client.parse_response(conn, "XREAD"))
        finally:
            self._reading = 0
        self._deliver(wants, reply)

    def _deliver(self, wants: dict[Member, dict[str, str]], reply: Pairs) -> None:
        now = asyncio.get_running_loop().time()
        readers: dict[str, list[tuple[Member, tuple[int, int]]]] = {}
        for member, wanted in wants.items():
            if member in self._members:  # not left during the read
                for key, after in wanted.items():
                    readers.setdefault(key, []).append((member, split(after)))
        batches: dict[Member, Pairs] = {}
        for key, entries in reply:
            for member, position in readers.get(key, ()):
                new = _after(entries, position)
                if new:
                    batches.setdefault(member, []).append((key, new))
                    member.sent[key] = new[-1][0]
        for member in wants:
            batch = batches.get(member)
            if batch:
                member.give(batch, now)
                if member.buffered > _BUFFER:
                    self._let_go(member)
            elif member in self._members and now - member.heard >= self._block_ms / 1000:
                member.give([], now)

    def _let_go(self, member: Member) -> None:
        self.leave(member)
        member.batches.clear()
        member.buffered = 0
        member.left = True
        member.ready.set()


def _after(entries: Entries, after: tuple[int, int]) -> Entries:
    """The entries (in id order) with an id above ``after``."""
    if not entries or split(entries[0][0]) > after:
        return entries
    return entries[bisect.bisect_right(entries, after, key=lambda e: split(e[0])) :]


Read = Callable[[dict[str, str]], Awaitable[Pairs]]
Gone = Callable[[], Awaitable[tuple[str, Item] | None]]


async def follow(
    follower: Follower, reader: SharedReader, read: Read, gone: Gone
) -> AsyncGenerator[tuple[str, Item], None]:
    """A subscription's items: catch up with ``read`` (one non-blocking XREAD of a
    plan), then follow in ``reader``; ``gone`` says whether a quiet single trace
    expired (its notice, or None)."""
    while not follower.ended:
        while not follower.ended:  # catching up, on its own
            reply = await read(follower.plan())
            for item in follower.take(reply):
                yield item
            if all(len(entries) < COUNT for _, entries in reply):
                break
        if follower.ended:
            return
        member = reader.join(follower)
        try:
            while not follower.ended:
                batch = await member.next()
                if batch is None:
                    break  # let go for falling behind: catch up again
                if not batch and follower.single:
                    expired = await gone()
                    if expired is not None:
                        yield expired
                        return
                for item in follower.take(batch):
                    yield item
        finally:
            reader.leave(member)
