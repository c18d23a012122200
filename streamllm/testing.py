"""Test helpers for users' own tests: handlers that record every event.

>>> from streamllm.testing import RecordingHandler
>>> recorder = RecordingHandler()
>>> model.invoke("hi", callbacks=[recorder])          # doctest: +SKIP
>>> [e.type for e in recorder.events]                  # doctest: +SKIP
['llm_start', 'new_token', 'llm_end']

This module does not need pytest. For a ``recorder`` fixture, add
``pytest_plugins = ["streamllm.pytest_plugin"]`` to your ``conftest.py`` (the
older ``"streamllm.testing"`` works too) and take ``recorder`` as an argument.
"""

from __future__ import annotations

import threading
from typing import TypeVar
from uuid import UUID

from streamllm.callbacks.base import AsyncCallbackHandler, CallbackHandler
from streamllm.events import BaseEvent, NewToken

__all__ = ["AsyncRecordingHandler", "RecordingHandler"]

# Read by pytest when a conftest lists this module in its own ``pytest_plugins``
# (the usage older READMEs show): it brings in the fixture module, and only
# then is pytest imported.
pytest_plugins = ["streamllm.pytest_plugin"]

E = TypeVar("E", bound=BaseEvent)


class _Recording:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[BaseEvent] = []

    def _add(self, event: BaseEvent) -> None:
        with self._lock:
            self._events.append(event)

    @property
    def events(self) -> list[BaseEvent]:
        """Every event seen, in arrival order (a copy)."""
        with self._lock:
            return list(self._events)

    def of_type(self, cls: type[E]) -> list[E]:
        """The events of one type, e.g. ``recorder.of_type(NewToken)``."""
        return [e for e in self.events if isinstance(e, cls)]

    def runs(self) -> dict[UUID, list[BaseEvent]]:
        """Events grouped by run id, each run's in arrival order."""
        out: dict[UUID, list[BaseEvent]] = {}
        for event in self.events:
            out.setdefault(event.run_id, []).append(event)
        return out

    def tokens(self, run_id: UUID | None = None) -> list[str]:
        """The streamed tokens, of one run or of all."""
        return [e.token for e in self.of_type(NewToken) if run_id is None or e.run_id == run_id]

    def clear(self) -> None:
        with self._lock:
            self._events.clear()


class RecordingHandler(_Recording, CallbackHandler):
    """Records every event (thread-safe); a sync handler, so it runs inline in
    sync and async code alike."""

    def __init__(self) -> None:
        _Recording.__init__(self)

    def on_event(self, event: BaseEvent) -> None:
        self._add(event)


class AsyncRecordingHandler(_Recording, AsyncCallbackHandler):
    """Records every event through an async hook (awaited inline in async code,
    run on the background loop in sync code)."""

    def __init__(self) -> None:
        _Recording.__init__(self)

    async def on_event(self, event: BaseEvent) -> None:
        self._add(event)
