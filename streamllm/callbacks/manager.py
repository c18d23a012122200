"""The callback manager: the handlers, tags and metadata a call runs with.

A :class:`CallbackManager` merges every source of handlers (DESIGN.md section
4), each handler once. :meth:`CallbackManager.start_run` returns a
:class:`~streamllm.callbacks.run.RunManager` bound to one run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, final
from uuid import UUID

from streamllm._frozen import FrozenDict, freeze, freeze_mapping
from streamllm._ids import new_run_id

# Every run comes through this module: importing env arms STREAMLLM_TRACING.
from streamllm.callbacks import env as _env  # noqa: F401
from streamllm.callbacks.context import (
    ParentRun,
    current_parent,
    global_entries,
    scoped_entries,
)
from streamllm.callbacks.registry import Entry, Handler, resolve_all
from streamllm.callbacks.run import Mode, RunManager
from streamllm.errors import ConfigurationError, ProviderTimeout
from streamllm.events import Reason

__all__ = [
    "CallbackManager",
    "Mode",
    "RunManager",
    "check_metadata",
    "check_tags",
    "reason_for",
]

#: The metadata of a run without any: shared, so it must be read-only too.
_NO_METADATA = FrozenDict()


def check_metadata(metadata: Mapping[str, Any] | None) -> FrozenDict:
    """Metadata must be a JSON-compatible mapping; checked once, when the call
    starts, and kept as a read-only copy (every event and handler of a run
    shares it)."""
    if metadata is None:
        return _NO_METADATA
    try:
        return freeze_mapping(metadata, "metadata") if metadata else _NO_METADATA
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"metadata must be a JSON-compatible mapping: {exc}") from exc


def check_tags(tags: Iterable[str] | None) -> tuple[str, ...]:
    if not tags:
        return ()
    if isinstance(tags, str):
        raise ConfigurationError("tags must be a list of strings, not one string")
    out = tuple(tags)
    for tag in out:
        if not isinstance(tag, str):
            raise ConfigurationError(f"tags must be strings, got {type(tag).__name__}")
    return out


def reason_for(exc: BaseException) -> Reason:
    """How a run ended, from the exception that ended it."""
    if isinstance(exc, ProviderTimeout):
        return "timeout"
    if isinstance(exc, KeyboardInterrupt | GeneratorExit) or _is_cancel(exc):
        return "cancelled"
    return "failed"


def _is_cancel(exc: BaseException) -> bool:
    import asyncio

    return isinstance(exc, asyncio.CancelledError)


@final
class CallbackManager:
    """Handlers, tags and metadata for runs.

    >>> manager = CallbackManager([printer], tags=["demo"])     # doctest: +SKIP
    >>> run = manager.start_run(name="my-run", sender=None)    # doctest: +SKIP
    """

    __slots__ = ("entries", "metadata", "outer", "parent", "tags")

    def __init__(
        self,
        handlers: Sequence[Handler] | None = None,
        *,
        tags: Iterable[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        parent: ParentRun | None = None,
    ) -> None:
        self.entries: tuple[Entry, ...] = _dedupe(resolve_all(handlers))
        self.tags = check_tags(tags)
        self.metadata = check_metadata(metadata)
        self.parent = parent
        #: The global and scoped entries among ``entries`` (what a run of this
        #: manager does not pass down to its children: they merge those themselves).
        self.outer: tuple[Entry, ...] = ()

    @classmethod
    def configure(
        cls,
        *,
        local: tuple[Entry, ...] = (),
        inheritable: tuple[Entry, ...] = (),
        tags: tuple[str, ...] = (),
        metadata: Mapping[str, Any] | None = None,
    ) -> CallbackManager:
        """Merge every source: global, scoped, the parent run, then ``inheritable``
        (a model's handlers) and ``local`` (the call's). Each handler once."""
        parent = current_parent()
        entries = outer = global_entries() + scoped_entries()
        if parent is not None:
            entries += parent.entries
            tags = parent.tags + tuple(t for t in tags if t not in parent.tags)
            metadata = freeze({**parent.metadata, **metadata}) if metadata else parent.metadata
        entries += inheritable + local
        self = cls.__new__(cls)
        self.entries = _dedupe(entries) if len(entries) > 1 else entries
        self.tags = tags
        self.metadata = freeze(metadata) if metadata else _NO_METADATA
        self.parent = parent
        self.outer = outer
        return self

    def start_run(
        self,
        *,
        name: str,
        sender: object,
        run_id: UUID | None = None,
        mode: Mode = "sync",
    ) -> RunManager:
        """Bind a new run (its events are not sent until the caller emits them)."""
        parent = self.parent
        rid = run_id if run_id is not None else new_run_id()
        return RunManager(
            self.entries,
            run_id=rid,
            parent_run_id=parent.run_id if parent is not None else None,
            trace_id=parent.trace_id if parent is not None else rid,
            name=name,
            tags=self.tags,
            metadata=self.metadata,
            sender=sender,
            mode=mode,
        )


def _dedupe(entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
    if len(entries) < 2 or len({id(e.handler) for e in entries}) == len(entries):
        return entries  # the common case: no handler twice
    seen: set[int] = set()
    out: list[Entry] = []
    for entry in entries:
        key = id(entry.handler)
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return tuple(out) if len(out) != len(entries) else entries
