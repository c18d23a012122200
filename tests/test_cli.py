"""The `streamllm` command, driven as a subprocess (`python -m streamllm ...`)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from streamllm import LLMEnd, LLMError, LLMStart, NewToken, parse_event
from streamllm.events import Event
from streamllm.handlers import read_recording

SUMMARY = re.compile(
    r"^-- \d+ tokens, first token [\d.]+ s, [\d.]+ tokens/s, [\d.]+ s total$", re.MULTILINE
)
KEY = "sk-test-0123456789abcdef-secret"
# A shell may start background jobs with SIGINT ignored, and Python keeps an
# ignored SIGINT ignored: restore Ctrl-C's usual meaning before running the CLI.
_WITH_CTRL_C = (
    "import runpy, signal, sys\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "sys.argv = ['streamllm', *sys.argv[1:]]\n"
    "runpy.run_module('streamllm', run_name='__main__')\n"
)
_WITHOUT_LLAMA_CPP = "import sys\nsys.modules['llama_cpp'] = None\n" + _WITH_CTRL_C


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    env.update(extra)
    return env


def run_cli(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, code: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion and capture its output."""
    command = [sys.executable, "-m", "streamllm"] if code is None else [sys.executable, "-c", code]
    return subprocess.run(
        [*command, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env if env is not None else _env(),
        timeout=120,
    )


def _events(stdout: str) -> list[Event]:
    return [parse_event(line) for line in stdout.splitlines() if line.strip()]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_local_model_streams_real_tokens_and_a_summary() -> None:
    """The embedded model answers on stdout; the summary line goes to stderr."""
    out = run_cli("Tell me a joke.", "--max-tokens", "16")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()
    assert SUMMARY.search(out.stderr), out.stderr


def test_local_model_json_and_recording(tmp_path: Path) -> None:
    """--json gives the real model's events; tokens add up to the result; usage is the model's."""
    recording = tmp_path / "local.jsonl"
    out = run_cli(
        "Tell me a joke.",
        "--max-tokens",
        "12",
        "--json",
        "--record",
        str(recording),
        "--show",
        "usage",
    )
    assert out.returncode == 0, out.stderr
    events = _events(out.stdout)
    tokens = [e.token for e in events if isinstance(e, NewToken)]
    (end,) = [e for e in events if isinstance(e, LLMEnd)]
    assert len(tokens) > 1
    assert "".join(tokens) == end.result.text
    assert end.result.usage is not None
    assert end.result.usage.source == "provider"
    assert "(provider)" in out.stderr
    assert read_recording(recording) == events


def test_json_lines_parse_back_into_events() -> None:
    """Every stdout line under --json is an event: start, one per token, end."""
    out = run_cli("--provider", "fake", "--json", "Why did the chicken cross the road?")
    assert out.returncode == 0, out.stderr
    events = _events(out.stdout)
    assert isinstance(events[0], LLMStart)
    assert isinstance(events[-1], LLMEnd)
    assert "".join(e.token for e in events if isinstance(e, NewToken)) == (
        "Why did the chicken cross the road?"
    )
    assert [e.seq for e in events] == list(range(len(events)))


def test_recording_replays_to_the_same_events(tmp_path: Path) -> None:
    """A recording played back with --json yields exactly the recorded events."""
    recording = tmp_path / "run.jsonl"
    live = run_cli("--provider", "fake", "--json", "--record", str(recording), "one two three")
    assert live.returncode == 0, live.stderr
    replayed = run_cli("replay", str(recording), "--json")
    assert replayed.returncode == 0, replayed.stderr
    assert _events(replayed.stdout) == _events(live.stdout) == read_recording(recording)
    text = run_cli("replay", str(recording), "--show", "tokens,latency,events")
    assert text.stdout == "one two three\n"
    assert "event    1 new_token #0 'one'" in text.stderr
    assert "latency: gaps p50" in text.stderr
    assert SUMMARY.search(text.stderr)


def test_prompt_from_stdin_and_system_message() -> None:
    """'-' reads the prompt from stdin; --system sends a system message first."""
    out = run_cli(
        "--provider", "fake", "--json", "--system", "Be brief.", "-", stdin="from stdin\n"
    )
    assert out.returncode == 0, out.stderr
    start = _events(out.stdout)[0]
    assert isinstance(start, LLMStart)
    assert start.messages is not None
    assert [(m.role, m.content) for m in start.messages] == [
        ("system", "Be brief."),
        ("user", "from stdin"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--provider", "nope", "hi"], "unknown provider 'nope'"),
        (["--provider", "openai", "hi"], "needs an API key: set OPENAI_API_KEY"),
        (["--provider", "chat-openai", "hi"], "needs an API key: set OPENAI_API_KEY"),
        (["--provider", "anthropic", "hi"], "needs an API key: set ANTHROPIC_API_KEY"),
        (["--model", "/nonexistent/model.gguf", "hi"], "model file not found: /nonexistent"),
        (["--show", "bogus", "hi"], "unknown --show name(s) bogus"),
        (["--max-tokens", "0", "hi"], "expected a positive integer"),
        (["--json", "--show", "tokens", "hi"], "drop 'tokens' from --show"),
        (["--provider", "fake", "-"], "the prompt is empty"),
        ([], "required: prompt"),
        (["replay", "/nonexistent/run.jsonl"], "cannot read the recording"),
        (
            ["--provider", "fake", "--record", "/nonexistent/dir/r.jsonl", "hi"],
            "cannot write the recording",
        ),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(args: list[str], message: str) -> None:
    """Bad usage or configuration: one clear line on stderr, exit code 2."""
    out = run_cli(*args)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith("streamllm: error: ")
    assert message in out.stderr
    assert out.stdout == ""


def test_not_a_recording_exits_2(tmp_path: Path) -> None:
    """Replaying a file that is not a recording names the problem and exits 2."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hello": 1}\n')
    out = run_cli("replay", str(bad))
    assert out.returncode == 2
    assert "not a streamllm recording" in out.stderr


def test_missing_local_extra_names_the_install_command() -> None:
    """Without llama-cpp-python the error says which command installs it."""
    out = run_cli("hi", code=_WITHOUT_LLAMA_CPP)
    assert out.returncode == 2
    assert "pip install 'streamllm[local]'" in out.stderr
    assert out.stderr.count("\n") == 1


@pytest.mark.skipif(
    importlib.util.find_spec("streamllm.models.openai") is None,
    reason="the OpenAI provider is not in this tree yet",
)
def test_unreachable_server_fails_with_exit_1_and_never_prints_the_key() -> None:
    """A server that does not answer is a failed run (exit 1); the key stays secret."""
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    out = run_cli(
        "--provider",
        "chat-openai",
        "--base-url",
        url,
        "hi",
        env=_env(OPENAI_API_KEY=KEY),
    )
    assert out.returncode == 1
    assert "streamllm: error: " in out.stderr
    assert KEY not in out.stderr + out.stdout


def test_ctrl_c_exits_130_and_records_the_terminal_event(tmp_path: Path) -> None:
    """SIGINT stops the stream cleanly: exit 130, LLMError(cancelled) in the recording."""
    recording = tmp_path / "interrupted.jsonl"
    words = " ".join(f"w{i}" for i in range(200))
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _WITH_CTRL_C,
            "--provider",
            "fake",
            "--delay",
            "0.05",
            "--record",
            str(recording),
            words,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert process.stdout is not None
    first = os.read(process.stdout.fileno(), 2)  # the first token is on its way
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert first.startswith(b"w")
    assert err.decode().rstrip().endswith("streamllm: interrupted")
    events = read_recording(recording)
    assert isinstance(events[0], LLMStart)
    assert isinstance(events[-1], LLMError)
    assert events[-1].reason == "cancelled"
    assert len(events[1:-1]) < 200
    assert json.loads(recording.read_text().splitlines()[0])["streamllm_schema"] >= 1


def test_closed_stdout_stops_the_run_quietly() -> None:
    """A reader that goes away (`| head -1`) stops generation without a traceback."""
    words = " ".join(f"w{i}" for i in range(500))
    command = ["-m", "streamllm", "--provider", "fake", "--delay", "0.01", "--json", words]
    process = subprocess.Popen(
        [sys.executable, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=60) == 1
    assert isinstance(parse_event(first), LLMStart)
    assert "Traceback" not in err
    assert ", failed" in err  # the summary: the run ended early, as failed
