"""OpenTelemetryHandler against the SDK's in-memory exporter and metric reader."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from streamllm import FakeListLLM, GenerationChunk, ProviderConnectionError, Request, TokenUsage
from streamllm.callbacks.parent_runs import traced
from streamllm.handlers import _otel_attrs as otel
from streamllm.handlers.otel import OpenTelemetryHandler


@dataclass
class Telemetry:
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    handler: OpenTelemetryHandler

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        (span,) = [s for s in self.spans() if s.name == name]
        return span

    def points(self, metric: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        assert data is not None
        return [
            point
            for rm in data.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
            if m.name == metric
            for point in m.data.data_points
        ]


def _telemetry(capture_content: bool = False) -> Telemetry:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    handler = OpenTelemetryHandler(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        capture_content=capture_content,
    )
    return Telemetry(exporter, reader, handler)


@pytest.fixture
def tel() -> Iterator[Telemetry]:
    telemetry = _telemetry()
    yield telemetry
    assert telemetry.handler._runs == {}, "a span was left open"


def test_names_match_the_semantic_conventions_package() -> None:
    """Every name the handler uses is the one opentelemetry-semantic-conventions defines."""
    from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as g
    from opentelemetry.semconv._incubating.metrics import gen_ai_metrics as gm
    from opentelemetry.semconv.attributes import error_attributes

    pairs = {
        otel.OPERATION_NAME: g.GEN_AI_OPERATION_NAME,
        otel.PROVIDER_NAME: g.GEN_AI_PROVIDER_NAME,
        otel.REQUEST_MODEL: g.GEN_AI_REQUEST_MODEL,
        otel.REQUEST_MAX_TOKENS: g.GEN_AI_REQUEST_MAX_TOKENS,
        otel.REQUEST_TEMPERATURE: g.GEN_AI_REQUEST_TEMPERATURE,
        otel.REQUEST_TOP_P: g.GEN_AI_REQUEST_TOP_P,
        otel.REQUEST_STOP_SEQUENCES: g.GEN_AI_REQUEST_STOP_SEQUENCES,
        otel.RESPONSE_MODEL: g.GEN_AI_RESPONSE_MODEL,
        otel.RESPONSE_FINISH_REASONS: g.GEN_AI_RESPONSE_FINISH_REASONS,
        otel.RESPONSE_TIME_TO_FIRST_CHUNK: g.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
        otel.USAGE_INPUT_TOKENS: g.GEN_AI_USAGE_INPUT_TOKENS,
        otel.USAGE_OUTPUT_TOKENS: g.GEN_AI_USAGE_OUTPUT_TOKENS,
        otel.INPUT_MESSAGES: g.GEN_AI_INPUT_MESSAGES,
        otel.OUTPUT_MESSAGES: g.GEN_AI_OUTPUT_MESSAGES,
        otel.TOKEN_TYPE: g.GEN_AI_TOKEN_TYPE,
        otel.WORKFLOW_NAME: g.GEN_AI_WORKFLOW_NAME,
        otel.ERROR_TYPE: error_attributes.ERROR_TYPE,
        otel.USAGE_CACHE_READ: g.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        otel.USAGE_CACHE_WRITE: g.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
        otel.USAGE_REASONING: g.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
        otel.REQUEST_STREAM: g.GEN_AI_REQUEST_STREAM,
        otel.TOOL_NAME: g.GEN_AI_TOOL_NAME,
        otel.TOOL_TYPE: g.GEN_AI_TOOL_TYPE,
        otel.TOOL_CALL_ID: g.GEN_AI_TOOL_CALL_ID,
        otel.TOOL_CALL_ARGUMENTS: g.GEN_AI_TOOL_CALL_ARGUMENTS,
        otel.TOOL_CALL_RESULT: g.GEN_AI_TOOL_CALL_RESULT,
        otel.TOOL_DEFINITIONS: g.GEN_AI_TOOL_DEFINITIONS,
        otel.METRIC_DURATION: gm.GEN_AI_CLIENT_OPERATION_DURATION,
        otel.METRIC_TOKEN_USAGE: gm.GEN_AI_CLIENT_TOKEN_USAGE,
        otel.METRIC_TIME_TO_FIRST_CHUNK: gm.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
        otel.METRIC_TIME_PER_OUTPUT_CHUNK: gm.GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK,
    }
    for ours, theirs in pairs.items():
        assert ours == theirs
    operations = {op.value for op in g.GenAiOperationNameValues}
    assert {"chat", "text_completion", "invoke_workflow", "execute_tool"} <= operations


def test_a_completion_span_has_request_and_response_attributes(tel: Telemetry) -> None:
    """Span name, kind, request parameters at start, response and usage at end."""
    model = FakeListLLM(
        responses=["one two three"], max_tokens=64, temperature=0.5, top_p=0.9, stop=["END"]
    )
    assert model.invoke("Tell me a joke.", callbacks=[tel.handler]) == "one two three"
    span = tel.span("text_completion fake")
    assert span.kind == SpanKind.CLIENT
    attrs = dict(span.attributes or {})
    ttfc = attrs.pop("gen_ai.response.time_to_first_chunk")
    assert isinstance(ttfc, float)
    assert ttfc >= 0
    assert attrs == {
        "gen_ai.operation.name": "text_completion",
        "gen_ai.provider.name": "fake",
        "gen_ai.request.model": "fake",
        "gen_ai.request.max_tokens": 64,
        "gen_ai.request.temperature": 0.5,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.request.stream": True,
        "gen_ai.response.model": "fake",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 4,
        "gen_ai.usage.output_tokens": 4,
    }
    assert span.status.status_code == StatusCode.UNSET
    assert span.end_time is not None


def test_messages_make_a_chat_span_and_no_content_is_recorded(tel: Telemetry) -> None:
    """Message input is the ``chat`` operation; by default neither the prompt nor the
    completion appears anywhere in the span."""
    model = FakeListLLM(responses=["secret reply"])
    model.invoke(
        [{"role": "system", "content": "private rules"}, {"role": "user", "content": "hush"}],
        callbacks=[tel.handler],
    )
    span = tel.span("chat fake")
    assert span.attributes is not None
    assert span.attributes["gen_ai.operation.name"] == "chat"
    text = json.dumps({k: str(v) for k, v in span.attributes.items()})
    for content in ("private rules", "hush", "secret reply"):
        assert content not in text
    assert "gen_ai.input.messages" not in span.attributes
    assert "gen_ai.output.messages" not in span.attributes


def test_capture_content_records_input_and_output_messages() -> None:
    """With ``capture_content=True`` the messages are recorded as GenAI JSON messages."""
    tel = _telemetry(capture_content=True)
    model = FakeListLLM(responses=["hello back"])
    model.invoke([{"role": "user", "content": "hello"}], callbacks=[tel.handler])
    attrs = tel.span("chat fake").attributes
    assert attrs is not None
    assert json.loads(str(attrs["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "hello"}]}
    ]
    assert json.loads(str(attrs["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "hello back"}],
            "finish_reason": "stop",
        }
    ]


async def test_chains_are_parent_spans(tel: Telemetry) -> None:
    """A traced chain is the parent of the runs inside it, nested chains too, all in
    one trace; a root chain nests under the application's current span."""
    model = FakeListLLM(responses=["a b"])

    @traced(name="step")
    async def step() -> str:
        return await model.ainvoke("inner")

    tracer = tel.handler._tracer
    with tracer.start_as_current_span("app request"):
        async with traced("pipeline", callbacks=[tel.handler]):
            await asyncio.gather(step(), model.ainvoke("direct"))
            model.batch(["b1", "b2"])

    app = tel.span("app request")
    pipeline = tel.span("invoke_workflow pipeline")
    step_span = tel.span("invoke_workflow step")
    assert pipeline.kind == SpanKind.INTERNAL
    assert pipeline.attributes is not None
    assert pipeline.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert pipeline.attributes["gen_ai.workflow.name"] == "pipeline"
    assert pipeline.parent is not None
    assert app.context is not None
    assert pipeline.parent.span_id == app.context.span_id
    assert step_span.parent is not None
    assert pipeline.context is not None
    assert step_span.parent.span_id == pipeline.context.span_id
    model_spans = [s for s in tel.spans() if s.name == "text_completion fake"]
    assert len(model_spans) == 4
    parents = sorted(s.parent.span_id for s in model_spans if s.parent is not None)
    assert step_span.context is not None
    assert parents == sorted([step_span.context.span_id] + [pipeline.context.span_id] * 3)
    assert {s.context.trace_id for s in tel.spans() if s.context is not None} == {
        app.context.trace_id
    }


