"""``STREAMLLM_TRACING``: global handlers from the environment (DESIGN.md section 4)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamllm import ConfigurationError, FakeListLLM, set_global_handlers
from streamllm.callbacks import context
from streamllm.callbacks.env import ENV_VAR, handlers_from_spec, reset_env_tracing
from streamllm.handlers import JSONLRecorder, LoggingHandler, StdOutHandler
from streamllm.handlers.otel import OpenTelemetryHandler
from streamllm.handlers.recorder import read_recording
from streamllm.testing import RecordingHandler


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No environment or global handlers before or after each test."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    reset_env_tracing()
    set_global_handlers([])
    yield
    monkeypatch.delenv(ENV_VAR, raising=False)
    reset_env_tracing()
    set_global_handlers([])


def _global_types() -> list[type]:
    return [type(entry.handler) for entry in context.global_entries()]


def test_unset_means_no_handlers() -> None:
    """Without the variable there are no global handlers."""
    assert _global_types() == []


def test_each_name_attaches_its_handler(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """stdout, logging, jsonl:PATH and otel, comma-separated, spaces and empty items
    ignored; the handlers see the next run."""
    path = tmp_path / "runs.jsonl"
    monkeypatch.setenv(ENV_VAR, f" stdout, LOGGING ,,jsonl:{path}, otel ")
    reset_env_tracing()
    assert FakeListLLM(responses=["traced answer"]).invoke("q") == "traced answer"
    assert _global_types() == [StdOutHandler, LoggingHandler, JSONLRecorder, OpenTelemetryHandler]
    assert "fake" in capsys.readouterr().out
    reset_env_tracing()
    assert read_recording(path)[0].type == "llm_start"


def test_the_variable_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A change after the first run has no effect until the reset."""
    monkeypatch.setenv(ENV_VAR, "logging")
    reset_env_tracing()
    FakeListLLM(responses=["x"]).invoke("q")
    monkeypatch.setenv(ENV_VAR, "stdout")
    FakeListLLM(responses=["x"]).invoke("q")
    assert _global_types() == [LoggingHandler]
    reset_env_tracing()
    assert _global_types() == [StdOutHandler]


def test_environment_handlers_come_before_and_stay_beside_global_ones(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Programmatic global handlers keep working next to the environment's; the
    reset removes only what the environment attached."""
    recorder = RecordingHandler()
    set_global_handlers([recorder])
    monkeypatch.setenv(ENV_VAR, "logging")
    reset_env_tracing()
    caplog.set_level(logging.INFO, logger="streamllm")
    FakeListLLM(responses=["x"]).invoke("q")
    assert _global_types() == [LoggingHandler, RecordingHandler]
    assert recorder.events[0].type == "llm_start"  # type: ignore[attr-defined]
    assert caplog.records
    reset_env_tracing()
    monkeypatch.delenv(ENV_VAR)
    assert _global_types() == [RecordingHandler]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("stdout,tracer", "unknown handler 'tracer'"),
        ("jsonl", "'jsonl' needs a path"),
        ("jsonl:", "'jsonl' needs a path"),
        ("stdout:x", "'stdout' takes no argument"),
        ("jsonl:/nonexistent/dir/x.jsonl", "cannot write the recording jsonl:/nonexistent/dir"),
    ],
)
def test_a_bad_value_is_a_clear_error_on_every_run(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    """The error names the variable and the bad item, and repeats until fixed."""
    monkeypatch.setenv(ENV_VAR, value)
    reset_env_tracing()
    model = FakeListLLM(responses=["x"])
    for _ in range(2):
        with pytest.raises(ConfigurationError, match=message) as info:
            model.invoke("q")
        assert ENV_VAR in str(info.value)
    monkeypatch.setenv(ENV_VAR, "")
    assert model.invoke("q") == "x"
    assert _global_types() == []


def test_reset_closes_what_it_attached(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The reset detaches the recorder and closes its file."""
    monkeypatch.setenv(ENV_VAR, f"jsonl:{tmp_path / 'r.jsonl'}")
    reset_env_tracing()
    FakeListLLM(responses=["x"]).invoke("q")
    (entry,) = context.global_entries()
    recorder = entry.handler
    assert isinstance(recorder, JSONLRecorder)
    reset_env_tracing()
    assert recorder.closed


def test_handlers_from_spec_parses_without_attaching() -> None:
    """The parser alone builds handlers and attaches nothing."""
    assert handlers_from_spec("") == []
    (handler,) = handlers_from_spec("stdout")
    assert isinstance(handler, StdOutHandler)
    assert _global_types() == []
