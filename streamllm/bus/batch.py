"""A batch of entries on its way to Redis, and what Redis's answers mean, without I/O.

A batch is numbered once (:meth:`Batch.of`) and then sent, possibly several
times: each send writes what is not known to be written yet. Redis refuses an
entry id that is not above its stream's top; after a failed send that means
"this one made it the first time", so a retried entry is never written twice.
On a first send it means another writer got there first: the trace is
renumbered after the stream's top and those entries are sent again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, final
from uuid import UUID

from streamllm.bus.entries import (
    SCHEMA_FIELD,
    EntriesLost,
    Numbering,
    encode_lost,
    event_body,
    is_root_terminal,
)
from streamllm.bus.follow import INDEX, trace_key
from streamllm.bus.runs import index_fields
from streamllm.events import BaseEvent

__all__ = ["Batch", "Command", "Expiry", "Pending"]

Command = tuple[Any, ...]
_clock = time.monotonic
_TOP = "equal or smaller than the target stream top item"
_V = (*SCHEMA_FIELD, "e")


@final
class Pending:
    """One entry of a batch: its XADD (id included), and how far it got."""

    __slots__ = ("command", "ends", "index", "indexed", "trace_id", "tries", "written")

    def __init__(self, trace_id: UUID, command: Command) -> None:
        self.trace_id = trace_id
        self.command = command
        self.index: dict[str, str] | None = None
        self.ends = False  # the root's terminal event: the trace's last entry
        self.written = False
        self.indexed = True
        #: Sends that carried this entry under its current id.
        self.tries = 0

    @property
    def entry_id(self) -> str:
        return str(self.command[_ID])

    def renamed(self, entry_id: str) -> None:
        self.command = (*self.command[:_ID], entry_id, *self.command[_ID + 1 :])
        self.tries = 0
        if self.index is not None:
            self.index["id"] = entry_id


@final
class Expiry:
    """When each trace's stream last had its expiry pushed out (one per bus).

    Refreshing at every batch costs an EXPIRE per trace per batch: with many
    runs streaming at once, as many commands as entries. Once per ``every``
    seconds is enough; a run's start and end (entries that go into the index)
    always refresh. ``every`` is a tenth of the ttl, at most one second.
    """

    __slots__ = ("_at",)

    _MAX = 100_000  # traces remembered; all forgotten at once past this (then refreshed again)

    def __init__(self) -> None:
        self._at: dict[str, float] = {}

    def due(self, key: str, ttl: int) -> bool:
        at = self._at.get(key)
        return at is None or _clock() - at >= min(1.0, ttl / 10)

    def refreshed(self, key: str) -> None:
        if len(self._at) >= self._MAX:
            self._at.clear()
        self._at[key] = _clock()

    def forget(self, key: str) -> None:
        """The trace ended (its last EXPIRE is on its way)."""
        self._at.pop(key, None)


_ID = 5  # where the entry id sits in ("XADD", key, "MAXLEN", "~", maxlen, id, *fields)


@final
class Batch:
    """Entries numbered for their trace streams, ready to send (and resend)."""

    __slots__ = ("entries",)

    def __init__(self, entries: list[Pending]) -> None:
        self.entries = entries

    @classmethod
    def of(
        cls,
        events: Sequence[BaseEvent],
        notices: Sequence[EntriesLost],
        numbering: Numbering,
        maxlen: int,
    ) -> Batch:
        """Number ``notices`` then ``events`` (the caller holds the numbering's lock).

        This runs on the publisher's writer thread for every event, so the
        work per event is kept to the JSON and one tuple.
        """
        ms = time.time_ns() // 1_000_000
        keys: dict[UUID, str] = {}
        entries = []
        for notice in notices:
            fields = encode_lost(notice.run_id or notice.trace_id, notice.count or 0)
            flat = [x for pair in fields.items() for x in pair]
            entry_id = numbering.next(notice.trace_id, ms)
            command = ("XADD", trace_key(notice.trace_id), "MAXLEN", "~", maxlen, entry_id, *flat)
            entries.append(Pending(notice.trace_id, command))
        for event in events:
            trace = event.trace_id
            key = keys.get(trace)
            if key is None:
                key = keys[trace] = trace_key(trace)
            entry_id = numbering.next(trace, ms)
            body = event_body(event)
            pending = Pending(trace, ("XADD", key, "MAXLEN", "~", maxlen, entry_id, *_V, body))
            if type(event).phase != "step":
                pending.index = index_fields(event, entry_id)
                pending.indexed = pending.index is None
                if is_root_terminal(event):
                    numbering.forget(trace)
                    pending.ends = True
            entries.append(pending)
        return cls(entries)

    @property
    def done(self) -> bool:
        return all(p.written and p.indexed for p in self.entries)

    def stream_commands(
        self, ttl: int, expiry: Expiry | None = None
    ) -> tuple[list[Command], list[Pending | str | None]]:
        """XADDs of the entries not yet written, then an EXPIRE per trace that is due.

        Writes push the trace's expiry ``ttl`` seconds out, so a stream expires
        ``ttl`` after its last entry: the root's terminal event (always
        refreshed), or the last sign of life of a run whose process died. With
        ``expiry``, a trace refreshed less than a tenth of ``ttl`` (at most a
        second) ago is not refreshed again: its stream then expires at most
        that much before ``ttl`` after its last entry.
        """
        commands: list[Command] = []
        owners: list[Pending | str | None] = []
        keys: dict[str, bool] = {}  # the traces to refresh: True when this is their end
        for p in self.entries:
            if p.written:
                continue
            key = p.command[1]
            if p.ends:
                keys[key] = True
            elif expiry is None or p.index is not None or expiry.due(key, ttl):
                keys.setdefault(key, False)
            commands.append(p.command)
            owners.append(p)
            p.tries += 1
        for key, ends in keys.items():
            commands.append(("EXPIRE", key, ttl))
            if expiry is not None and ends:
                expiry.forget(key)
            owners.append(None if expiry is None or ends else key)
        return commands, owners

    def absorb(
        self,
        owners: list[Pending | str | None],
        results: Sequence[object],
        expiry: Expiry | None = None,
    ) -> set[UUID]:
        """Take Redis's answers to :meth:`stream_commands`; the traces to renumber.

        Raises the first error that is not about ids (the batch stays to be sent again).
        """
        collided: set[UUID] = set()
        failure: Exception | None = None
        for pending, result in zip(owners, results, strict=True):
            if pending is None or isinstance(pending, str):
                if pending and expiry is not None and result == 1:
                    expiry.refreshed(pending)
                continue
            if not isinstance(result, Exception):
                pending.written = True
            elif _TOP in str(result):
                if pending.tries > 1:
                    pending.written = True  # it made it on an earlier try
                else:
                    collided.add(pending.trace_id)
            elif failure is None:
                failure = result
        if failure is not None:
            raise failure
        return collided

    def renumber(self, trace_id: UUID, top: str, numbering: Numbering) -> None:
        """Another writer is ahead in ``trace_id``'s stream: number ours after ``top``."""
        numbering.restart_after(trace_id, top)
        ms = time.time_ns() // 1_000_000
        for p in self.entries:
            if p.trace_id == trace_id and not p.written:
                p.renamed(numbering.next(trace_id, ms))

    def index_commands(self, index_maxlen: int) -> tuple[list[Command], list[Pending]]:
        """XADDs to the index for written entries that start or end a run."""
        commands: list[Command] = []
        owners: list[Pending] = []
        for p in self.entries:
            if p.written and not p.indexed and p.index is not None:
                flat = [x for pair in p.index.items() for x in pair]
                commands.append(("XADD", INDEX, "MAXLEN", "~", index_maxlen, "*", *flat))
                owners.append(p)
        return commands, owners
