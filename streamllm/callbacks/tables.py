"""Who gets which event in one run: the dispatch tables, built once per run.

Per event kind (the slot of its class in :data:`streamllm.events.EVENT_CLASSES`):
the sync hooks called inline, the async hooks (awaited inline in async code, or
handed to the background loop for sync code), and the hooks of handlers known
to be hung, which a sync call does not wait for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias, final

from streamllm.callbacks.deliver import Target
from streamllm.callbacks.kinds import ENDS, N
from streamllm.callbacks.loop import is_hung
from streamllm.callbacks.registry import Entry

__all__ = ["EMPTY", "Mode", "Tables", "split", "tables_for", "unseen"]

Mode: TypeAlias = Literal["sync", "async"]
_Table: TypeAlias = tuple[tuple[Target, ...], ...]
_NONE: _Table = ((),) * N


def split(targets: tuple[Target, ...]) -> tuple[tuple[Target, ...], tuple[Target, ...]]:
    """``raise_error`` targets first (for end events), the others after."""
    return tuple(t for t in targets if t[0].raise_error), tuple(
        t for t in targets if not t[0].raise_error
    )


def unseen(targets: tuple[Target, ...], seen: tuple[Target, ...]) -> tuple[Target, ...]:
    """``targets`` without the handlers that already got the run's end event."""
    if not seen:
        return targets
    ids = {id(t[0]) for t in seen}
    return tuple(t for t in targets if id(t[0]) not in ids)


_NO_ENDS = (False,) * N


@final
class Tables:
    """Per event kind, who gets it: built once per run from its entries."""

    __slots__ = (
        "awaits",
        "drain",
        "ends",
        "has_drain",
        "has_stray",
        "inline",
        "ordered",
        "stray",
        "strict",
        "strict_async",
        "wanted",
    )

    def __init__(self, entries: tuple[Entry, ...], mode: Mode) -> None:
        # Kept lean: this runs once per run, before the provider is called.
        sync = mode == "sync"
        if not any(True in e.is_async for e in entries):
            self._sync_hooks_only(entries, sync)
            return
        #: Whether any hook is async (else async code can deliver as sync code does).
        self.awaits = True
        inline: list[list[Target]] = [[] for _ in range(N)]
        ordered: list[list[Target]] = [[] for _ in range(N)]
        drain: list[list[Target]] = [[] for _ in range(N)]
        stray: list[list[Target]] | None = None
        strict = False
        for entry in entries:
            strict = strict or entry.raise_error
            hung = sync and entry.has_async and is_hung(entry)
            if hung and stray is None:
                stray = [[] for _ in range(N)]
            for slot, fn in enumerate(entry.hooks):
                if fn is None:
                    continue
                is_async = entry.is_async[slot]
                target = (entry, fn, is_async)
                ordered[slot].append(target)
                if not is_async:
                    inline[slot].append(target)
                else:
                    (stray if hung else drain)[slot].append(target)  # type: ignore[index]
        self.inline: _Table = tuple(map(tuple, inline))
        self.ordered: _Table = _NONE if sync else tuple(map(tuple, ordered))
        self.drain: _Table = tuple(map(tuple, drain))
        self.stray: _Table = _NONE if stray is None else tuple(map(tuple, stray))
        self.has_drain = any(drain)
        self.has_stray = stray is not None and any(stray)
        self.wanted = tuple(map(bool, ordered))
        #: Whether any handler has raise_error (else nothing can stop the run).
        self.strict = strict
        #: Whether an async raise_error hook runs from sync code: the end then
        #: waits for it (see the run module's docstring).
        self.strict_async = strict and sync and any(t[0].raise_error for d in drain for t in d)
        #: Per kind, whether it is an end event needing the raise_error-first path.
        self.ends = _NO_ENDS if not strict else self._ends(inline if sync else ordered)

    def _sync_hooks_only(self, entries: tuple[Entry, ...], sync: bool) -> None:
        # The common case (no async hook anywhere): one table serves both the
        # inline and the ordered path, and nothing drains. Built by columns, as
        # most handlers implement few of the event kinds.
        cols: list[tuple[Target, ...]] = [()] * N
        strict = False
        for entry in entries:
            strict = strict or entry.raise_error
            for slot, fn in enumerate(entry.hooks):
                if fn is not None:
                    cols[slot] += ((entry, fn, False),)
        table = tuple(cols)
        self.awaits = False
        self.inline = table
        self.ordered = _NONE if sync else table
        self.drain = self.stray = _NONE
        self.has_drain = self.has_stray = False
        self.wanted = tuple(map(bool, cols))
        self.strict = strict
        self.strict_async = False
        self.ends = _NO_ENDS if not strict else self._ends(cols)

    def _ends(self, targets: Sequence[Sequence[Target]]) -> tuple[bool, ...]:
        return tuple(
            slot in ENDS and (self.strict_async or any(t[0].raise_error for t in targets[slot]))
            for slot in range(N)
        )


EMPTY = Tables((), "async")


#: Tables of recent runs, keyed by the entries tuple's identity and the mode.
#: The same tuple comes back run after run (a traced parent's handlers, the
#: global list, a model's own callbacks), and building tables for 13 event kinds
#: is most of a run's fixed cost. The value keeps the tuple alive, so its id
#: cannot be reused by another tuple while cached.
_CACHE: dict[tuple[int, Mode], tuple[tuple[Entry, ...], Tables]] = {}
_CACHE_SIZE = 64


#: The same tables by the entries' identities: a handler list passed per call
#: makes a new tuple each time, of the same (interned) entries. The value keeps
#: the entries alive, so the ids in a key stand for the same objects.
_BY_CONTENT: dict[tuple[tuple[int, ...], Mode], tuple[tuple[Entry, ...], Tables]] = {}


def tables_for(entries: tuple[Entry, ...], mode: Mode) -> Tables:
    """The dispatch tables for one run (cached unless they depend on hung handlers)."""
    key = (id(entries), mode)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is entries:
        return hit[1]
    content = (tuple(map(id, entries)), mode)
    hit = _BY_CONTENT.get(content)
    if hit is not None:
        return hit[1]
    tables = Tables(entries, mode)
    # Sync runs with async hooks read the process-wide "hung" marks, which
    # change between runs: those tables are built fresh each time.
    if mode == "sync" and any(e.has_async for e in entries):
        return tables
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
        _BY_CONTENT.clear()
    _CACHE[key] = _BY_CONTENT[content] = (entries, tables)
    return tables
