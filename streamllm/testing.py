"""Test helpers for users' own tests: a recording handler and a pytest fixture.

>>> from streamllm.testing import RecordingHandler
>>> recorder = RecordingHandler()
>>> model.invoke("hi", callbacks=[recorder])          # doctest: +SKIP
>>> [e.type for e in recorder.events]                  # doctest: +SKIP
['llm_start', 'new_token', 'llm_end']

To use the fixture, add ``pytest_plugins = ["streamllm.testing"]`` to your
``conftest.py`` and take ``recorder`` as an argument.
"""

from __future__ import annotations

import threading
from typing import TypeVar
from uuid import UUID

import pytest

from streamllm.callbacks.base import AsyncCallbackHandler, CallbackHandler
from streamllm.events import (
    BaseEvent,
    ChainEnd,
    ChainError,
    ChainStart,
    LLMEnd,
    LLMError,
    LLMStart,
    NewToken,
)

__all__ = ["AsyncRecordingHandler", "RecordingHandler", "recorder"]

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

    def on_llm_start(self, event: LLMStart) -> None:
        self._add(event)

    def on_llm_new_token(self, event: NewToken) -> None:
        self._add(event)

    def on_llm_end(self, event: LLMEnd) -> None:
        self._add(event)

    def on_llm_error(self, event: LLMError) -> None:
        self._add(event)

    def on_chain_start(self, event: ChainStart) -> None:
        self._add(event)

    def on_chain_end(self, event: ChainEnd) -> None:
        self._add(event)

    def on_chain_error(self, event: ChainError) -> None:
        self._add(event)


class AsyncRecordingHandler(_Recording, AsyncCallbackHandler):
    """Records every event through async hooks (awaited inline in async code,
    run on the background loop in sync code)."""

    def __init__(self) -> None:
        _Recording.__init__(self)

    async def on_llm_start(self, event: LLMStart) -> None:
        self._add(event)

    async def on_llm_new_token(self, event: NewToken) -> None:
        self._add(event)

    async def on_llm_end(self, event: LLMEnd) -> None:
        self._add(event)

    async def on_llm_error(self, event: LLMError) -> None:
        self._add(event)

    async def on_chain_start(self, event: ChainStart) -> None:
        self._add(event)

    async def on_chain_end(self, event: ChainEnd) -> None:
        self._add(event)

    async def on_chain_error(self, event: ChainError) -> None:
        self._add(event)


@pytest.fixture
def recorder() -> RecordingHandler:
    """A fresh :class:`RecordingHandler` for one test."""
    return RecordingHandler()
