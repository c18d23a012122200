"""Typed options (issue 12.7): a misspelt keyword or config key is a mypy error."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest

SNIPPET = textwrap.dedent(
    """
    from streamllm import FakeListLLM, RunnableConfig

    model = FakeListLLM(responses=["x"])
    model.invoke("hi", tags=["a"], metadata={"a": 1}, run_name="ok")
    model.invoke("hi", metdata={"a": 1})
    config: RunnableConfig = {"callbaks": []}
    model.batch(["a"], run_nme="x")
    model.invoke("hi", config={"configurable": {}, "recursion_limit": 5, "max_concurrency": 2})
    """
)


def test_mypy_catches_misspelt_options(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    # A module name of its own: mypy's cache is keyed by module, and would
    # answer for another run's snippet.
    path = tmp_path / f"snippet_{uuid.uuid4().hex}.py"
    path.write_text(SNIPPET)
    root = Path(__file__).resolve().parents[2]
    out, _, _ = api.run(
        ["--strict", "--cache-dir", str(root / ".mypy_cache"), "--no-error-summary", str(path)]
    )
    errors = [
        line for line in out.splitlines() if line.startswith(str(path)) and ": error:" in line
    ]
    lines = sorted({int(line.split(":")[1]) for line in errors})
    assert lines == [6, 7, 8], out  # the three typos, and nothing else
    assert 'did you mean "metadata"' in out
    assert 'did you mean "run_name"' in out
