"""1,000 concurrent ``astream`` runs on one event loop, each contestant in a
fresh process (so its peak RSS is its own): streamllm's ChatOpenAI against the
openai SDK's AsyncOpenAI, connection limits raised on both, every token of
every run checked in order.

The child imports only its own library: this module must stay light.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sse_server import expected_tokens

if TYPE_CHECKING:
    from _compare.common import Row

MESSAGES = [{"role": "user", "content": "hi"}]
SDK = "openai SDK"
# Idle connections kept, the same for both (httpx's and streamllm's default).
# Not raised with the pool: httpcore 1.0's pool scans every connection for each
# idle one on every request start and end, which goes quadratic once hundreds of
# idle connections are kept.
KEEPALIVE = 100


async def _concurrent(lib: str, url: str, runs: int, n: int) -> int:
    expected = expected_tokens(n)
    if lib == "streamllm":
        from streamllm.models.openai import ChatOpenAI

        model = ChatOpenAI(
            base_url=url,
            api_key="bench",
            model="bench",
            max_tokens=n,
            max_connections=runs,
            max_keepalive_connections=KEEPALIVE,
        )

        async def one() -> list[str]:
            return [c.text async for c in model.astream("hi") if c.text]

        close: Callable[[], Coroutine[Any, Any, None]] = model.aclose
    else:
        import httpx
        import openai

        client = openai.AsyncOpenAI(
            base_url=url,
            api_key="bench",
            http_client=openai.DefaultAsyncHttpxClient(
                limits=httpx.Limits(max_connections=runs, max_keepalive_connections=KEEPALIVE)
            ),
        )

        async def one() -> list[str]:
            stream = await client.chat.completions.create(
                model="bench",
                messages=MESSAGES,
                stream=True,
                max_tokens=n,  # type: ignore[arg-type]
                stream_options={"include_usage": True},
            )
            return [
                c.choices[0].delta.content
                async for c in stream
                if c.choices and c.choices[0].delta.content
            ]

        close = client.close
    try:
        results = await asyncio.gather(*(one() for _ in range(runs)))
    finally:
        await close()
    bad = sum(1 for r in results if r != expected)
    if bad:
        raise AssertionError(f"{bad} of {runs} runs lost or reordered tokens")
    return len(results)


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc (VmRSS, VmHWM), in MB.

    Not ``ru_maxrss``: Linux carries the parent's high-water mark over fork and
    exec, so a child started by a big parent would report the parent's.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(lib: str, url: str, runs: int, n: int) -> None:
    """Entry point of the child process: run, then print JSON with the wall
    seconds, the RSS once the library is imported and the peak RSS."""
    if lib == "streamllm":
        import streamllm.models.openai  # noqa: F401 - imported before the baseline
    else:
        import openai  # noqa: F401
    before = _status_mb("VmRSS")
    start = time.perf_counter()
    done = asyncio.run(_concurrent(lib, url, runs, n))
    wall = time.perf_counter() - start
    result = {"wall": wall, "runs": done, "before": before, "peak": _status_mb("VmHWM")}
    print(json.dumps(result))


def rows(url: str, runs: int, n: int, repeat: int) -> list[Row]:
    """Wall time and peak RSS of ``runs`` concurrent streams of ``n`` tokens."""
    from _compare.common import Row, interleave

    try:
        import openai  # noqa: F401 - only whether it is there
    except ImportError:
        have_openai = False
    else:
        have_openai = True
    script = str(Path(__file__).resolve().parent.parent / "compare.py")
    figures: dict[str, dict[str, list[float]]] = {"wall": {}, "cpu": {}, "peak": {}, "growth": {}}

    def measure(lib: str) -> Callable[[], float]:
        def run() -> float:
            proc = subprocess.Popen(
                [sys.executable, script, "--concurrency-child", lib, url, str(runs), str(n)],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert proc.stdout is not None
            out = proc.stdout.read()
            proc.stdout.close()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                raise RuntimeError(
                    f"{lib}: {runs} concurrent streams failed (exit {proc.returncode})"
                )
            result = json.loads(out.strip().splitlines()[-1])
            if result["runs"] != runs:
                raise AssertionError(f"{lib}: {result['runs']} runs of {runs}")
            measured = {
                "wall": result["wall"],
                "cpu": usage.ru_utime + usage.ru_stime,
                "peak": result["peak"],
                "growth": result["peak"] - result["before"],
            }
            for key, value in measured.items():
                figures[key].setdefault(lib, []).append(value)
            return float(result["wall"])

        return run

    libs = ["streamllm"] + (["openai"] if have_openai else [])
    interleave({lib: measure(lib) for lib in libs}, repeat)
    label = f"{runs} concurrent astream(), {n} tokens each, all in order"
    ours, theirs = ("streamllm", "openai") if have_openai else ("streamllm", "")
    other = SDK if have_openai else "(openai not installed)"
    return [
        Row(f"{label}, {what}", unit, figures[key][ours], other, figures[key].get(theirs, []))
        for key, what, unit in [
            ("wall", "wall time", "s"),
            ("cpu", "CPU time (process)", "s"),
            ("peak", "peak RSS", "MB"),
            ("growth", "RSS growth over the import", "MB"),
        ]
    ]
