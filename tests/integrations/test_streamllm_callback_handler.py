"""StreamLLMCallbackHandler: a LangChain app's callbacks reach streamllm handlers as events."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import StdOutCallbackHandler
from langchain_core.language_models import FakeListChatModel, FakeListLLM
from langchain_core.language_models.fake_chat_models import (
    FakeListChatModelError,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda

from streamllm import (
    AsyncCallbackHandler,
    CallbackHandler,
    HandlerError,
    add_global_handler,
    remove_global_handler,
    traced,
    tracing,
)
from streamllm.errors import ConfigurationError
from streamllm.events import (
    BlockEnd,
    BlockStart,
    ChainEnd,
    ChainStart,
    LLMEnd,
    LLMError,
    LLMStart,
    NewToken,
)
from streamllm.handlers import JSONLRecorder, ResultCollector, TokenCounter, replay
from streamllm.integrations.langchain import (
    AsyncStreamLLMCallbackHandler,
    StreamLLMCallbackHandler,
)
from streamllm.testing import AsyncRecordingHandler, RecordingHandler
from tests.integrations.conftest import assert_well_formed


def _config(*handlers: Any) -> dict[str, Any]:
    return {"callbacks": [StreamLLMCallbackHandler(list(handlers))]}


def test_langchain_chat_stream_becomes_one_streamllm_run() -> None:
    """A streamed LangChain chat call is start, one NewToken per chunk by index
    (LangChain's empty last chunk is no token), then LLMEnd whose text is the
    tokens joined."""
    rec = RecordingHandler()
    model = FakeListChatModel(responses=["Hello world"])
    out = "".join(str(c.content) for c in model.stream("Hi", config=_config(rec)))
    assert out == "Hello world"
    (run,) = rec.runs().values()
    # A chat run: its text is one block, opened and closed around the tokens.
    assert [type(e) for e in run] == [
        LLMStart,
        BlockStart,
        *[NewToken] * len(out),
        BlockEnd,
        LLMEnd,
    ]
    assert [e.seq for e in run] == list(range(len(run)))
    tokens = [e for e in run if isinstance(e, NewToken)]
    assert [t.index for t in tokens] == list(range(len(tokens)))
    start, end = run[0], run[-1]
    assert isinstance(start, LLMStart)
    assert isinstance(end, LLMEnd)
    assert [(m.role, m.content) for m in start.messages or ()] == [("user", "Hi")]
    assert start.model == "FakeListChatModel"
    assert end.result.text == "".join(t.token for t in tokens) == "Hello world"
    assert end.result.usage is not None
    assert end.result.usage.source == "estimated"


def test_chat_model_messages_and_provider_usage() -> None:
    """A chat model's start carries the messages; usage_metadata on the message
    becomes provider usage, which TokenCounter counts."""
    counter, rec = TokenCounter(), RecordingHandler()
    usage = {"input_tokens": 11, "output_tokens": 4, "total_tokens": 15}
    model = GenericFakeChatModel(messages=iter([AIMessage(content="Sure.", usage_metadata=usage)]))
    reply = model.invoke(
        [("system", "Be brief."), ("human", "Help?")], config=_config(counter, rec)
    )
    assert reply.content == "Sure."
    (start,) = rec.of_type(LLMStart)
    assert [(m.role, m.content) for m in start.messages or ()] == [
        ("system", "Be brief."),
        ("user", "Help?"),
    ]
    (end,) = rec.of_type(LLMEnd)
    assert end.result.usage is not None
    assert (end.result.usage.prompt_tokens, end.result.usage.completion_tokens) == (11, 4)
    assert end.result.usage.source == "provider"
    assert counter.totals.total_tokens == 15


def test_llm_output_token_usage_is_provider_usage() -> None:
    """An LLM that reports llm_output["token_usage"] (OpenAI style) gives provider usage."""
    from langchain_core.outputs import Generation
    from langchain_core.outputs import LLMResult as LCResult

    rec = RecordingHandler()
    handler = StreamLLMCallbackHandler([rec])
    import uuid

    run_id = uuid.uuid4()
    handler.on_llm_start({"name": "OpenAI"}, ["q"], run_id=run_id)
    usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    handler.on_llm_end(
        LCResult(generations=[[Generation(text="ok")]], llm_output={"token_usage": usage}),
        run_id=run_id,
    )
    (end,) = rec.of_type(LLMEnd)
    assert end.result.usage is not None
    assert end.result.usage.model_dump() == {**usage, "source": "provider"} | {
        k: None for k in end.result.usage.model_dump() if k not in (*usage, "source")
    }


def test_chains_nest_and_share_the_root_trace() -> None:
    """A LangChain chain calling a model is a chain run with the model run
    under it: parent_run_id is the chain's, trace_id the root's."""
    rec = RecordingHandler()
    model = FakeListChatModel(responses=["pong"])
    chain = RunnableLambda(lambda q: q.upper()) | model
    chain.invoke("ping", config=_config(rec))
    starts = [e for e in rec.events if isinstance(e, ChainStart | LLMStart)]
    root = starts[0]
    assert isinstance(root, ChainStart)
    assert root.parent_run_id is None
    assert all(e.trace_id == root.run_id for e in rec.events)
    (llm,) = rec.of_type(LLMStart)
    assert llm.parent_run_id == root.run_id
    ends = rec.of_type(ChainEnd)
    assert ends[-1].run_id == root.run_id
    assert rec.events[-1] == ends[-1]


def test_result_collector_and_recording_replay(tmp_path: Path) -> None:
    """Events from a LangChain app record and replay like streamllm's own."""
    path = tmp_path / "events.jsonl"
    recorder, collector = JSONLRecorder(path), ResultCollector()
    model = FakeListChatModel(responses=["a b c"])
    list(model.stream("x", config=_config(recorder, collector)))
    recorder.close()
    assert [r.text for r in collector.results.values()] == ["a b c"]
    again = RecordingHandler()
    replay(path, [again])
    assert again.events[0].type == "llm_start"
    assert "".join(again.tokens()) == "a b c"


def test_a_failing_langchain_model_gives_llm_error_with_the_partial_text() -> None:
    """LangChain's on_llm_error ends the run with LLMError(reason="failed") and
    the text streamed so far."""
    rec = RecordingHandler()
    model = FakeListChatModel(responses=["abcdef"], error_on_chunk_number=3)
    with pytest.raises(FakeListChatModelError):
        "".join(str(c.content) for c in model.stream("x", config=_config(rec)))
    (run,) = rec.runs().values()
    assert isinstance(run[-1], LLMError)
    assert run[-1].reason == "failed"
    assert run[-1].partial.text == "abc" == "".join(rec.tokens())
    assert sum(isinstance(e, LLMEnd | LLMError) for e in run) == 1


class Strict(CallbackHandler):
    raise_error = True

    def on_llm_new_token(self, event: NewToken) -> None:
        if event.index == 1:
            raise RuntimeError("stop here")


def test_a_raise_error_handler_stops_the_langchain_run() -> None:
    """A streamllm raise_error handler failing on a token ends the run as failed
    (every other handler sees that token, then one LLMError), and LangChain
    gets the HandlerError; LangChain's own error callback is then dropped."""
    rec = RecordingHandler()
    with pytest.raises(HandlerError):
        list(FakeListChatModel(responses=["abcd"]).stream("x", config=_config(Strict(), rec)))
    (run,) = rec.runs().values()
    # No BlockEnd after a failure (DESIGN 11): the partial message has the block.
    assert [e.type for e in run] == [
        "llm_start",
        "block_start",
        "new_token",
        "new_token",
        "llm_error",
    ]
    assert run[-1].reason == "failed"
    assert run[-1].partial.text == "ab"


def test_async_bridge_awaits_async_handlers_in_order() -> None:
    """AsyncStreamLLMCallbackHandler awaits async streamllm handlers inline."""
    rec = AsyncRecordingHandler()

    async def main() -> str:
        config = {"callbacks": [AsyncStreamLLMCallbackHandler([rec])]}
        model = FakeListChatModel(responses=["xyz"])
        parts = [str(c.content) async for c in model.astream("q", config=config)]
        return "".join(parts)

    assert asyncio.run(main()) == "xyz"
    assert [e.type for e in rec.events] == [
        "llm_start",
        "block_start",
        *["new_token"] * 3,
        "block_end",
        "llm_end",
    ]


def test_sync_bridge_in_async_code_runs_inline() -> None:
    """The sync bridge sets run_inline, so LangChain's async manager calls it on
    the loop (no executor hop), and events stay in order."""
    rec = RecordingHandler()
    handler = StreamLLMCallbackHandler([rec])
    assert handler.run_inline is True

    async def main() -> None:
        model = FakeListChatModel(responses=["hello"])
        async for _ in model.astream("x", config={"callbacks": [handler]}):
            pass

    asyncio.run(main())
    assert "".join(rec.tokens()) == "hello"
    assert rec.events[-1].type == "llm_end"


def test_bad_streamllm_handlers_are_refused_when_the_bridge_is_built() -> None:
    """A bad handler (a class, an unknown hook name) fails when the bridge is
    made, not inside LangChain's callback loop where it would be logged away."""
    with pytest.raises(ConfigurationError):
        StreamLLMCallbackHandler([RecordingHandler])  # type: ignore[list-item]
    with pytest.raises(ConfigurationError):
        StreamLLMCallbackHandler([{"on_token": print}])
    with pytest.raises(ConfigurationError):
        AsyncStreamLLMCallbackHandler(RecordingHandler())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="from_langchain"):
        StreamLLMCallbackHandler([StdOutCallbackHandler()])  # type: ignore[list-item]


