"""Who gets which event in one run: the dispatch tables, built once per run.

Per event kind (the slot of its class in :data:`streamllm.events.EVENT_CLASSES`):
the sync hooks called inline, the async hooks (awaited inline in async code, or
handed to the background loop for sync code), and the hooks of handlers known
to be hung, which a sync call does not wait for.
"""

from __future__ import annotations

from typing import Literal, TypeAlias, final

from streamllm.callbacks.deliver import Target
from streamllm.callbacks.kinds import ENDS, N
from streamllm.callbacks.loop import is_hung
from streamllm.callbacks.registry import Entry

__all__ = ["EMPTY", "Mode", "Tables", "split", "unseen"]

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


@final
class Tables:
    """Per event kind, who gets it: built once per run from its entries."""

    __slots__ = ("drain", "ends", "inline", "ordered", "stray", "strict_async", "wanted")

    def __init__(self, entries: tuple[Entry, ...], mode: Mode) -> None:
        inline: list[list[Target]] = [[] for _ in range(N)]
        ordered: list[list[Target]] = [[] for _ in range(N)]
        drain: list[list[Target]] = [[] for _ in range(N)]
        stray: list[list[Target]] = [[] for _ in range(N)]
        for entry in entries:
            hung = mode == "sync" and is_hung(entry)
            for slot, fn in enumerate(entry.hooks):
                if fn is None:
                    continue
                is_async = entry.is_async[slot]
                target = (entry, fn, is_async)
                ordered[slot].append(target)
                if not is_async:
                    inline[slot].append(target)
                else:
                    (stray if hung else drain)[slot].append(target)
        self.inline: _Table = tuple(map(tuple, inline))
        self.ordered: _Table = tuple(map(tuple, ordered)) if mode == "async" else _NONE
        self.drain: _Table = tuple(map(tuple, drain))
        self.stray: _Table = tuple(map(tuple, stray))
        self.wanted = tuple(bool(t) for t in ordered)
        #: Whether an async raise_error hook runs from sync code: the end then
        #: waits for it (see the module docstring).
        self.strict_async = mode == "sync" and any(
            t[0].raise_error for slot in self.drain for t in slot
        )
        #: End kinds needing the raise_error-first path, else None.
        self.ends = tuple(
            slot in ENDS
            and (
                self.strict_async
                or any(
                    t[0].raise_error for t in (ordered[slot] if mode == "async" else inline[slot])
                )
            )
            for slot in range(N)
        )


EMPTY = Tables((), "async")
