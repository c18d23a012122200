"""Bad input: each gets a clear, typed error before any model call (issue 7)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from streamllm import (
    SCHEMA_VERSION,
    ConfigurationError,
    FakeListLLM,
    GenerationChunk,
    StreamLLMError,
)
from streamllm.callbacks.env import reset_env_tracing
from streamllm.handlers import RecordingError, replay
from streamllm.request import Request


class Spy(FakeListLLM):
    """Counts provider calls: a bad input must never reach one."""

    calls: int = 0

    def _stream(self, request: Request) -> Iterator[GenerationChunk]:
        self.calls += 1
        return super()._stream(request)


def _recording(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


HEADER = json.dumps({"streamllm_schema": SCHEMA_VERSION})


@pytest.mark.parametrize(
    ("case", "call", "error", "message"),
    [
        (
            "invalid generation parameter",
            lambda m, p: Spy(responses=["a"], temperature=9),
            ConfigurationError,
            "temperature",
        ),
        ("empty message list", lambda m, p: m.invoke([]), ConfigurationError, "empty"),
        (
            "unknown role",
            lambda m, p: m.invoke([{"role": "wizard", "content": "hi"}]),
            ConfigurationError,
            "unknown role 'wizard'",
        ),
        (
            "not a handler",
            lambda m, p: m.invoke("hi", callbacks=[42]),
            ConfigurationError,
            "int object is not a handler",
        ),
        (
            "unknown hook",
            lambda m, p: m.invoke("hi", callbacks=[{"on_token": print}]),
            ConfigurationError,
            "unknown hook name",
        ),
        (
            "non-JSON line in a recording",
            lambda m, p: replay(_recording(p, [HEADER, "{not json"]), []),
            RecordingError,
            "line 2",
        ),
        (
            "recording of a newer schema",
            lambda m, p: replay(
                _recording(p, [json.dumps({"streamllm_schema": SCHEMA_VERSION + 1})]), []
            ),
            ConfigurationError,
            "newer",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v else "",
)
def test_bad_input_gets_typed_error_before_any_call(
    case: str,
    call: Callable[[Any, Path], Any],
    error: type[Exception],
    message: str,
    tmp_path: Path,
) -> None:
    """The error is typed, names what is wrong, and no provider was called."""
    model = Spy(responses=["never"])
    with pytest.raises(error, match=message) as info:
        call(model, tmp_path)
    assert isinstance(info.value, StreamLLMError)
    assert model.calls == 0


def test_unknown_tracing_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown STREAMLLM_TRACING name raises ConfigurationError on first use."""
    monkeypatch.setenv("STREAMLLM_TRACING", "stdout,carrier-pigeon")
    reset_env_tracing()
    model = Spy(responses=["never"])
    try:
        with pytest.raises(ConfigurationError, match="carrier-pigeon"):
            model.invoke("hi")
        assert model.calls == 0
    finally:
        monkeypatch.delenv("STREAMLLM_TRACING")
        reset_env_tracing()
