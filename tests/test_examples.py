"""Every script in examples/ runs and prints what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"
EXPECTED = {
    "stream.py": "Dam!",
    "callback.py": "{'token': ' slide.'}",
    "generate.py": "source='provider'",
    "tool_loop.py": "  tool get_weather({\"city\": \"Paris\"}) -> '22 C and sunny in Paris'",
}


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_example_runs(script: str) -> None:
    """The example exits 0 and prints its expected line."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert EXPECTED.get(script, "") in done.stdout
