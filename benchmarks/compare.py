"""streamllm side by side with langchain-core and the openai SDK, in one process.

Every comparison runs its contestants in interleaved rounds (the order rotates
each round) and reports the median of ``--repeat`` rounds, in CPU time of this
process unless the unit says otherwise: wall time on a shared machine measures
the neighbours. The ratio column says how many times cheaper streamllm is
(for memory: how many times the bare join streamllm needs).

    .venv/bin/pip install -r benchmarks/requirements.txt
    python benchmarks/compare.py                          # the full run
    python benchmarks/compare.py --tokens 1000 --repeat 1 --concurrent 20   # smoke size
    python benchmarks/compare.py --only astream           # benchmarks whose name contains it
    python benchmarks/compare.py --only "stream() of"     # peak memory of stream() (issue 11.10)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))

if TYPE_CHECKING:
    from _compare.common import Row


def machine() -> str:
    """CPU model, cores, Python and library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for dist in ("streamllm", "langchain-core", "openai", "httpx", "pydantic"):
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist} (not installed)")
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()} ({platform.python_implementation()}); "
        + ", ".join(versions)
    )


def _fmt(value: float) -> str:
    if value != value:  # NaN: no such contestant
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(rows: list[Row]) -> str:
    """A Markdown table: medians, the ratio of medians, the ratio of bests."""
    from _compare.common import Row

    lines = [
        "| Benchmark | Unit | streamllm | Against | Their value | Ratio | Ratio of bests "
        "| Target | Met |",
        "|---|---|---:|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        ratio = row.ratio(Row.med) if row.other else float("nan")
        best = row.ratio(min) if row.other else float("nan")
        lines.append(
            f"| {row.benchmark} | {row.unit} | {_fmt(Row.med(row.ours))} | {row.other_name} "
            f"| {_fmt(Row.med(row.other))} | {_fmt(ratio)}x | {_fmt(best)}x "
            f"| {row.target_text()} | {row.met() if row.other else ''} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=100_000, help="tokens of the fake stream")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds (median kept)")
    parser.add_argument("--only", default=None, help="run the benchmarks whose name contains it")
    parser.add_argument("--calls", type=int, default=2000, help="invoke() calls per round")
    parser.add_argument(
        "--http-tokens",
        type=int,
        default=None,
        help="chunks per HTTP stream (default: min(tokens, 20000))",
    )
    parser.add_argument(
        "--import-rounds", type=int, default=7, help="fresh interpreters per import contestant"
    )
    parser.add_argument(
        "--frame-tokens",
        type=int,
        default=None,
        help="chunks per one-frame-per-read stream (default: min(HTTP chunks, 2000))",
    )
    parser.add_argument(
        "--memory-tokens",
        type=int,
        default=None,
        help="fresh tokens of the stream() memory run (default: 10 x --tokens, 1,000,000)",
    )
    parser.add_argument("--concurrent", type=int, default=1000, help="concurrent astream runs")
    parser.add_argument(
        "--concurrent-tokens", type=int, default=100, help="tokens in each concurrent run"
    )
    parser.add_argument(
        "--concurrency-child",
        nargs=4,
        metavar=("LIB", "URL", "RUNS", "TOKENS"),
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args()

    if args.concurrency_child:
        # Before anything else is imported: the child's peak RSS is its library's.
        from _compare.concurrent import child

        lib, url, runs, n = args.concurrency_child
        child(lib, url, int(runs), int(n))
        return

    from _compare import fake, system

    only = args.only

    def want(name: str) -> bool:
        return only is None or only in name

    rows: list[Row] = []
    rows += fake.run(args.tokens, args.repeat, args.calls, only)
    if want("peak memory, stream + result"):
        rows += system.memory(args.tokens, args.repeat)
    if want("peak memory, stream() of"):
        from _compare import stream_memory

        rows += stream_memory.rows(args.memory_tokens or 10 * args.tokens, min(args.repeat, 3))
    if want("import"):
        rows += system.imports(args.import_rounds)
    http_tokens = args.http_tokens or min(args.tokens, 20_000)
    http_wanted = [want("HTTP stream()"), want("HTTP astream()"), want("concurrent astream()")]
    if any(http_wanted):
        from _compare import concurrent, overhttp
        from sse_server import serve

        with serve(http_tokens) as url:
            if http_wanted[0]:
                rows += overhttp.sync_rows(url, http_tokens, args.repeat)
            if http_wanted[1]:
                rows += overhttp.async_rows(url, http_tokens, args.repeat)
            if http_wanted[2]:
                rows += concurrent.rows(
                    url, args.concurrent, args.concurrent_tokens, min(args.repeat, 3)
                )
        if any(http_wanted[:2]):
            from _compare import frame_server

            shape = ", one frame per read"
            frame_tokens = args.frame_tokens or min(http_tokens, 2000)
            with frame_server.serve() as url:
                if http_wanted[0]:
                    rows += overhttp.sync_rows(url, frame_tokens, args.repeat, shape)
                if http_wanted[1]:
                    rows += overhttp.async_rows(url, frame_tokens, args.repeat, shape)

    print(f"Machine: {machine()}")
    print(
        f"Fake stream: {args.tokens:,} tokens; HTTP: {http_tokens:,} chunks per stream; "
        f"median of {args.repeat} interleaved rounds (concurrency: {min(args.repeat, 3)}); "
        "CPU time of the measuring process unless the unit is wall time (s) or memory."
    )
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
