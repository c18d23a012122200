"""Built-in handlers on chat runs: blocks (text, reasoning, tool calls) and the
usage details (DESIGN 11)."""

from __future__ import annotations

import io
import logging

import pytest

from streamllm import FakeChatModel, LLMEnd
from streamllm.handlers import LoggingHandler, StreamingStdOutHandler

SCRIPT = {
    "reasoning": "Think first.",
    "text": "Looking it up.",
    "tool_calls": [{"name": "get_weather", "args": {"city": "Paris"}}],
}


def _stream(handler: object) -> None:
    model = FakeChatModel(responses=[SCRIPT])
    for _ in model.stream("Weather?", callbacks=[handler]):
        pass


def test_streaming_stdout_prints_text_only_by_default() -> None:
    out = io.StringIO()
    _stream(StreamingStdOutHandler(out))
    assert "Looking it up." in out.getvalue()
    assert "Think first." not in out.getvalue()
    assert "Paris" not in out.getvalue()


def test_streaming_stdout_shows_reasoning_and_tool_calls_when_asked() -> None:
    out = io.StringIO()
    _stream(StreamingStdOutHandler(out, reasoning=True, tools=True))
    text = out.getvalue()
    assert "[reasoning] Think first." in text
    assert "[tool call get_weather] " in text
    assert '"city"' in text
    assert "Paris" in text
    # The answer is on a line of its own, not run into the reasoning.
    assert "Think first.Looking" not in text
    assert text.endswith("\n")


@pytest.mark.parametrize("capture_content", [False, True])
def test_logging_logs_block_ends_at_debug_and_content_only_when_asked(
    caplog: pytest.LogCaptureFixture, capture_content: bool
) -> None:
    with caplog.at_level(logging.DEBUG, logger="streamllm.handlers.log"):
        _stream(LoggingHandler(capture_content=capture_content))
    ends = [r for r in caplog.records if "block_end" in r.getMessage()]
    assert ends
    assert all(r.levelno == logging.DEBUG for r in ends)
    logged = " ".join(r.getMessage() for r in ends)
    assert ("Think first." in logged) is capture_content
    assert ("Paris" in logged) is capture_content


def test_the_collector_rebuilds_the_chat_message_from_block_ends() -> None:
    from streamllm.handlers import ResultCollector
    from streamllm.testing import RecordingHandler

    collector, recorder = ResultCollector(), RecordingHandler()
    model = FakeChatModel(responses=[SCRIPT])
    for _ in model.stream("Weather?", callbacks=[collector, recorder]):
        pass
    (end,) = recorder.of_type(LLMEnd)
    (result,) = collector.results.values()
    assert end.result.message is not None
    assert result.message == end.result.message
    assert [b.type for b in result.message.content_blocks] == ["reasoning", "text", "tool_call"]


def test_latency_counts_the_first_token_of_any_block() -> None:
    """A run that only reasons and calls a tool still has a first token."""
    from streamllm.handlers import LatencyHandler

    latency = LatencyHandler()
    model = FakeChatModel(
        responses=[{"reasoning": "Hmm.", "tool_calls": [{"name": "f", "args": {"x": 1}}]}]
    )
    for _ in model.stream("go", callbacks=[latency]):
        pass
    (stats,) = latency.stats.values()
    assert stats.time_to_first_token is not None


def test_stdout_end_line_names_the_tool_calls_a_chat_run_asked_for() -> None:
    from streamllm.handlers import StdOutHandler

    out = io.StringIO()
    _stream(StdOutHandler(out))
    start, end = out.getvalue().splitlines()
    assert "start (" in start
    assert "1 message(s)" in start
    assert "finish tool_calls, tool calls get_weather," in end


def test_otel_chat_span_has_tool_call_finish_cache_and_reasoning_tokens() -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from streamllm import TokenUsage
    from streamllm.handlers.otel import OpenTelemetryHandler

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    usage = TokenUsage.of(50, 20, cache_read_tokens=30, cache_write_tokens=5, reasoning_tokens=8)
    model = FakeChatModel(responses=[{**SCRIPT, "usage": usage}])
    for _ in model.stream("Weather?", callbacks=[OpenTelemetryHandler(tracer_provider=provider)]):
        pass
    (span,) = exporter.get_finished_spans()
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 30
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 5
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 8
    assert attrs["gen_ai.request.stream"] is True
    assert "gen_ai.input.messages" not in attrs
