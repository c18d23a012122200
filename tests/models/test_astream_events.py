"""``astream_events(version="v2")``: the run's own typed events, in the order a
handler sees them, ending with exactly one terminal event, also when the
consumer walks away early."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from streamllm import (
    BlockEnd,
    BlockStart,
    ConfigurationError,
    FakeChatModel,
    FakeListLLM,
    GenerationChunk,
    LLMEnd,
    LLMError,
    LLMStart,
    NewToken,
    Request,
)
from streamllm.testing import RecordingHandler

TERMINAL = (LLMEnd, LLMError)


def _types(events: list[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


@pytest.mark.parametrize(
    "model",
    [FakeListLLM(responses=["a b c d"]), FakeChatModel(responses=["a b c d"])],
    ids=["text", "chat"],
)
def test_yields_what_a_handler_sees_in_order(model: Any) -> None:
    seen = RecordingHandler()

    async def main() -> list[Any]:
        return [e async for e in model.astream_events("hi", callbacks=[seen], version="v2")]

    got = asyncio.run(main())
    assert got == seen.events
    assert isinstance(got[0], LLMStart)
    assert isinstance(got[-1], LLMEnd)
    assert "".join(e.token for e in got if isinstance(e, NewToken)) == "a b c d"
    assert sum(isinstance(e, TERMINAL) for e in got) == 1
    if isinstance(model, FakeChatModel):
        assert isinstance(got[1], BlockStart)
        assert isinstance(got[-2], BlockEnd)


@pytest.mark.parametrize("after", [0, 1, 3])
def test_breaking_out_early_ends_the_run_once_as_cancelled(after: int) -> None:
    """The consumer leaves after ``after`` events: the run still ends with exactly
    one terminal event, an ``LLMError(reason="cancelled")``, for every handler."""
    model = FakeChatModel(responses=["one two three four five six"])
    seen = RecordingHandler()

    async def main() -> None:
        stream = model.astream_events("hi", callbacks=[seen], version="v2")
        count = 0
        async for _ in stream:
            count += 1
            if count > after:
                break
        await stream.aclose()

    asyncio.run(main())
    terminals = [e for e in seen.events if isinstance(e, TERMINAL)]
    assert len(terminals) == 1
    assert isinstance(terminals[0], LLMError)
    assert terminals[0].reason == "cancelled"
    assert seen.events[-1] is terminals[0]


class _Breaks(FakeListLLM):
    """Streams one token, then its provider fails."""

    async def _astream(self, request: Request) -> AsyncIterator[GenerationChunk]:
        yield GenerationChunk(text="x")
        raise RuntimeError("provider broke")


def test_a_failing_model_ends_with_its_error_event_then_raises() -> None:
    model = _Breaks(responses=["unused"])
    got: list[Any] = []

    async def main() -> None:
        async for event in model.astream_events("hi", version="v2"):
            got.append(event)

    with pytest.raises(RuntimeError, match="provider broke"):
        asyncio.run(main())
    assert isinstance(got[-1], LLMError)
    assert got[-1].reason == "failed"
    assert sum(isinstance(e, TERMINAL) for e in got) == 1


@pytest.mark.parametrize("version", ["v1", "v3", "", None])
def test_only_v2_is_accepted(version: Any) -> None:
    model = FakeListLLM(responses=["x"])
    seen = RecordingHandler()

    async def main() -> None:
        async for _ in model.astream_events("hi", callbacks=[seen], version=version):
            pass

    with pytest.raises(ConfigurationError, match="v2"):
        asyncio.run(main())
    assert seen.events == []
