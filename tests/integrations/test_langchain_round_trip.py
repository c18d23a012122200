"""Both directions together, and streamllm's tracing handlers observing a LangChain app."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import StdOutCallbackHandler
from langchain_core.language_models import FakeListChatModel
from langchain_core.runnables import RunnableLambda

from streamllm.integrations.langchain import StreamLLMCallbackHandler, from_langchain
from streamllm.testing import RecordingHandler
from tests.integrations.conftest import CallRecorder

otel = pytest.importorskip("opentelemetry.sdk.trace")

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

from streamllm.handlers import OpenTelemetryHandler  # noqa: E402


def _app() -> Any:
    return RunnableLambda(lambda q: f"{q}?").with_config(run_name="ask") | FakeListChatModel(
        responses=["yes"]
    )


def test_a_langchain_handler_sees_the_same_calls_through_both_bridges() -> None:
    """LangChain -> StreamLLMCallbackHandler -> streamllm run -> from_langchain
    -> a LangChain handler: it gets the hooks it gets from LangChain directly,
    in the same order and with the same run ids. Empty chunks aside: LangChain's
    fake marks its last real chunk as the last, and streamllm, which only knows
    a stream has ended at its end, closes it with LangChain's empty last chunk."""
    direct, bridged = CallRecorder(), CallRecorder()
    bridge = StreamLLMCallbackHandler([from_langchain(bridged)])
    for _chunk in _app().stream("ok", config={"callbacks": [direct, bridge]}):
        pass

    def calls(recorder: CallRecorder) -> list[tuple[str, Any]]:
        return [
            (name, kw["run_id"])
            for name, args, kw in recorder.calls
            if not (name == "on_llm_new_token" and (args or (kw["token"],))[0] == "")
        ]

    assert calls(bridged) == calls(direct)
    last = bridged.of("on_llm_new_token")[-1][1]["chunk"].message
    assert last.chunk_position == "last"
    parents = {kw["run_id"]: kw.get("parent_run_id") for _, _, kw in direct.calls}
    assert {kw["run_id"]: kw.get("parent_run_id") for _, _, kw in bridged.calls} == parents
    (_, end), (_, bridged_end) = direct.of("on_llm_end")[0], bridged.of("on_llm_end")[0]
    assert bridged_end["run_id"] == end["run_id"]
    direct_text = direct.of("on_llm_end")[0][0][0].generations[0][0].text
    bridged_text = bridged.of("on_llm_end")[0][0][0].generations[0][0].text
    assert bridged_text == direct_text == "yes"


def test_stdout_handler_prints_the_same_through_both_bridges(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """langchain-core's StdOutCallbackHandler prints the same lines for a
    LangChain chain whether LangChain calls it or the two bridges do."""
    _app().invoke("ok", config={"callbacks": [StdOutCallbackHandler()]})
    direct = capsys.readouterr().out
    bridge = StreamLLMCallbackHandler([from_langchain(StdOutCallbackHandler())])
    _app().invoke("ok", config={"callbacks": [bridge]})
    assert capsys.readouterr().out == direct
    assert "Entering new RunnableSequence chain" in direct


def test_opentelemetry_handler_traces_a_langchain_app() -> None:
    """streamllm's OpenTelemetryHandler makes one span per LangChain run, the
    model span under the chain span, all in one trace, none left open."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    handler = OpenTelemetryHandler(tracer_provider=provider)
    _app().invoke("ok", config={"callbacks": [StreamLLMCallbackHandler([handler])]})
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert "invoke_workflow RunnableSequence" in spans
    assert "invoke_workflow ask" in spans
    (model,) = [s for name, s in spans.items() if name.startswith("chat ")]
    root = spans["invoke_workflow RunnableSequence"]
    assert model.parent is not None
    assert model.parent.span_id == root.context.span_id
    assert {s.context.trace_id for s in spans.values()} == {root.context.trace_id}
    assert handler._runs == {}


def test_the_bus_carries_a_langchain_app_s_trace() -> None:
    """A BusPublisher behind the bridge publishes every LangChain run; a
    subscriber to the root's trace reads the whole tree in order and stops at
    the root's terminal event."""
    from streamllm.bus import BusPublisher, MemoryBus
    from streamllm.events import ChainEnd, ChainStart

    bus = MemoryBus()
    publisher = BusPublisher(bus)
    rec = RecordingHandler()
    _app().invoke("ok", config={"callbacks": [StreamLLMCallbackHandler([publisher, rec])]})
    assert publisher.flush(5)
    root = rec.events[0]
    assert isinstance(root, ChainStart)
    read = [event for _, event in bus.subscribe(trace_id=root.trace_id, after="0")]
    assert read == rec.events
    assert isinstance(read[-1], ChainEnd)
    publisher.close()


def test_tool_runs_round_trip_as_tool_callbacks() -> None:
    """A LangChain tool through both bridges reaches a LangChain handler as
    on_tool_start/on_tool_end with the tool's name, inputs and output."""
    from langchain_core.tools import tool

    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    direct, bridged = CallRecorder(), CallRecorder()
    bridge = StreamLLMCallbackHandler([from_langchain(bridged)])
    add.invoke({"a": 2, "b": 3}, config={"callbacks": [direct, bridge]})
    assert bridged.names() == direct.names() == ["on_tool_start", "on_tool_end"]
    (d_ser, _), d_kw = direct.of("on_tool_start")[0]
    (b_ser, _), b_kw = bridged.of("on_tool_start")[0]
    assert b_ser["name"] == d_ser["name"] == "add"
    assert b_kw["inputs"] == d_kw["inputs"] == {"a": 2, "b": 3}
    assert b_kw["run_id"] == d_kw["run_id"]
    assert bridged.of("on_tool_end")[0][0] == direct.of("on_tool_end")[0][0] == (5,)