def test_async_streamllm_handler_under_the_sync_bridge() -> None:
    """Under the sync bridge an async streamllm handler runs on streamllm's
    loop and has seen the whole run when the LangChain call returns."""
    seen: list[str] = []

    class Slow(AsyncCallbackHandler):
        async def on_event(self, event: Any) -> None:
            await asyncio.sleep(0)
            seen.append(event.type)

    FakeListLLM(responses=["ab"]).invoke("x", config=_config(Slow()))
    assert seen == ["llm_start", "llm_end"]


def test_warnings_name_the_run(caplog: pytest.LogCaptureFixture) -> None:
    """A token after the end is dropped and logged once for the run."""
    import uuid

    rec = RecordingHandler()
    handler = StreamLLMCallbackHandler([rec])
    run_id = uuid.uuid4()
    handler.on_llm_start({}, ["q"], run_id=run_id)
    handler.on_llm_new_token("a", run_id=run_id)
    from langchain_core.outputs import Generation
    from langchain_core.outputs import LLMResult as LCResult

    handler.on_llm_end(LCResult(generations=[[Generation(text="a")]]), run_id=run_id)
    with caplog.at_level(logging.WARNING, logger="streamllm"):
        for _ in range(3):
            handler.on_llm_new_token("late", run_id=run_id)
    assert [e.type for e in rec.events] == ["llm_start", "new_token", "llm_end"]
    late = [r for r in caplog.records if "after its end" in r.getMessage()]
    assert len(late) == 1
    assert str(run_id) in late[0].getMessage()


