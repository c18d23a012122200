"""Timing, results and the handlers every contestant gets."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from streamllm import AsyncCallbackHandler, CallbackHandler, NewToken

try:  # langchain-core is a benchmark requirement; without it its contestants are skipped
    from langchain_core.callbacks import AsyncCallbackHandler as LCAsyncHandler
    from langchain_core.callbacks import BaseCallbackHandler as LCHandler

    HAVE_LANGCHAIN = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_LANGCHAIN = False


def tokens(n: int) -> list[str]:
    """The fake stream every contestant wraps (the same list object is shared)."""
    return [f" t{i % 1000}" for i in range(n)]


class Counter(CallbackHandler):
    """streamllm: counts tokens."""

    def __init__(self) -> None:
        self.n = 0

    def on_llm_new_token(self, event: NewToken) -> None:
        self.n += 1


class AsyncCounter(AsyncCallbackHandler):
    """streamllm: counts tokens in a coroutine."""

    def __init__(self) -> None:
        self.n = 0

    async def on_llm_new_token(self, event: NewToken) -> None:
        self.n += 1


if HAVE_LANGCHAIN:

    class LCCounter(LCHandler):
        """langchain-core: counts tokens (the same work as :class:`Counter`)."""

        def __init__(self) -> None:
            self.n = 0

        def on_llm_new_token(self, token: str, **kwargs: object) -> None:
            self.n += 1

    class LCAsyncCounter(LCAsyncHandler):
        """langchain-core: counts tokens in a coroutine."""

        def __init__(self) -> None:
            self.n = 0

        async def on_llm_new_token(self, token: str, **kwargs: object) -> None:
            self.n += 1


def cpu(fn: Callable[[], object]) -> float:
    """CPU seconds of this process (all threads) spent in ``fn``: other
    processes on a shared machine inflate wall time, not the work done here."""
    gc.collect()
    start = time.process_time()
    fn()
    return time.process_time() - start


def interleave(contestants: dict[str, Callable[[], float]], repeat: int) -> dict[str, list[float]]:
    """Run each contestant ``repeat`` times, one round at a time, rotating the
    order each round so no contestant always runs first (or after a hungry one).
    Each callable returns its own measurement."""
    names = list(contestants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeat):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(contestants[name]())
    return times


@dataclass
class Row:
    """One line of the table: streamllm against one other contestant.

    ``ratio`` is how many times cheaper streamllm is (other / streamllm), or
    with ``lower`` the other way round (streamllm / other, for "within N times").
    """

    benchmark: str
    unit: str
    ours: list[float]
    other_name: str
    other: list[float]
    target: float | None = None
    lower: bool = False
    note: str = ""

    @staticmethod
    def med(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    def ratio(self, pick: Callable[[list[float]], float]) -> float:
        ours, other = pick(self.ours), pick(self.other)
        if self.lower:
            return ours / other if other else float("inf")
        return other / ours if ours else float("inf")

    def met(self) -> str:
        if self.target is None:
            return ""
        r = self.ratio(self.med)
        return "yes" if (r <= self.target if self.lower else r >= self.target) else "**no**"

    def target_text(self) -> str:
        if self.target is None:
            return ""
        return f"<= {self.target:g}x" if self.lower else f">= {self.target:g}x"
