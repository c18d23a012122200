"""benchmarks/bus.py keeps working: a tiny run, no timing asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "bus.py"


def test_bus_benchmark_tiny_run_prints_every_figure() -> None:
    """The benchmark starts its own redis-server and prints each figure with its target."""
    proc = subprocess.run(
        [sys.executable, str(BENCHMARK), "--tiny"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for figure in ("on_event, per token", "floor", "BusPublisher end to end", "median", "p99"):
        assert figure in proc.stdout