def test_runs_from_many_threads_stay_well_formed() -> None:
    """LangChain's batch runs inputs on threads: every run, nested chains and
    streamed model runs alike, keeps its order and its one terminal event."""
    rec = RecordingHandler()
    model = FakeListChatModel(responses=["some words here"])
    streamed = RunnableLambda(lambda q: "".join(str(c.content) for c in model.stream(q)))
    outputs = streamed.batch(
        [f"q{i}" for i in range(24)], config={**_config(rec), "max_concurrency": 8}
    )
    assert outputs == ["some words here"] * 24
    assert_well_formed(rec.events)
    assert len(rec.of_type(LLMEnd)) == 24
    assert len(rec.of_type(ChainEnd)) == 24


def test_a_langchain_call_inside_traced_is_a_run_under_it() -> None:
    """Inside a streamllm traced block, the LangChain root run is a child of the
    block, in its trace, and the block's handlers see every LangChain run."""
    rec = RecordingHandler()
    with traced("job", callbacks=[rec]):
        FakeListChatModel(responses=["ok"]).invoke(
            "x", config={"callbacks": [StreamLLMCallbackHandler()]}
        )
    job = rec.events[0]
    assert isinstance(job, ChainStart)
    (llm,) = rec.of_type(LLMStart)
    assert llm.parent_run_id == job.run_id
    assert {e.trace_id for e in rec.events} == {job.run_id}
    assert rec.events[-1].run_id == job.run_id


def test_global_and_scoped_handlers_see_langchain_runs() -> None:
    """Global handlers and those of ``with tracing(...)`` get the LangChain runs
    too, each once even when also given to the bridge."""
    glob, scoped = RecordingHandler(), RecordingHandler()
    add_global_handler(glob)
    try:
        with tracing(scoped):
            bridge = StreamLLMCallbackHandler([scoped])
            FakeListChatModel(responses=["ok"]).invoke("x", config={"callbacks": [bridge]})
    finally:
        remove_global_handler(glob)
    assert [e.type for e in glob.events] == ["llm_start", "llm_end"]
    assert [e.type for e in scoped.events] == ["llm_start", "llm_end"]


