"""OpenTelemetry spans and metrics, following the GenAI semantic conventions
(the names of opentelemetry-semantic-conventions 0.66b2, in :mod:`._otel_attrs`;
content as the conventions' message and tool-definition JSON schemas describe
it, in :mod:`._otel_messages`). Needs the ``[otel]`` extra: ``pip install "streamllm[otel]"``.

One span per run: a model run is a ``CLIENT`` span ``"{operation} {model}"``
(``chat`` for message input, ``text_completion`` for a prompt); a ``traced``
chain an ``INTERNAL`` ``invoke_workflow`` span; a tool run an ``INTERNAL``
``execute_tool {name}`` span (``gen_ai.tool.name``, ``gen_ai.tool.call.id``).
A run's span is the child of its parent run's (a root run nests under the
application's current span, if any). Messages, the tools a chat model was
offered, tool arguments and results are recorded only with
``capture_content=True``. Every started span is ended, also when the run fails
or is cancelled (then with ``error.type`` and ``ERROR``).
"""

from __future__ import annotations

import json
import threading
from array import array
from collections.abc import Mapping, Sequence
from typing import Any, final
from uuid import UUID

try:
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'OpenTelemetryHandler needs OpenTelemetry: pip install "streamllm[otel]"'
    ) from exc

from streamllm.callbacks.base import CallbackHandler
from streamllm.events import (
    BaseEvent,
    BlockDelta,
    ChainEnd,
    ChainError,
    ChainStart,
    LLMEnd,
    LLMError,
    LLMStart,
    NewToken,
    ToolEnd,
    ToolError,
    ToolStart,
)
from streamllm.handlers._otel_attrs import (
    CHAIN_INPUTS,
    CHAIN_OUTPUTS,
    ERROR_TYPE,
    HISTOGRAMS,
    INPUT_MESSAGES,
    OPERATION_NAME,
    OUTPUT_MESSAGES,
    PROVIDER_NAME,
    REASON,
    REQUEST_MODEL,
    REQUEST_PARAMS,
    REQUEST_STOP_SEQUENCES,
    REQUEST_STREAM,
    RESPONSE_FINISH_REASONS,
    RESPONSE_MODEL,
    RESPONSE_TIME_TO_FIRST_CHUNK,
    TOKEN_TYPE,
    TOOL_CALL_ARGUMENTS,
    TOOL_CALL_ID,
    TOOL_CALL_RESULT,
    TOOL_DEFINITIONS,
    TOOL_NAME,
    TOOL_TYPE,
    USAGE_DETAILS,
    USAGE_INPUT_TOKENS,
    USAGE_OUTPUT_TOKENS,
    WORKFLOW_NAME,
)
from streamllm.handlers._otel_messages import input_messages, output_messages, tool_definitions
from streamllm.outputs import LLMResult

__all__ = ["OpenTelemetryHandler"]


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


@final
class _Run:
    """What one open span needs until its run ends (touched by that run only)."""

    __slots__ = ("first", "gaps", "last", "metric_attrs", "span", "start")

    def __init__(self, span: trace.Span, start: float, metric_attrs: dict[str, Any]) -> None:
        self.span = span
        self.start = start
        self.first: float | None = None
        self.last = start
        # Seconds between chunks, recorded when the run ends: a histogram record
        # costs several microseconds, too much to spend before each token reaches
        # the consumer. A double array keeps a long stream's gaps at 8 bytes each.
        self.gaps = array("d")
        self.metric_attrs = metric_attrs


