"""Helpers for the LangChain bridge tests: a LangChain handler that records its calls."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

pytest.importorskip("langchain_core")

from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler

from streamllm.events import (
    BaseEvent,
    BlockDelta,
    BlockEnd,
    BlockStart,
    ChainEnd,
    ChainError,
    ChainStart,
    LLMEnd,
    LLMError,
    LLMStart,
    NewToken,
)

#: The LangChain hooks the recorders implement (everything a model, chain or tool run calls).
LC_HOOKS = (
    "on_llm_start",
    "on_chat_model_start",
    "on_llm_new_token",
    "on_llm_end",
    "on_llm_error",
    "on_chain_start",
    "on_chain_end",
    "on_chain_error",
    "on_tool_start",
    "on_tool_end",
    "on_tool_error",
)


def _recording_hook(name: str, is_async: bool) -> Any:
    def hook(self: Any, *args: Any, **kwargs: Any) -> None:
        self.calls.append((name, args, kwargs))

    async def ahook(self: Any, *args: Any, **kwargs: Any) -> None:
        hook(self, *args, **kwargs)

    return ahook if is_async else hook


class CallRecorder(BaseCallbackHandler):
    """A LangChain handler recording every call as ``(hook, args, kwargs)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]

    def of(self, name: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(a, k) for n, a, k in self.calls if n == name]


class AsyncCallRecorder(AsyncCallbackHandler):
    """The async twin of :class:`CallRecorder`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    names = CallRecorder.names
    of = CallRecorder.of


for _hook in LC_HOOKS:
    setattr(CallRecorder, _hook, _recording_hook(_hook, False))
    setattr(AsyncCallRecorder, _hook, _recording_hook(_hook, True))


@pytest.fixture(params=["sync", "async"])
def recorder(request: pytest.FixtureRequest) -> CallRecorder | AsyncCallRecorder:
    """A recording LangChain handler, sync or async."""
    return CallRecorder() if request.param == "sync" else AsyncCallRecorder()


def assert_well_formed(events: list[BaseEvent]) -> None:
    """streamllm's per-run guarantees: a start first, seq 0..n, tokens indexed
    0..k, at most one terminal and it is last, when the run streamed its result
    text is its tokens joined, and the per-block order of DESIGN 11."""
    runs: dict[UUID, list[BaseEvent]] = {}
    for event in events:
        runs.setdefault(event.run_id, []).append(event)
    for run in runs.values():
        assert isinstance(run[0], LLMStart | ChainStart)
        assert [e.seq for e in run] == list(range(len(run)))
        terminals = [i for i, e in enumerate(run) if isinstance(e, _TERMINALS)]
        assert terminals in ([], [len(run) - 1])
        tokens = [e for e in run if isinstance(e, NewToken)]
        assert [t.index for t in tokens] == list(range(len(tokens)))
        end = run[-1]
        if terminals and tokens and isinstance(end, LLMEnd | LLMError):
            result = end.result if isinstance(end, LLMEnd) else end.partial
            assert result.text == "".join(t.token for t in tokens)
        _assert_blocks(run)


def _assert_blocks(run: list[BaseEvent]) -> None:
    """Per block: start, then its fragments, then at most one end; no BlockEnd
    after a failure; a finished run ended every block it started."""
    opened: set[int] = set()
    ended: set[int] = set()
    for event in run:
        if isinstance(event, BlockStart):
            assert event.block not in opened
            opened.add(event.block)
        elif isinstance(event, BlockDelta | BlockEnd) or (isinstance(event, NewToken) and opened):
            assert event.block in opened
            assert event.block not in ended
            if isinstance(event, BlockEnd):
                ended.add(event.block)
    if isinstance(run[-1], LLMEnd):
        assert ended == opened


_TERMINALS = (LLMEnd, LLMError, ChainEnd, ChainError)
