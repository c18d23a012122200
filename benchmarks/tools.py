"""Overhead of a tool run around its function (issue 14: at most 10 µs).

A tool run validates the arguments, opens a run (ToolStart, then ToolEnd),
sets the parent run around the function and returns its output. This prints
microseconds per call of a no-op tool (no arguments, and one int argument)
against calling the function itself, with 0 and 1 handler (passed to the call, of an enclosing
``traced``, global), through
``invoke`` with a dict and with a ``ToolCall`` (which builds the
``ToolMessage``), and ``ainvoke`` of an async tool. langchain-core's own
``@tool`` is timed the same way when it is installed, for reference.

    python benchmarks/tools.py                  # 20,000 calls, best of 5
    python benchmarks/tools.py --calls 500 --repeat 1   # smoke size
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import time
from collections.abc import Callable
from typing import Any

import streamllm
from streamllm import CallbackHandler, ToolEnd, ToolStart, set_global_handlers, traced
from streamllm.chat import ToolCall
from streamllm.tools import tool


def best(fn: Callable[[], object], repeat: int) -> float:
    """Best of ``repeat`` runs, in CPU seconds of this process."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


class ToolCounter(CallbackHandler):
    """Counts tool runs (one hook for the start, one for the end)."""

    def __init__(self) -> None:
        self.n = 0

    def on_tool_start(self, event: ToolStart) -> None:
        self.n += 1

    def on_tool_end(self, event: ToolEnd) -> None:
        self.n += 1


def noop() -> None:
    """Do nothing."""


def one(n: int) -> int:
    """Return n."""
    return n


async def anoop() -> None:
    """Do nothing, asynchronously."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    k, repeat = args.calls, args.repeat
    t_noop, t_one, t_anoop = tool(noop), tool(one), tool(anoop)
    handler = [ToolCounter()]
    call = ToolCall(id="call_1", name="one", args={"n": 1})

    def per_call(fn: Callable[[], object]) -> float:
        def loop() -> None:
            for _ in range(k):
                fn()

        return best(loop, repeat) / k * 1e6

    def per_acall(make: Callable[[], Any]) -> float:
        async def loop() -> None:
            for _ in range(k):
                await make()

        return best(lambda: asyncio.run(loop()), repeat) / k * 1e6

    rows: list[tuple[str, float, float | None]] = []

    def row(label: str, cost: float, base: float | None) -> None:
        rows.append((label, cost, None if base is None else cost - base))

    f0 = per_call(noop)
    f1 = per_call(lambda: one(n=1))
    row("noop(), the function itself", f0, None)
    row("noop tool invoke({}), 0 handlers", per_call(lambda: t_noop.invoke({})), f0)
    row(
        "noop tool invoke({}), 1 handler",
        per_call(lambda: t_noop.invoke({}, callbacks=handler)),
        f0,
    )
    row("one(n=1), the function itself", f1, None)
    row("one tool invoke({'n': 1}), 0 handlers", per_call(lambda: t_one.invoke({"n": 1})), f1)
    row(
        "one tool invoke({'n': 1}), 1 handler",
        per_call(lambda: t_one.invoke({"n": 1}, callbacks=handler)),
        f1,
    )
    with traced("loop", callbacks=handler):
        row(
            "one tool invoke({'n': 1}), 1 handler of traced",
            per_call(lambda: t_one.invoke({"n": 1})),
            f1,
        )
    set_global_handlers(handler)
    try:
        row(
            "one tool invoke({'n': 1}), 1 global handler",
            per_call(lambda: t_one.invoke({"n": 1})),
            f1,
        )
    finally:
        set_global_handlers([])
    row(
        "one tool invoke(ToolCall), 1 handler",
        per_call(lambda: t_one.invoke(call, callbacks=handler)),
        f1,
    )
    a0 = per_acall(anoop)
    row("await anoop(), the function itself", a0, None)
    row("await anoop tool ainvoke({}), 0 handlers", per_acall(lambda: t_anoop.ainvoke({})), a0)
    row(
        "await anoop tool ainvoke({}), 1 handler",
        per_acall(lambda: t_anoop.ainvoke({}, callbacks=handler)),
        a0,
    )
    # The two crossings, priced (not part of the budget): an async tool from
    # sync code gets an event loop of its own, a sync tool from async code a thread.
    few = max(k // 20, 1)
    cross = best(lambda: [t_anoop.invoke({}) for _ in range(few)], repeat) / few * 1e6
    row("anoop tool invoke({}) from sync code (own loop)", cross, a0)

    async def threads() -> None:
        for _ in range(few):
            await t_noop.ainvoke({})

    hop = best(lambda: asyncio.run(threads()), repeat) / few * 1e6
    row("await noop tool ainvoke({}) (worker thread)", hop, f0)
    try:
        from langchain_core.tools import tool as lc_tool
    except ImportError:  # pragma: no cover - an optional reference
        lc_tool = None
    if lc_tool is not None:
        lc_one = lc_tool(one)
        row(
            "langchain-core @tool invoke({'n': 1}), 0 handlers",
            per_call(lambda: lc_one.invoke({"n": 1})),
            f1,
        )

    print(
        f"streamllm {streamllm.__version__} on Python {platform.python_version()}, "
        f"{platform.machine()}, {k} calls, best of {repeat} (CPU time, µs per call)"
    )
    print(f"  {'':52s} {'per call':>9s} {'overhead':>9s}")
    for label, cost, overhead in rows:
        extra = f"{overhead:9.2f}" if overhead is not None else f"{'':9s}"
        print(f"  {label:52s} {cost:9.2f} {extra}")


if __name__ == "__main__":
    main()
