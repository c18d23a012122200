"""The reading side of one trace's stream, without I/O.

Both buses and both shells (sync and async) fetch entries their own way and
hand them to a :class:`Cursor`, which keeps the position, turns a jump in the
entries' positions into an :class:`EntriesLost` notice, and says when the trace
is over (its root's terminal event was read).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import final
from uuid import UUID

from streamllm.bus.entries import EntriesLost, Item, is_root_terminal, position, split
from streamllm.events import BaseEvent

__all__ = ["Cursor", "start_id"]


def start_id(after: str) -> str:
    """Where an XREAD-style read starts for ``after="0"`` or an entry id."""
    return "0-0" if after in ("0", "0-0") else after


@final
class Cursor:
    """Position in one trace's stream; feed it entries in id order.

    ``last`` is the id of the last entry read (what to read after next);
    ``ended`` turns True once the trace's root terminal event went by.
    ``expect`` is the position the next entry should have, None when unknown
    (a read that starts from an id of another stream).
    """

    __slots__ = ("ended", "expect", "last", "trace_id")

    def __init__(self, trace_id: UUID, after: str, *, expect: int | None = -1) -> None:
        self.trace_id = trace_id
        self.last = start_id(after)
        self.ended = False
        if expect == -1:
            n = position(self.last)
            expect = 0 if self.last == "0-0" else (None if n is None else n + 1)
        self.expect = expect

    def feed(self, entries: Iterable[tuple[str, Item]]) -> Iterator[tuple[str, Item]]:
        """Yield what a reader sees of ``entries``: notices for gaps, then the entries,
        up to and including the root's terminal event."""
        for entry_id, item in entries:
            if self.ended:
                return
            n = position(entry_id)
            if n is not None and self.expect is not None and n > self.expect:
                lost = EntriesLost(trace_id=self.trace_id, count=n - self.expect, why="trimmed")
                # Under the id of the last entry read: resuming from it shows the gap again.
                yield self.last, lost
            self.expect = None if n is None else n + 1
            self.last = entry_id
            yield entry_id, item
            if isinstance(item, BaseEvent) and is_root_terminal(item):
                self.ended = True

    def check_over(self, last: tuple[str, Item] | None) -> None:
        """Given the stream's last entry: the trace is over for this cursor when
        that entry is the root's terminal and the cursor starts after it."""
        if last is not None and isinstance(last[1], BaseEvent) and is_root_terminal(last[1]):
            self.ended = self.ended or split(last[0]) <= split(self.last)

    def expired(self) -> tuple[str, EntriesLost]:
        """The notice for a trace whose stream is gone before its end was read."""
        self.ended = True
        return self.last, EntriesLost(trace_id=self.trace_id, count=None, why="expired")
