"""Comparisons on the same fake stream: streamllm's FakeListLLM against
langchain-core's chat path and LLM path, all wrapping one list of tokens and
given the same counting handlers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from _compare.common import (
    HAVE_LANGCHAIN,
    AsyncCounter,
    Counter,
    Row,
    cpu,
    interleave,
    tokens,
)
from streamllm import FakeListLLM

if HAVE_LANGCHAIN:
    from _compare.common import LCAsyncCounter, LCCounter
    from _compare.lcfake import ListChatModel, ListLLM

CHAT, LLM = "langchain-core chat", "langchain-core LLM"
# The targets (how many times cheaper streamllm must be), by benchmark.
TARGETS: dict[tuple[str, str], float] = {
    ("stream(), 1 sync handler", CHAT): 10,
    ("stream(), 1 sync handler", LLM): 2.5,
    ("astream(), 1 sync handler", CHAT): 30,
    ("astream(), 1 sync handler", LLM): 30,
    ("astream_events() per token", CHAT): 10,
    ("astream_events() per token", LLM): 10,
    ("invoke(), fixed cost", CHAT): 3,
    ("invoke(), fixed cost", LLM): 3,
}


def _models(toks: list[str]) -> dict[str, Any]:
    models: dict[str, Any] = {"streamllm": FakeListLLM(responses=[toks])}
    if HAVE_LANGCHAIN:
        models[CHAT] = ListChatModel(tokens=toks)
        models[LLM] = ListLLM(tokens=toks)
    return models


def _checked(n: int, got: int, handlers: list[Any]) -> None:
    # langchain's chat path adds one empty closing chunk (and fires it as a token).
    if not n <= got <= n + 1 or any(not n <= h.n <= n + 1 for h in handlers):
        raise AssertionError(f"expected {n} tokens, got {got} ({[h.n for h in handlers]})")


def _stream(name: str, model: Any, handlers: int, n: int) -> Callable[[], float]:
    def run() -> float:
        cbs: list[Any] = [
            Counter() if name == "streamllm" else LCCounter() for _ in range(handlers)
        ]
        if name == "streamllm":
            it = model.stream("x", callbacks=cbs)
        else:
            it = model.stream("x", config={"callbacks": cbs})
        got = 0

        def consume() -> None:
            nonlocal got
            for _ in it:
                got += 1

        seconds = cpu(consume)
        _checked(n, got, cbs)
        return seconds / n * 1e6

    return run


def _astream(name: str, model: Any, kind: str, n: int) -> Callable[[], float]:
    def run() -> float:
        if name == "streamllm":
            handler: Any = Counter() if kind == "sync" else AsyncCounter()
            make = lambda: model.astream("x", callbacks=[handler])  # noqa: E731
        else:
            handler = LCCounter() if kind == "sync" else LCAsyncCounter()
            make = lambda: model.astream("x", config={"callbacks": [handler]})  # noqa: E731
        got = 0

        async def consume() -> None:
            nonlocal got
            async for _ in make():
                got += 1

        seconds = cpu(lambda: asyncio.run(consume()))
        _checked(n, got, [handler])
        return seconds / n * 1e6

    return run


def _astream_events(name: str, model: Any, n: int) -> Callable[[], float]:
    def run() -> float:
        got = 0

        async def consume() -> None:
            nonlocal got
            if name == "streamllm":
                events = model.astream_events("x")
            else:
                events = model.astream_events("x", version="v2")
            async for _ in events:
                got += 1

        seconds = cpu(lambda: asyncio.run(consume()))
        if got < n:
            raise AssertionError(f"expected at least {n} events, got {got}")
        return seconds / n * 1e6

    return run


def _invoke(name: str, model: Any, calls: int) -> Callable[[], float]:
    def run() -> float:
        seconds = cpu(lambda: [model.invoke("x") for _ in range(calls)])
        text = model.invoke("x")
        if getattr(text, "content", text) != "Hello world":
            raise AssertionError(f"unexpected reply {text!r}")
        return seconds / calls * 1e6

    return run


def _batch(name: str, model: Any, prompts: int) -> Callable[[], float]:
    def run() -> float:
        out: list[Any] = []
        seconds = cpu(lambda: out.extend(model.batch(["x"] * prompts)))
        if len(out) != prompts:
            raise AssertionError(f"batch returned {len(out)} replies for {prompts}")
        return seconds * 1e3

    return run


def _rows(benchmark: str, unit: str, times: dict[str, list[float]]) -> list[Row]:
    if len(times) == 1:  # langchain-core not installed: streamllm's figures alone
        return [Row(benchmark, unit, times["streamllm"], "(langchain-core not installed)", [])]
    return [
        Row(benchmark, unit, times["streamllm"], other, values, TARGETS.get((benchmark, other)))
        for other, values in times.items()
        if other != "streamllm"
    ]


def run(n: int, repeat: int, calls: int, only: str | None) -> list[Row]:
    """Every fake-stream comparison at ``n`` tokens, best kept by median of ``repeat``."""
    toks = tokens(n)
    models = _models(toks)
    rows: list[Row] = []

    def want(key: str) -> bool:
        return only is None or only in key

    for handlers in (0, 1, 5):
        label = f"stream(), {handlers} sync handler{'s' if handlers != 1 else ''}"
        if want("stream") and want(label):
            fns = {k: _stream(k, m, handlers, n) for k, m in models.items()}
            rows += _rows(label, "µs/token", interleave(fns, repeat))
    for kind in ("sync", "async"):
        label = f"astream(), 1 {kind} handler"
        if want(label):
            fns = {k: _astream(k, m, kind, n) for k, m in models.items()}
            rows += _rows(label, "µs/token", interleave(fns, repeat))
    if want("astream_events() per token"):
        fns = {k: _astream_events(k, m, n) for k, m in models.items()}
        rows += _rows("astream_events() per token", "µs/token", interleave(fns, repeat))
    hello = _models(["Hello", " world"])
    if want("invoke(), fixed cost"):
        fns = {k: _invoke(k, m, calls) for k, m in hello.items()}
        rows += _rows("invoke(), fixed cost", "µs/call", interleave(fns, repeat))
    if want("batch(), 100 prompts"):
        fns = {k: _batch(k, m, 100) for k, m in hello.items()}
        rows += _rows("batch(), 100 prompts", "ms/batch", interleave(fns, repeat))
    return rows
