"""What RedisBus asks Redis, once for the sync and the async client.

Each operation is a generator that yields what to send and receives Redis's
answer: a command tuple (one command), :class:`Reads` (a pipeline of reads,
answers parsed by redis-py) or :class:`Writes` (a pipeline of writes whose
answers need no parsing, so the sync shell may send them packed on one
connection). ``RedisBus`` drives them with ``client.execute_command`` and
pipelines, sync or async: the decisions live here, the I/O in two thin loops.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any, final
from uuid import UUID

from streamllm.bus.batch import Batch, Command, Expiry
from streamllm.bus.entries import Item
from streamllm.bus.follow import INDEX, Entries, Follower, items, pairs, trace_key

__all__ = [
    "Reads",
    "Step",
    "Steps",
    "Writes",
    "follower",
    "gone",
    "read_plan",
    "reply_pairs",
    "send",
]


@final
class Reads(list[Command]):
    """A pipeline of reads (redis-py parses the answers)."""


@final
class Writes(list[Command]):
    """A pipeline of writes (XADD, EXPIRE); a refused one's error in its place."""


Step = Command | Reads | Writes
Steps = Generator[Step, Any, Any]


def _ok(results: Sequence[Any]) -> Sequence[Any]:
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


def send(
    batch: Batch, ttl: int, index_maxlen: int, numbering: Any, expiry: Expiry | None = None
) -> Steps:
    """Write what of ``batch`` is not written yet (see :mod:`streamllm.bus.batch`).

    ``numbering`` is a context manager giving the bus's
    :class:`~streamllm.bus.entries.Numbering` under its lock (for renumbering
    after another writer got ahead); ``expiry`` says which traces' expiry is
    due for a refresh. Returns whether all of it is written.
    """
    for _ in range(3):
        commands, owners = batch.stream_commands(ttl, expiry)
        if not commands:
            break
        collided = batch.absorb(owners, (yield Writes(commands)), expiry)
        if not collided:
            break
        traces = sorted(collided)
        infos = _ok((yield Reads([("XINFO STREAM", trace_key(t)) for t in traces])))
        with numbering as numbers:
            for trace, info in zip(traces, infos, strict=True):
                batch.renumber(trace, str(info["last-generated-id"]), numbers)
    commands, index_owners = batch.index_commands(index_maxlen)
    if commands:
        results = yield Writes(commands)
        for pending, result in zip(index_owners, results, strict=True):
            pending.indexed = not isinstance(result, Exception)
    return batch.done


def _last(trace: UUID, reply: Entries) -> tuple[str, Item] | None:
    return items(trace, reply)[0] if reply else None


def follower(trace_id: UUID | None, after: str) -> Steps:
    """Where a subscription starts (see :class:`Follower`)."""
    if trace_id is not None:
        reply = yield ("XREVRANGE", trace_key(trace_id), "+", "-", "COUNT", 1)
        return Follower.one(trace_id, after, _last(trace_id, reply))
    index: Entries = yield ("XRANGE", INDEX, "-", "+")
    if after != "$":
        return Follower.every(index, after)
    traces = list({UUID(fields["trace"]): None for _, fields in index})
    replies = _ok(
        (yield Reads([("XREVRANGE", trace_key(t), "+", "-", "COUNT", 1) for t in traces]))
    )
    last = {t: r[0][0] for t, r in zip(traces, replies, strict=True) if r}
    return Follower.every(index, after, last)


def gone(trace: UUID, index_maxlen: int) -> Steps:
    """True when the trace's stream is missing and the index says its root ended:
    the stream expired, and a subscription waiting on it would wait forever."""
    if (yield ("EXISTS", trace_key(trace))):
        return False
    for _, fields in (yield ("XREVRANGE", INDEX, "+", "-", "COUNT", index_maxlen)):
        if fields["trace"] == fields["run"] == str(trace):
            return fields["phase"] != "start"
    return False


def read_plan(plan: dict[str, str], cluster: bool, block_ms: int) -> Step:
    """The read of a subscription's next entries: one blocking XREAD, or on a
    cluster (where one XREAD cannot span slots) a pipeline of non-blocking ones."""
    if cluster and len(plan) > 1:
        return Reads([("XREAD", "COUNT", 500, "STREAMS", k, v) for k, v in plan.items()])
    flat = [x for pair in plan.items() for x in pair]
    keys, ids = flat[0::2], flat[1::2]
    return ("XREAD", "COUNT", 500, "BLOCK", block_ms, "STREAMS", *keys, *ids)


def reply_pairs(step: Step, result: Any) -> list[tuple[str, Entries]]:
    """An XREAD's answer (or a pipeline of them) as (key, entries) pairs."""
    if not isinstance(step, Reads):
        return pairs(result)
    merged: list[tuple[str, Entries]] = []
    for one in result:
        if isinstance(one, Exception):
            raise one
        merged.extend(pairs(one))
    return merged