class OpenTelemetryHandler(CallbackHandler):
    """Record each run as an OpenTelemetry span, plus the GenAI client metrics.

    >>> from streamllm.handlers.otel import OpenTelemetryHandler
    >>> handler = OpenTelemetryHandler()   # the global tracer and meter providers

    ``tracer_provider`` / ``meter_provider`` default to the global ones.
    ``capture_content=True`` adds ``gen_ai.input.messages``,
    ``gen_ai.output.messages`` (every block: text, reasoning, tool calls and
    tool results) and ``gen_ai.tool.definitions``, and a tool run's arguments
    and result (off by default: prompts may hold personal data).
    """

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        capture_content: bool = False,
    ) -> None:
        from streamllm._version import __version__

        self.capture_content = capture_content
        self._tracer = trace.get_tracer("streamllm", __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter("streamllm", __version__, meter_provider=meter_provider)
        self._duration, self._tokens, self._ttfc, self._per_chunk = (
            meter.create_histogram(
                name, unit=unit, description=text, explicit_bucket_boundaries_advisory=buckets
            )
            for name, unit, text, buckets in HISTOGRAMS
        )
        # Runs of one handler arrive from many threads (batch) and tasks at once.
        self._lock = threading.Lock()
        self._runs: dict[UUID, _Run] = {}

    # -- opening and closing spans ---------------------------------------------

    def _open(
        self,
        event: BaseEvent,
        name: str,
        kind: SpanKind,
        attributes: dict[str, Any],
        metric_attrs: dict[str, Any],
    ) -> None:
        parent = None
        if event.parent_run_id is not None:
            with self._lock:
                enclosing = self._runs.get(event.parent_run_id)
            if enclosing is not None:
                parent = trace.set_span_in_context(enclosing.span)
        span = self._tracer.start_span(
            name, context=parent, kind=kind, attributes=attributes, start_time=_ns(event.time)
        )
        with self._lock:
            self._runs[event.run_id] = _Run(span, event.monotonic, metric_attrs)

    def _close(self, event: BaseEvent) -> _Run | None:
        with self._lock:
            return self._runs.pop(event.run_id, None)

    # -- model runs --------------------------------------------------------------

    def on_llm_start(self, event: LLMStart) -> None:
        """Open the run's span with the request attributes."""
        params: Mapping[str, Any] = event.invocation_params
        operation = "chat" if event.messages is not None else "text_completion"
        model = params.get("model")
        model = model if isinstance(model, str) else event.model
        metric_attrs: dict[str, Any] = {OPERATION_NAME: operation, REQUEST_MODEL: model}
        provider = params.get("provider")
        if isinstance(provider, str):
            metric_attrs[PROVIDER_NAME] = provider
        attributes = dict(metric_attrs)
        for key, attribute in REQUEST_PARAMS:
            value = params.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                attributes[attribute] = value
        stop = params.get("stop")
        if isinstance(stop, Sequence) and not isinstance(stop, str):
            attributes[REQUEST_STOP_SEQUENCES] = [str(s) for s in stop]
        if self.capture_content:
            attributes[INPUT_MESSAGES] = input_messages(event)
            if event.tools:
                attributes[TOOL_DEFINITIONS] = tool_definitions(event.tools)
        self._open(event, f"{operation} {model}", SpanKind.CLIENT, attributes, metric_attrs)

    def on_block_delta(self, event: BlockDelta) -> None:
        self._chunk(event)  # reasoning and tool-argument fragments are chunks too

    def on_llm_new_token(self, event: NewToken) -> None:
        self._chunk(event)

    def _chunk(self, event: NewToken | BlockDelta) -> None:
        """Time to the first chunk, then the time between chunks."""
        run = self._runs.get(event.run_id)  # one lookup, no lock: dict reads are atomic
        if run is None:
            return
        now = event.monotonic
        if run.first is None:
            run.first = now
        else:
            run.gaps.append(now - run.last)
        run.last = now

    def on_llm_end(self, event: LLMEnd) -> None:
        """Close the span with the response attributes and record the metrics."""
        run = self._close(event)
        if run is not None:
            self._finish(run, event, event.result, None)

    def on_llm_error(self, event: LLMError) -> None:
        """Close the span as failed (also when cancelled), with what had streamed."""
        run = self._close(event)
        if run is not None:
            self._finish(run, event, event.partial, event)

    def _finish(
        self, run: _Run, event: BaseEvent, result: LLMResult, error: LLMError | None
    ) -> None:
        span = run.span
        attrs = run.metric_attrs
        try:
            if result.model:
                attrs[RESPONSE_MODEL] = result.model
            reasons = [
                g.finish_reason or g.provider_finish_reason
                for gens in result.generations
                for g in gens
            ]
            if any(reasons):
                span.set_attribute(RESPONSE_FINISH_REASONS, [r for r in reasons if r])
            usage = result.usage
            if usage is not None:
                for count, attribute, token_type in (
                    (usage.prompt_tokens, USAGE_INPUT_TOKENS, "input"),
                    (usage.completion_tokens, USAGE_OUTPUT_TOKENS, "output"),
                ):
                    if count is not None:
                        span.set_attribute(attribute, count)
                        self._tokens.record(count, {**attrs, TOKEN_TYPE: token_type})
                for field, attribute in USAGE_DETAILS:
                    detail = getattr(usage, field)
                    if detail is not None:
                        span.set_attribute(attribute, detail)
            if run.first is not None:
                # No event names a "stream" parameter: chunks arriving say it streamed.
                span.set_attribute(REQUEST_STREAM, True)
                span.set_attribute(RESPONSE_TIME_TO_FIRST_CHUNK, run.first - run.start)
                self._ttfc.record(max(run.first - run.start, 0.0), attrs)
                record = self._per_chunk.record
                for gap in run.gaps:
                    record(max(gap, 0.0), attrs)
            if self.capture_content and result.generations:
                span.set_attribute(OUTPUT_MESSAGES, output_messages(result, error is not None))
            if RESPONSE_MODEL in attrs:
                span.set_attribute(RESPONSE_MODEL, attrs[RESPONSE_MODEL])
            if error is not None:
                attrs[ERROR_TYPE] = error.error.type
                self._failed(span, error.error.type, error.error.message, error.reason)
            self._duration.record(max(event.monotonic - run.start, 0.0), attrs)
        finally:
            span.end(end_time=_ns(event.time))

    @staticmethod
    def _failed(span: trace.Span, error_type: str, message: str, reason: str) -> None:
        span.set_attribute(ERROR_TYPE, error_type)
        span.set_attribute(REASON, reason)
        span.set_status(Status(StatusCode.ERROR, f"{error_type}: {message}"))

    # -- traced chains -------------------------------------------------------------

    def on_chain_start(self, event: ChainStart) -> None:
        """Open a parent span for a ``traced`` function or block."""
        attributes: dict[str, Any] = {
            OPERATION_NAME: "invoke_workflow",
            WORKFLOW_NAME: event.name,
        }
        if self.capture_content and event.inputs is not None:
            attributes[CHAIN_INPUTS] = json.dumps(event.inputs)
        self._open(event, f"invoke_workflow {event.name}", SpanKind.INTERNAL, attributes, {})

    def on_chain_end(self, event: ChainEnd) -> None:
        """Close the chain's span."""
        run = self._close(event)
        if run is None:
            return
        try:
            if self.capture_content and event.outputs is not None:
                run.span.set_attribute(CHAIN_OUTPUTS, json.dumps(event.outputs))
        finally:
            run.span.end(end_time=_ns(event.time))

    def on_chain_error(self, event: ChainError) -> None:
        self._close_failed(event)

    def _close_failed(self, event: ChainError | ToolError) -> None:
        run = self._close(event)
        if run is None:
            return
        try:
            self._failed(run.span, event.error.type, event.error.message, event.reason)
        finally:
            run.span.end(end_time=_ns(event.time))

    # -- tool runs -------------------------------------------------------------------

    def on_tool_start(self, event: ToolStart) -> None:
        attributes: dict[str, Any] = {
            OPERATION_NAME: "execute_tool",
            TOOL_NAME: event.name,
            TOOL_TYPE: "function",
        }
        if event.tool_call_id:
            attributes[TOOL_CALL_ID] = event.tool_call_id
        if self.capture_content:
            attributes[TOOL_CALL_ARGUMENTS] = json.dumps(event.args, ensure_ascii=False)
        self._open(event, f"execute_tool {event.name}", SpanKind.INTERNAL, attributes, {})

    def on_tool_end(self, event: ToolEnd) -> None:
        run = self._close(event)
        if run is None:
            return
        try:
            if self.capture_content:
                out = event.output
                run.span.set_attribute(
                    TOOL_CALL_RESULT, out if isinstance(out, str) else json.dumps(out)
                )
        finally:
            run.span.end(end_time=_ns(event.time))

    def on_tool_error(self, event: ToolError) -> None:
        self._close_failed(event)
