"""Handing events read from a bus to local handlers, with the library's one
delivery function and failure policy (a failing handler is logged and counted,
and the others still get the event)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import final

from streamllm.bus.entries import is_terminal
from streamllm.callbacks.deliver import Target, adeliver, deliver
from streamllm.callbacks.failures import Failures
from streamllm.callbacks.registry import resolve_all
from streamllm.events import BaseEvent

__all__ = ["Dispatcher"]


@final
class Dispatcher:
    """Calls the handlers' hooks for each event, in order.

    Handlers are resolved (and refused if they are not handlers) once, here.
    Async hooks run on a loop this dispatcher owns, kept for its lifetime, so
    the caller must not be inside a running event loop. A handler with
    ``raise_error = True`` that fails makes :meth:`__call__` raise its
    :class:`HandlerError`: the consumer stops without acknowledging the event.
    """

    __slots__ = ("_entries", "_failures", "_runner", "_targets")

    def __init__(self, handlers: Iterable[object]) -> None:
        self._entries = resolve_all(list(handlers))
        self._failures = Failures(" in a bus consumer")
        self._targets: dict[int, tuple[Target, ...]] = {}
        self._runner: asyncio.Runner | None = None

    def _for(self, event: BaseEvent) -> tuple[Target, ...]:
        slot = type(event).slot
        targets = self._targets.get(slot)
        if targets is None:
            targets = self._targets[slot] = tuple(
                (entry, fn, entry.is_async[slot])
                for entry in self._entries
                if (fn := entry.hooks[slot]) is not None
            )
        return targets

    def __call__(self, event: BaseEvent) -> None:
        targets = self._for(event)
        if any(is_async for _, _, is_async in targets):
            if self._runner is None:
                self._runner = asyncio.Runner()
            self._runner.run(adeliver(targets, event, self._failures))
        else:
            deliver(targets, event, self._failures)
        if is_terminal(event):
            self._failures.forget(event.run_id)
        error = self._failures.take()
        if error is not None:
            raise error

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None