async def test_a_cancelled_stream_ends_its_span_with_the_error_type(tel: Telemetry) -> None:
    """Breaking out of a stream and closing it ends the span as an error, cancelled."""
    model = FakeListLLM(responses=["one two three"])
    stream = model.astream("hi", callbacks=[tel.handler])
    async with contextlib.aclosing(stream):
        async for _ in stream:
            break
    span = tel.span("text_completion fake")
    assert span.end_time is not None
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "GeneratorExit"
    assert span.attributes["streamllm.reason"] == "cancelled"
    assert span.attributes["gen_ai.usage.output_tokens"] == 1
    (duration,) = tel.points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "GeneratorExit"


async def test_a_cancelled_task_ends_its_span(tel: Telemetry) -> None:
    """Task cancellation mid-stream ends the span with CancelledError."""
    first = asyncio.Event()
    model = FakeListLLM(responses=["one two three"], delay=30.0)

    async def consume() -> None:
        async for _ in model.astream("hi", callbacks=[tel.handler, {"on_llm_start": _set(first)}]):
            pass

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    span = tel.span("text_completion fake")
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "CancelledError"


def _set(event: asyncio.Event) -> Any:
    def hook(_: Any) -> None:
        event.set()

    return hook


class Broken(FakeListLLM):
    """Streams one chunk, then the connection drops."""

    provider: ClassVar[str] = "broken"

    def _stream(self, request: Request) -> Iterator[GenerationChunk]:
        yield GenerationChunk("partial")
        raise ProviderConnectionError("connection reset")

    async def _astream(self, request: Request) -> AsyncIterator[GenerationChunk]:
        yield GenerationChunk("partial")
        raise ProviderConnectionError("connection reset")


