"""The `streamllm` command against a real llama-server: hosted-provider paths end to end."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from streamllm import LLMEnd, NewToken, parse_event


@pytest.mark.parametrize(
    ("provider", "suffix"), [("chat-openai", "/v1"), ("openai", "/v1"), ("anthropic", "")]
)
def test_cli_streams_from_the_server(llama_server: str, provider: str, suffix: str) -> None:
    """--json events from the server: real tokens that add up, usage from the provider."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    options = ["--base-url", llama_server + suffix, "--max-tokens", "10", "--temperature", "0"]
    prompt = "Once upon a time, in a land of dragons,"
    done = subprocess.run(
        [sys.executable, "-m", "streamllm", "--provider", provider, *options, "--json", prompt],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    events = [parse_event(line) for line in done.stdout.splitlines()]
    tokens = [e.token for e in events if isinstance(e, NewToken)]
    (end,) = [e for e in events if isinstance(e, LLMEnd)]
    assert tokens
    assert "".join(tokens) == end.result.text
    assert end.result.usage is not None
    assert end.result.usage.source == "provider"
    assert "tokens" in done.stderr.splitlines()[-1]
