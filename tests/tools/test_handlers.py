"""Every built-in handler shows tool runs: the recorder (and replay), stdout,
logging and OpenTelemetry (``execute_tool {name}`` spans under the workflow
span); TokenCounter counts model runs only."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from streamllm import (
    FakeChatModel,
    JSONLRecorder,
    LoggingHandler,
    StdOutHandler,
    TokenCounter,
    read_recording,
    replay,
    traced,
)
from streamllm.testing import RecordingHandler
from streamllm.tools import tool


@tool
def get_weather(city: str) -> str:
    """The weather now in a city."""
    return f"22 C in {city}"


@tool
def broken(city: str) -> str:
    """Fails."""
    raise RuntimeError(f"no weather for {city}")


def tool_loop(handlers: list[Any], failing: bool = False) -> None:
    """A traced tool loop: one model call asking for a tool, the tool, the answer."""
    t = broken if failing else get_weather
    model = FakeChatModel(
        responses=[
            {"tool_calls": [{"id": "call_1", "name": t.name, "args": {"city": "Oslo"}}]},
            "Done.",
        ]
    ).bind_tools([t])

    @traced(name="loop", callbacks=handlers)
    def loop() -> str:
        messages: list[Any] = [("user", "Weather?")]
        while (reply := model.invoke(messages)).tool_calls:
            messages.append(reply)
            messages += [t.invoke(call) for call in reply.tool_calls]
        return reply.text

    if failing:
        with pytest.raises(RuntimeError):
            loop()
    else:
        loop()


def test_the_recorder_keeps_tool_runs_and_replay_gives_them_back(tmp_path: Path) -> None:
    """A recording holds the tool run; replaying it gives every event back, equal."""
    path = tmp_path / "loop.jsonl"
    live = RecordingHandler()
    with JSONLRecorder(path) as recorder:
        tool_loop([recorder, live])
    recorded = list(read_recording(path))
    assert [e.type for e in recorded if e.type.startswith("tool")] == ["tool_start", "tool_end"]
    again = RecordingHandler()
    replay(path, [again])
    assert again.events == live.events


def test_the_token_counter_counts_model_runs_only() -> None:
    """Two model runs and one tool run: TokenCounter counts two runs."""
    counter = TokenCounter()
    tool_loop([counter])
    assert counter.runs == 2


def test_stdout_shows_the_tool_run() -> None:
    """StdOutHandler writes a line when the tool run starts and when it ends,
    named for the tool, and the failure of a failing one."""
    out = io.StringIO()
    tool_loop([StdOutHandler(out)])
    lines = [line for line in out.getvalue().splitlines() if "] get_weather:" in line]
    assert len(lines) == 2, out.getvalue()
    assert "Oslo" in lines[0]
    assert "22 C in Oslo" in lines[1]
    out = io.StringIO()
    tool_loop([StdOutHandler(out)], failing=True)
    assert "RuntimeError: no weather for Oslo" in out.getvalue()


@pytest.mark.parametrize("capture_content", [False, True])
def test_logging_shows_the_tool_run_and_content_only_when_asked(
    capture_content: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """LoggingHandler logs tool_start and tool_end with the run's ids; the
    arguments and output only with capture_content."""
    caplog.set_level(logging.INFO, logger="streamllm.handlers.log")
    with capture_logs() as logs:
        tool_loop([LoggingHandler(capture_content=capture_content)])
    records = {r["event"]: r for r in logs if str(r["event"]).startswith("tool")}
    assert set(records) == {"tool_start", "tool_end"}
    start = records["tool_start"]
    assert start["run_name"] == "get_weather"
    assert start["parent_run_id"] is not None
    dumped = json.dumps(logs, default=str)
    assert ("22 C in Oslo" in dumped) is capture_content


def test_logging_shows_a_failed_tool_run(caplog: pytest.LogCaptureFixture) -> None:
    """A failing tool logs tool_error with the error type."""
    caplog.set_level(logging.INFO, logger="streamllm.handlers.log")
    with capture_logs() as logs:
        tool_loop([LoggingHandler()], failing=True)
    (error,) = [r for r in logs if r["event"] == "tool_error"]
    assert error["error_type"] == "RuntimeError"
    assert error["reason"] == "failed"


otel_sdk = pytest.importorskip("opentelemetry.sdk.trace")


def _spans(capture_content: bool, failing: bool = False) -> dict[str, Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from streamllm.handlers.otel import OpenTelemetryHandler

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    handler = OpenTelemetryHandler(tracer_provider=provider, capture_content=capture_content)
    tool_loop([handler], failing=failing)
    return {s.name: s for s in exporter.get_finished_spans()}


@pytest.mark.parametrize("capture_content", [False, True])
def test_otel_execute_tool_span_under_the_workflow(capture_content: bool) -> None:
    """The tool run is an `execute_tool {name}` span, child of the workflow span,
    with the GenAI tool attributes; arguments and result only with capture_content."""
    spans = _spans(capture_content)
    span, workflow = spans["execute_tool get_weather"], spans["invoke_workflow loop"]
    assert span.parent is not None
    assert span.parent.span_id == workflow.context.span_id
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "execute_tool"
    assert attrs["gen_ai.tool.name"] == "get_weather"
    assert attrs["gen_ai.tool.call.id"] == "call_1"
    if capture_content:
        assert json.loads(attrs["gen_ai.tool.call.arguments"]) == {"city": "Oslo"}
        assert "22 C in Oslo" in attrs["gen_ai.tool.call.result"]
    else:
        assert "gen_ai.tool.call.arguments" not in attrs
        assert "gen_ai.tool.call.result" not in attrs


def test_otel_failed_tool_span_is_an_error() -> None:
    """A failing tool's span ends with error.type and an ERROR status."""
    from opentelemetry.trace import StatusCode

    span = _spans(False, failing=True)["execute_tool broken"]
    assert (span.attributes or {})["error.type"] == "RuntimeError"
    assert span.status.status_code is StatusCode.ERROR