def test_a_failed_run_and_its_chain_end_as_errors(tel: Telemetry) -> None:
    """A provider failure marks the run's span and the enclosing chain's span."""
    model = Broken(responses=["unused"])
    with pytest.raises(ProviderConnectionError), traced("job", callbacks=[tel.handler]):
        model.invoke("q")
    span = tel.span("text_completion fake")
    chain = tel.span("invoke_workflow job")
    for s in (span, chain):
        assert s.status.status_code == StatusCode.ERROR
        assert s.attributes is not None
        assert s.attributes["error.type"] == "ProviderConnectionError"
        assert s.attributes["streamllm.reason"] == "failed"
    assert span.attributes is not None
    assert span.attributes["gen_ai.provider.name"] == "broken"
    assert "connection reset" in (span.status.description or "")


def test_metrics_follow_the_conventions(tel: Telemetry) -> None:
    """Duration per run, token usage by type, time to first chunk per streamed run,
    and time per output chunk for every chunk after the first."""
    usage = TokenUsage.of(7, 3, "provider")
    model = FakeListLLM(responses=["one two three"], usage=usage)
    model.invoke("q", callbacks=[tel.handler])
    model.invoke("q", callbacks=[tel.handler])

    (duration,) = tel.points("gen_ai.client.operation.duration")
    assert duration.count == 2
    assert dict(duration.attributes) == {
        "gen_ai.operation.name": "text_completion",
        "gen_ai.provider.name": "fake",
        "gen_ai.request.model": "fake",
        "gen_ai.response.model": "fake",
    }
    tokens = {p.attributes["gen_ai.token.type"]: p for p in tel.points("gen_ai.client.token.usage")}
    assert (tokens["input"].count, tokens["input"].sum) == (2, 14)
    assert (tokens["output"].count, tokens["output"].sum) == (2, 6)
    (ttfc,) = tel.points("gen_ai.client.operation.time_to_first_chunk")
    assert ttfc.count == 2
    (per_chunk,) = tel.points("gen_ai.client.operation.time_per_output_chunk")
    assert per_chunk.count == 4


def test_many_concurrent_runs_all_end(tel: Telemetry) -> None:
    """Runs from batch threads share one handler; every span ends and none is mixed up."""
    model = FakeListLLM(responses=["a b c"])
    with traced("fan-out", callbacks=[tel.handler]):
        model.batch([f"q{i}" for i in range(16)], max_concurrency=8)
    spans = tel.spans()
    assert len(spans) == 17
    root = tel.span("invoke_workflow fan-out")
    assert root.context is not None
    assert all(
        s.parent is not None and s.parent.span_id == root.context.span_id
        for s in spans
        if s is not root
    )
