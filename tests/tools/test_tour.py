"""The tour example: a tool loop against FakeChatModel prints its answer and
the tree of runs (one trace: the traced loop, its model calls and tool calls)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tool_loop.py"

TREE = """\
It is 14:05 in Paris, 22 C and sunny.
chain ask -> chain_end
  llm fake-chat -> 2 tool call(s)
  tool get_weather({"city": "Paris"}) -> '22 C and sunny in Paris'
  tool local_time({"city": "Paris"}) -> '14:05'
  llm fake-chat -> answer
"""


def test_the_tool_loop_example_prints_its_tree_of_runs() -> None:
    """The example runs warning-free and prints exactly the answer and the tree."""
    done = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLE)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == TREE
