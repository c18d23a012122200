"""Fixtures for the built-in handler tests: every Runnable mode, one test body."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator, Sequence
from contextlib import aclosing
from typing import Any

import pytest

from streamllm import BaseLLM, FakeListLLM, handler_failures
from tests.models.helpers import FailingLLM

MODES = ("invoke", "ainvoke", "stream", "astream", "batch", "abatch")
ENDINGS = ("close", "aclose", "gc", "fail", "afail")


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """Each Runnable method, sync and async: invoke, stream, batch and their twins."""
    return str(request.param)


@pytest.fixture(params=ENDINGS)
def ending(request: pytest.FixtureRequest) -> str:
    """Each way a run ends early: close(), aclose(), garbage collection, provider failure."""
    return str(request.param)


@pytest.fixture(autouse=True)
def _handlers_never_fail() -> Iterator[None]:
    """A built-in handler must never raise inside a run."""
    yield
    assert handler_failures.total == 0, handler_failures.by_handler


async def run_mode(
    mode: str, model: BaseLLM, inputs: Sequence[str], callbacks: list[Any], **kw: Any
) -> list[str]:
    """Run ``inputs`` through ``model`` with the given Runnable method; the texts."""
    if mode == "invoke":
        return [model.invoke(i, callbacks=callbacks, **kw) for i in inputs]
    if mode == "ainvoke":
        return [await model.ainvoke(i, callbacks=callbacks, **kw) for i in inputs]
    if mode == "stream":
        return ["".join(model.stream(i, callbacks=callbacks, **kw)) for i in inputs]
    if mode == "astream":
        out = []
        for i in inputs:
            out.append("".join([t async for t in model.astream(i, callbacks=callbacks, **kw)]))
        return out
    if mode == "batch":
        texts: list[str] = model.batch(list(inputs), callbacks=callbacks, max_concurrency=4, **kw)
        return texts
    if mode == "abatch":
        atexts: list[str] = await model.abatch(
            list(inputs), callbacks=callbacks, max_concurrency=4, **kw
        )
        return atexts
    raise AssertionError(mode)


async def end_early(ending: str, callbacks: list[Any], response: str = "one two three four") -> str:
    """Start a run and end it after two tokens in the given way; the text consumed."""
    if ending in ("fail", "afail"):
        failing = FailingLLM(responses=[response], fail_after=2)
        seen: list[str] = []
        try:
            if ending == "fail":
                for token in failing.stream("go", callbacks=callbacks):
                    seen.append(token)
            else:
                async for token in failing.astream("go", callbacks=callbacks):
                    seen.append(token)
        except RuntimeError:
            return "".join(seen)
        raise AssertionError("the provider should have failed")
    model = FakeListLLM(responses=[response])
    if ending == "close":
        it: Any = model.stream("go", callbacks=callbacks)
        text: str = next(it) + next(it)
        it.close()
        return text
    if ending == "aclose":
        async with aclosing(model.astream("go", callbacks=callbacks)) as ait:
            text = await anext(ait) + await anext(ait)
        return text
    if ending == "gc":
        it = model.stream("go", callbacks=callbacks)
        text = next(it) + next(it)
        del it
        gc.collect()
        await asyncio.sleep(0)
        return text
    raise AssertionError(ending)
