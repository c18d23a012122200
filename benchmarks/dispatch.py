"""Per-token dispatch cost of streamllm on a fake stream (issue: foundation).

Prints microseconds per token for ``stream()`` with 0, 1 and 5 sync handlers,
``astream()`` with one sync and one async handler, ``astream_events``, the fixed
cost of one ``invoke``, and the peak memory of streaming and building the
result against ``"".join`` over the same tokens.

    python benchmarks/dispatch.py            # 100k tokens
    python benchmarks/dispatch.py --tokens 1000 --repeat 1   # CI smoke size
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import time
import tracemalloc
from collections.abc import Callable

from _compare.common import AsyncCounter, Counter, tokens

import streamllm
from streamllm import FakeListLLM


def best(fn: Callable[[], object], repeat: int) -> float:
    """Best of ``repeat`` runs, in CPU seconds of this process: other processes on a
    shared machine inflate wall time, not the work done here."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--invokes", type=int, default=20_000)
    args = parser.parse_args()
    n, repeat = args.tokens, args.repeat
    toks = tokens(n)
    model = FakeListLLM(responses=[toks])

    def stream(handlers: int) -> Callable[[], object]:
        cbs = [Counter() for _ in range(handlers)]
        return lambda: sum(1 for _ in model.stream("x", callbacks=cbs))

    def astream(handler: object) -> Callable[[], object]:
        async def run() -> int:
            return sum([1 async for _ in model.astream("x", callbacks=[handler])])

        return lambda: asyncio.run(run())

    def astream_events() -> Callable[[], object]:
        async def run() -> int:
            return sum([1 async for _ in model.astream_events("x")])

        return lambda: asyncio.run(run())

    rows: list[tuple[str, float, str]] = []
    for label, fn in [
        ("stream(), 0 handlers", stream(0)),
        ("stream(), 1 sync handler", stream(1)),
        ("stream(), 5 sync handlers", stream(5)),
        ("astream(), 1 sync handler", astream(Counter())),
        ("astream(), 1 async handler", astream(AsyncCounter())),
        ("astream_events()", astream_events()),
    ]:
        rows.append((label, best(fn, repeat) / n * 1e6, "µs/token"))

    one = FakeListLLM(responses=["Hello world"])
    k = args.invokes
    rows.append(
        (
            "invoke(), fixed cost, 0 handlers",
            best(lambda: [one.invoke("x") for _ in range(k)], repeat) / k * 1e6,
            "µs/call",
        )
    )
    handler = Counter()
    rows.append(
        (
            "invoke(), fixed cost, 1 handler",
            best(lambda: [one.invoke("x", callbacks=[handler]) for _ in range(k)], repeat)
            / k
            * 1e6,
            "µs/call",
        )
    )

    def peak(fn: Callable[[], object]) -> int:
        gc.collect()
        tracemalloc.start()
        fn()
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    fresh = tokens(n)
    join_peak = peak(lambda: "".join(list(fresh)))
    mem_model = FakeListLLM(responses=[fresh])
    stream_peak = peak(lambda: mem_model.generate(["x"], callbacks=[Counter()]))
    print(
        f"streamllm {streamllm.__version__} on Python {platform.python_version()}, "
        f"{platform.machine()}, {n} tokens, best of {repeat} (CPU time)"
    )
    for label, value, unit in rows:
        print(f"  {label:36s} {value:8.3f} {unit}")
    print(f"  {'peak memory, stream + result':36s} {stream_peak / 1e6:8.2f} MB")
    print(f"  {'peak memory, join of the tokens':36s} {join_peak / 1e6:8.2f} MB")
    print(f"  {'ratio':36s} {stream_peak / join_peak:8.2f} x")


if __name__ == "__main__":
    main()