def test_a_chat_answer_with_tool_calls_becomes_the_results_message() -> None:
    """A LangChain chat answer becomes LLMResult.message: reasoning, text and
    tool calls as streamllm blocks, with the run's usage and finish reason."""
    from streamllm.integrations._from_langchain import HAS_MESSAGE

    if not HAS_MESSAGE:
        pytest.skip("LLMResult has no message field yet")
    from streamllm.chat import ReasoningBlock, TextBlock, ToolCall

    answer = AIMessage(
        content=[
            {"type": "thinking", "thinking": "Paris, surely.", "signature": "sig"},
            {"type": "text", "text": "Let me check."},
        ],
        tool_calls=[{"name": "weather", "args": {"city": "Paris"}, "id": "call_1"}],
        usage_metadata={"input_tokens": 9, "output_tokens": 5, "total_tokens": 14},
        response_metadata={"stop_reason": "tool_use"},
    )
    rec = RecordingHandler()
    GenericFakeChatModel(messages=iter([answer])).invoke("Weather?", config=_config(rec))
    (end,) = rec.of_type(LLMEnd)
    message = end.result.message
    assert message is not None
    assert message.content_blocks == (
        ReasoningBlock(text="Paris, surely.", signature="sig"),
        TextBlock(text="Let me check."),
        ToolCall(id="call_1", name="weather", args={"city": "Paris"}),
    )
    assert message.finish_reason == end.result.finish_reason == "tool_calls"
    assert message.usage == end.result.usage
    assert end.result.text == "Let me check."


def test_a_failed_chat_stream_keeps_its_partial_message() -> None:
    """LLMError.partial.message holds what had streamed of a chat run."""
    from streamllm.integrations._from_langchain import HAS_MESSAGE

    if not HAS_MESSAGE:
        pytest.skip("LLMResult has no message field yet")
    rec = RecordingHandler()
    model = FakeListChatModel(responses=["abcdef"], error_on_chunk_number=3)
    with pytest.raises(FakeListChatModelError):
        list(model.stream("x", config=_config(rec)))
    (error,) = rec.of_type(LLMError)
    assert error.partial.message is not None
    assert error.partial.message.text == "abc" == error.partial.text


def test_langchain_tools_are_tool_runs() -> None:
    """A LangChain tool call is a streamllm tool run: ToolStart named for the
    tool with its args and tool_call_id, ToolEnd with the ToolMessage's
    content; a failing tool ends with ToolError. One terminal each."""
    from langchain_core.tools import tool

    from streamllm.events import ToolEnd, ToolError, ToolStart

    @tool
    def weather(city: str) -> str:
        """The weather in a city."""
        if city == "Atlantis":
            raise ValueError("no such city")
        return f"22 C in {city}"

    rec = RecordingHandler()
    call = {"name": "weather", "args": {"city": "Paris"}, "id": "call_1", "type": "tool_call"}
    message = weather.invoke(call, config=_config(rec))
    assert message.content == "22 C in Paris"
    with pytest.raises(ValueError, match="no such city"):
        weather.invoke({"city": "Atlantis"}, config=_config(rec))
    ok, failed = rec.runs().values()
    assert [type(e) for e in ok] == [ToolStart, ToolEnd]
    start, end = ok
    assert isinstance(start, ToolStart)
    assert isinstance(end, ToolEnd)
    assert (start.name, start.tool_call_id, dict(start.args)) == (
        "weather",
        "call_1",
        {"city": "Paris"},
    )
    assert end.output == "22 C in Paris"
    assert [type(e) for e in failed] == [ToolStart, ToolError]
    assert failed[-1].error.type == "ValueError"  # type: ignore[attr-defined]
    assert failed[0].tool_call_id is None  # type: ignore[attr-defined]


def test_a_tool_loop_conversation_keeps_its_roles() -> None:
    """A chat start's messages keep LangChain's roles: the assistant's tool
    calls and the tool message answering one."""
    from langchain_core.messages import HumanMessage, ToolMessage

    rec = RecordingHandler()
    conversation = [
        HumanMessage(content="Weather?"),
        AIMessage(content="", tool_calls=[{"name": "w", "args": {"c": "P"}, "id": "call_1"}]),
        ToolMessage(content="22 C", tool_call_id="call_1"),
    ]
    FakeListChatModel(responses=["Warm."]).invoke(conversation, config=_config(rec))
    (start,) = rec.of_type(LLMStart)
    user, assistant, tool = start.messages or ()
    assert (user.role, user.text) == ("user", "Weather?")
    assert assistant.role == "assistant"
    assert [(c.id, c.name, dict(c.args)) for c in assistant.tool_calls] == [
        ("call_1", "w", {"c": "P"})
    ]
    assert (tool.role, tool.tool_call_id, tool.text) == ("tool", "call_1", "22 C")
