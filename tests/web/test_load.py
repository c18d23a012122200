"""The load benchmark at a modest size: every client gets its run exactly, reconnecting
ones too, and the stalled ones are dropped (the script exits 1 otherwise). No timing
is asserted; benchmarks/web.py at its full size prints the figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "web.py"
MODEST = [
    "--clients", "120",
    "--runs", "12",
    "--tokens", "30",
    "--delay", "0.02",
    "--reconnecting", "30",
    "--stalled", "1",
    "--stall", "1",
]  # fmt: skip


def test_many_clients_each_get_every_event_of_their_run_once() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCHMARK), *MODEST], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "FAIL" not in proc.stdout
    assert "clients 120 on 12 runs of 30 tokens" in proc.stdout
    assert "'dropped': 1" in proc.stdout
    assert "Traceback" not in proc.stderr
