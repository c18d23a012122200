"""The side-by-side benchmark keeps working: a tiny run, no timing asserted."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "compare.py"
TINY = [
    "--tokens", "200",
    "--repeat", "1",
    "--calls", "5",
    "--import-rounds", "1",
    "--http-tokens", "50",
    "--concurrent", "10",
    "--concurrent-tokens", "5",
]  # fmt: skip


def test_compare_tiny_run_prints_the_table() -> None:
    # The benchmark starts its own loopback SSE server (127.0.0.1, port 0) and
    # checks every token it streams: a non-zero exit means a contestant broke.
    proc = subprocess.run(
        [sys.executable, str(BENCHMARK), *TINY],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "Traceback" not in proc.stderr
    assert out.startswith("Machine: ")
    assert "| Benchmark | Unit | streamllm |" in out
    for benchmark in (
        "stream(), 0 sync handlers",
        "stream(), 1 sync handler",
        "stream(), 5 sync handlers",
        "astream(), 1 sync handler",
        "astream(), 1 async handler",
        "astream_events() per token",
        "invoke(), fixed cost",
        "batch(), 100 prompts",
        "peak memory, stream + result",
        "import (CPU, fresh process",
        "HTTP stream(), CPU per chunk",
        "HTTP astream(), CPU per chunk",
        "10 concurrent astream(), 5 tokens each, all in order, wall time",
    ):
        assert f"| {benchmark}" in out, benchmark
    if importlib.util.find_spec("langchain_core") is not None:
        assert "| langchain-core chat |" in out
        assert "| langchain-core LLM |" in out
    if importlib.util.find_spec("openai") is not None:
        assert "| openai SDK |" in out


def test_only_runs_the_named_benchmarks() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCHMARK), *TINY, "--only", "invoke"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [
        line for line in proc.stdout.splitlines() if line.startswith("| ") and "---" not in line
    ]
    assert rows[1:]
    assert all(row.startswith("| invoke(), fixed cost") for row in rows[1:])


def test_chat_and_tools_benchmarks_run_at_a_tiny_size() -> None:
    """benchmarks/chat.py and benchmarks/tools.py (figures in the README) keep working."""
    scripts = BENCHMARK.parent
    for script, args in (
        ("chat.py", ["--fragments", "200", "--repeat", "1"]),
        ("tools.py", ["--calls", "50", "--repeat", "1"]),
    ):
        proc = subprocess.run(
            [sys.executable, str(scripts / script), *args],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, f"{script}: {proc.stderr[-3000:]}"
        assert "µs" in proc.stdout, script
