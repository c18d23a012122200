"""What one bus entry holds, and how entry ids are made.

An entry is one event's JSON with the schema version (``v``, ``e``), or a
notice that entries are missing (``v``, ``lost``, ``why``). Entry ids follow
Redis's ``<ms>-<n>`` form, but ``n`` is the entry's position in its trace's
stream (0, 1, 2 ...), chosen by the writer. That buys two things:

- a retried write is recognised: Redis refuses an id that is not above the
  stream's top, so an entry that made it before a connection broke is never
  written twice;
- a reader that finds a jump in ``n`` knows exactly how many entries it missed
  (trimmed by ``maxlen``, or lost with a Redis that restarted empty).

The bus carries any event generically: it only asks the event's class
whether it may be dropped (``droppable``: token and block deltas) and where it
stands in its run (``phase``: a start or a terminal goes into the index of
runs; the root's terminal ends the trace).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Literal, final
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticSerializationError

from streamllm.events import SCHEMA_VERSION, BaseEvent, Event, parse_event

__all__ = [
    "SCHEMA_FIELD",
    "EntriesLost",
    "Item",
    "Numbering",
    "decode",
    "encode_lost",
    "event_body",
    "is_root_terminal",
    "is_terminal",
    "position",
]

#: Index phases (``phase`` of the event classes) that end a run.
TERMINAL_PHASES = frozenset({"end", "error"})

Why = Literal["trimmed", "dropped", "expired"]


class EntriesLost(BaseModel):
    """A typed notice in place of entries a reader will never see.

    ``why`` is ``"trimmed"`` (the stream's ``maxlen`` removed them before this
    reader got there, or Redis lost them), ``"dropped"`` (the publisher's buffer
    was full and dropped token deltas, ``run_id`` says whose), or ``"expired"``
    (the trace's stream is gone; ``count`` is then None, not known).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["entries_lost"] = "entries_lost"
    trace_id: UUID
    count: int | None
    why: Why
    run_id: UUID | None = None


#: What a subscription yields after the entry id: an event, or a notice.
Item = Event | EntriesLost


def is_terminal(event: BaseEvent) -> bool:
    """True for the event that ends its run (an end or an error)."""
    return type(event).phase in TERMINAL_PHASES


def is_root_terminal(event: BaseEvent) -> bool:
    """True for the terminal event of the trace's root run (the trace ends there)."""
    return event.run_id == event.trace_id and type(event).phase in TERMINAL_PHASES


def event_body(event: BaseEvent) -> bytes | str:
    """The event's JSON, as fast as pydantic writes it (bytes, no decoding).

    Text with a lone surrogate cannot be written as UTF-8 bytes: such an event
    takes :meth:`BaseEvent.model_dump_json`, which escapes it.
    """
    try:
        return type(event).__pydantic_serializer__.to_json(event)
    except PydanticSerializationError:
        return event.model_dump_json()


def encode_lost(run_id: UUID, count: int) -> dict[str, str]:
    """The fields of a notice that the publisher dropped ``count`` deltas of a run."""
    return {"v": _VERSION, "lost": str(count), "run": str(run_id), "why": "dropped"}


_VERSION = str(SCHEMA_VERSION)
#: The first field of every entry: the schema version.
SCHEMA_FIELD = ("v", _VERSION)


def decode(trace_id: UUID, fields: Mapping[str, str]) -> Item:
    """An entry's fields back into an event or a notice (``ValueError`` if neither)."""
    body = fields.get("e")
    if body is not None:
        return parse_event(body)
    lost = fields.get("lost")
    if lost is None:
        raise ValueError(f"entry holds neither an event nor a notice: {sorted(fields)}")
    run = fields.get("run")
    return EntriesLost(
        trace_id=trace_id,
        count=int(lost),
        why=fields.get("why", "dropped"),
        run_id=UUID(run) if run else None,
    )


def position(entry_id: str) -> int | None:
    """The position ``n`` of an entry id ``<ms>-<n>`` (None for ``0``/``$``)."""
    _, sep, n = entry_id.partition("-")
    return int(n) if sep and n.isdigit() else None


def split(entry_id: str) -> tuple[int, int]:
    """``<ms>-<n>`` as a pair of ints, for ordering."""
    ms, _, n = entry_id.partition("-")
    return int(ms), int(n or 0)


@final
class Numbering:
    """The next entry id of each trace stream this process writes to.

    Ids are ``<ms>-<n>``: ``ms`` the wall clock (never going backwards within a
    stream), ``n`` one more than the last. Not thread-safe: one writer owns it.
    """

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[UUID, tuple[int, int]] = {}

    def next(self, trace_id: UUID, ms: int | None = None) -> str:
        """The next id in ``trace_id``'s stream (``ms``: the clock, read once per batch)."""
        if ms is None:
            ms = time.time_ns() // 1_000_000
        last = self._last.get(trace_id)
        if last is None:
            n = 0
        else:
            ms, n = max(ms, last[0]), last[1] + 1
        self._last[trace_id] = (ms, n)
        return f"{ms}-{n}"

    def restart_after(self, trace_id: UUID, top: str) -> None:
        """Another writer (or an earlier process) already wrote up to ``top``."""
        self._last[trace_id] = split(top)

    def forget(self, trace_id: UUID) -> None:
        """The trace ended: its stream gets no more entries from us."""
        self._last.pop(trace_id, None)
