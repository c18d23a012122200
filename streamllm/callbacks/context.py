"""Where handlers come from besides the call: global, scoped and parent runs.

Sources, in order (DESIGN.md section 4): global, scoped (``with tracing(...)``),
the parent run, the model, the call. Scoped handlers and the parent run live in
contextvars, so they follow asyncio tasks; plain threads do not inherit
contextvars, which is why ``batch`` and :func:`copy_context_executor` copy the
context into their workers.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, final
from uuid import UUID

from streamllm.callbacks.registry import Entry, resolve, resolve_all

if TYPE_CHECKING:
    from streamllm.callbacks.registry import Handler

__all__ = [
    "ParentRun",
    "add_global_handler",
    "copy_context_executor",
    "current_parent",
    "global_entries",
    "remove_global_handler",
    "scoped_entries",
    "set_global_handlers",
    "tracing",
]

T = TypeVar("T")

_lock = threading.Lock()
_env_lock = threading.RLock()
_global: tuple[Entry, ...] = ()
_env_loader: list[Callable[[], tuple[Entry, ...]]] = []
_scoped: contextvars.ContextVar[tuple[Entry, ...]] = contextvars.ContextVar(
    "streamllm_scoped", default=()
)


@final
class ParentRun:
    """The enclosing parent run: its ids and the handlers it passes down."""

    __slots__ = ("entries", "metadata", "run_id", "tags", "trace_id")

    def __init__(
        self,
        run_id: UUID,
        trace_id: UUID,
        entries: tuple[Entry, ...],
        tags: tuple[str, ...],
        metadata: Mapping[str, Any],
    ) -> None:
        self.run_id = run_id
        self.trace_id = trace_id
        self.entries = entries
        self.tags = tags
        self.metadata = metadata


_parent: contextvars.ContextVar[ParentRun | None] = contextvars.ContextVar(
    "streamllm_parent", default=None
)


# The contextvar's own methods, so starting, entering and leaving a run cost
# no call of ours: the parent run of the current context (None at the root),
# set it (returns the token), and restore it with that token.
current_parent = _parent.get
set_parent = _parent.set
reset_parent = _parent.reset


def global_entries() -> tuple[Entry, ...]:
    """The global handlers, resolved (environment handlers first, on first use)."""
    if _env_loader:
        with _env_lock:
            # Under a lock: a thread racing the first run must not start
            # without the environment's handlers.
            loader = _env_loader.pop() if _env_loader else None
            if loader is not None:
                env = loader()
                if env:
                    _set(env + _global)
    return _global


def _set(entries: tuple[Entry, ...]) -> None:
    global _global
    with _lock:
        _global = entries


def set_global_handlers(handlers: list[Handler] | tuple[Handler, ...]) -> None:
    """Replace the global handlers: they see every run in the process."""
    _set(resolve_all(handlers))


def add_global_handler(handler: Handler) -> None:
    """Add one global handler (once: adding the same object again does nothing)."""
    entry = resolve(handler)
    global _global
    with _lock:
        if all(e.handler is not handler for e in _global):
            _global = (*_global, entry)


def remove_global_handler(handler: Handler) -> None:
    """Remove a global handler; removing one that is not there does nothing."""
    global _global
    with _lock:
        _global = tuple(e for e in _global if e.handler is not handler)


#: The handlers of the enclosing ``tracing`` blocks (the contextvar's own ``get``).
scoped_entries = _scoped.get


@contextmanager
def tracing(*handlers: Handler) -> Iterator[None]:
    """Attach handlers to every run started inside the block (and its tasks).

    >>> with tracing(recorder):       # doctest: +SKIP
    ...     model.invoke("hi")
    """
    token = _scoped.set(_scoped.get() + resolve_all(handlers))
    try:
        yield
    finally:
        _scoped.reset(token)


@final
class _ContextExecutor(ThreadPoolExecutor):
    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        ctx = contextvars.copy_context()
        return super().submit(ctx.run, fn, *args, **kwargs)


def copy_context_executor(max_workers: int | None = None) -> ThreadPoolExecutor:
    """A thread pool whose tasks run in a copy of the submitter's context.

    Plain threads do not inherit contextvars, so handlers scoped with
    :func:`tracing` and the parent run of ``traced`` would not follow work
    submitted to an ordinary executor; they follow work submitted to this one.
    """
    return _ContextExecutor(max_workers=max_workers, thread_name_prefix="streamllm")
