"""Following one trace, or every trace, on Redis: the decisions, without I/O.

Keys: ``streamllm:{<trace_id>}:events`` per trace (the braces are a Redis
Cluster hash tag, so everything about one trace lives on one slot) and the
index ``streamllm:runs``. A :class:`Follower` says which streams to read from
which ids next (:meth:`plan`) and turns what came back into items
(:meth:`take`); the sync and async shells in ``redis_bus`` do the reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, final
from uuid import UUID

from streamllm.bus.cursor import Cursor
from streamllm.bus.entries import TERMINAL_PHASES, Item, decode, split

__all__ = ["INDEX", "Follower", "pairs", "trace_key", "trace_of_key"]

INDEX = "streamllm:runs"
_PREFIX, _SUFFIX = "streamllm:{", "}:events"

#: An XREAD/XRANGE reply, decoded: (entry id, fields) in order.
Entries = Sequence[tuple[str, Mapping[str, str]]]


def trace_key(trace_id: UUID) -> str:
    """The stream of one trace."""
    return f"{_PREFIX}{trace_id}{_SUFFIX}"


def group_key(trace_id: UUID, group: str) -> str:
    """A consumer group's progress through one trace (on the trace's slot)."""
    return f"{_PREFIX}{trace_id}}}:group:{group}"


def trace_of_key(key: str) -> UUID:
    return UUID(key[len(_PREFIX) : -len(_SUFFIX)])


def items(trace_id: UUID, entries: Entries) -> list[tuple[str, Item]]:
    return [(entry_id, decode(trace_id, fields)) for entry_id, fields in entries]


@final
class Follower:
    """Where a subscription stands: one cursor per trace, and (when following
    every trace) a position in the index, to find traces that start later."""

    __slots__ = ("cursors", "index_last", "single")

    def __init__(self, cursors: dict[UUID, Cursor], index_last: str | None) -> None:
        self.cursors = cursors
        self.index_last = index_last
        self.single = index_last is None

    @classmethod
    def one(cls, trace_id: UUID, after: str, last: tuple[str, Item] | None) -> Follower:
        """Follow one trace; ``last`` is its stream's last entry now (None: empty)."""
        if after == "$":
            after = last[0] if last is not None else "0"
        cursor = Cursor(trace_id, after)
        cursor.check_over(last)
        return cls({trace_id: cursor}, None)

    @classmethod
    def every(
        cls, index: Entries, after: str, last_ids: Mapping[UUID, str] | None = None
    ) -> Follower:
        """Follow every trace: ``index`` is the index stream as it is now.

        With ``after="$"``, ``last_ids`` gives each trace's last entry id, and
        reading starts there; otherwise each trace is read from ``after``.
        Traces whose root ended at or before that point are not followed.
        """
        ends: dict[UUID, str] = {}
        traces: dict[UUID, None] = {}
        for _, fields in index:
            trace = UUID(fields["trace"])
            traces[trace] = None
            if fields["run"] == fields["trace"] and fields["phase"] in TERMINAL_PHASES:
                ends[trace] = fields["id"]
        cursors: dict[UUID, Cursor] = {}
        foreign = after not in ("0", "0-0")
        for trace in traces:
            if after == "$":
                cursor = Cursor(trace, (last_ids or {}).get(trace, "0"))
            else:
                cursor = Cursor(trace, after, expect=None if foreign else -1)
            end = ends.get(trace)
            cursor.ended = end is not None and split(end) <= split(cursor.last)
            cursors[trace] = cursor
        return cls(cursors, index[-1][0] if index else "0-0")

    @property
    def ended(self) -> bool:
        return self.single and all(c.ended for c in self.cursors.values())

    def plan(self) -> dict[str, str]:
        """The streams to read next, and the id to read each after."""
        wanted = {trace_key(t): c.last for t, c in self.cursors.items() if not c.ended}
        if self.index_last is not None:
            wanted[INDEX] = self.index_last
        return wanted

    def take(self, reply: Iterable[tuple[str, Entries]]) -> list[tuple[str, Item]]:
        """What a reader sees of an XREAD reply (index entries are not shown)."""
        out: list[tuple[str, Item]] = []
        for key, entries in reply:
            if key == INDEX:
                self._discover(entries)
                continue
            trace = trace_of_key(key)
            out.extend(self.cursors[trace].feed(items(trace, entries)))
        return out

    def _discover(self, entries: Entries) -> None:
        for entry_id, fields in entries:
            self.index_last = entry_id
            trace = UUID(fields["trace"])
            if trace not in self.cursors:
                self.cursors[trace] = Cursor(trace, "0")


def pairs(reply: Any) -> list[tuple[str, Entries]]:
    """XREAD's reply as (key, entries) pairs (RESP2 gives a list, RESP3 a dict)."""
    if not reply:
        return []
    if isinstance(reply, Mapping):
        return [(k, v[0] if v and isinstance(v[0], list) else v) for k, v in reply.items()]
    return [(key, entries) for key, entries in reply]
