"""benchmarks/bridge.py keeps working: a tiny run, no timing asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "bridge.py"


def test_bridge_benchmark_tiny_run_prints_the_table() -> None:
    """Every row of the table is printed and each contestant counted every token."""
    proc = subprocess.run(
        [sys.executable, str(BENCHMARK), "--tokens", "300", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for row in (
        "from_langchain: stream(), text run",
        "from_langchain: stream(), chat run",
        "from_langchain: astream(), text run, async handler",
        "StreamLLMCallbackHandler: LangChain chat stream()",
        "StreamLLMCallbackHandler.on_llm_new_token, chat chunk",
        "StreamLLMCallbackHandler.on_llm_new_token, text chunk",
        "Largest overhead:",
    ):
        assert row in proc.stdout
