"""from_langchain(handler): LangChain handlers receive streamllm runs as LangChain callbacks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.callbacks import (
    BaseCallbackHandler,
    StdOutCallbackHandler,
    StreamingStdOutCallbackHandler,
)
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, Generation, GenerationChunk

from streamllm import CallbackHandler, FakeListLLM, HandlerError, TokenUsage, traced
from streamllm.errors import ConfigurationError
from streamllm.integrations.langchain import RunError, from_langchain
from tests.integrations.conftest import AsyncCallRecorder, CallRecorder

USAGE = TokenUsage.of(7, 3)


def _invoke(model: FakeListLLM, prompt: Any, handler: Any, **kwargs: Any) -> str:
    return model.invoke(prompt, callbacks=[from_langchain(handler)], **kwargs)


def test_text_run_calls_llm_hooks_with_langchain_arguments(recorder: Any) -> None:
    """A prompt run: on_llm_start, one on_llm_new_token per token with a
    GenerationChunk, then on_llm_end with a LangChain LLMResult carrying usage."""
    model = FakeListLLM(responses=["Hello big world"], usage=USAGE)
    assert _invoke(model, "Hi", recorder, tags=["t"], metadata={"user": "ada"}) == "Hello big world"
    assert recorder.names() == ["on_llm_start"] + ["on_llm_new_token"] * 3 + ["on_llm_end"]

    (serialized, prompts), start = recorder.of("on_llm_start")[0]
    assert prompts == ["Hi"]
    assert serialized["name"] == start["name"]
    assert start["tags"] == ["t"]
    assert start["metadata"] == {"user": "ada"}
    assert start["parent_run_id"] is None
    run_id = start["run_id"]

    tokens = recorder.of("on_llm_new_token")
    assert "".join(a[0] for a, _ in tokens) == "Hello big world"
    for (token,), kw in tokens:
        assert kw["run_id"] == run_id
        assert isinstance(kw["chunk"], GenerationChunk)
        assert kw["chunk"].text == token

    (response,), end = recorder.of("on_llm_end")[0]
    assert end["run_id"] == run_id
    generation = response.generations[0][0]
    assert type(generation) is Generation
    assert generation.text == "Hello big world"
    assert response.llm_output["token_usage"] == {
        "prompt_tokens": 7,
        "completion_tokens": 3,
        "total_tokens": 10,
    }


def test_chat_run_calls_on_chat_model_start_and_streams_chat_chunks(recorder: Any) -> None:
    """A message-list run is a chat run: on_chat_model_start with LangChain
    messages, ChatGenerationChunks whose sum is the message on_llm_end gets,
    and provider usage as usage_metadata."""
    model = FakeListLLM(responses=["Hi there"], usage=USAGE)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]
    _invoke(model, messages, recorder)

    assert recorder.names()[0] == "on_chat_model_start"
    (_, lc_messages), start = recorder.of("on_chat_model_start")[0]
    assert lc_messages == [[SystemMessage(content="Be brief."), HumanMessage(content="Hello")]]
    assert start["invocation_params"]["model"] == "fake"

    chunks = [kw["chunk"] for _, kw in recorder.of("on_llm_new_token")]
    assert all(isinstance(c, ChatGenerationChunk) for c in chunks)
    assert all(c.message.id == f"lc_run-{start['run_id']}" for c in chunks)
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert isinstance(merged.message, AIMessageChunk)
    assert merged.message.content == "Hi there"

    (response,), _ = recorder.of("on_llm_end")[0]
    generation = response.generations[0][0]
    assert isinstance(generation, ChatGeneration)
    assert generation.message.content == "Hi there"
    assert generation.message.usage_metadata == {
        "input_tokens": 7,
        "output_tokens": 3,
        "total_tokens": 10,
    }


def test_estimated_usage_is_not_reported_as_langchain_usage() -> None:
    """LangChain's usage fields mean "the provider said so": an estimate stays
    out of them and is kept, with its source, under streamllm_usage."""
    recorder = CallRecorder()
    _invoke(FakeListLLM(responses=["Hi there"]), [{"role": "user", "content": "x"}], recorder)
    (response,), _ = recorder.of("on_llm_end")[0]
    assert "token_usage" not in response.llm_output
    assert response.generations[0][0].message.usage_metadata is None
    assert response.llm_output["streamllm_usage"]["source"] == "estimated"


class NoChatStart(BaseCallbackHandler):
    """A LangChain handler that only knows on_llm_start (LangChain's default
    on_chat_model_start raises NotImplementedError)."""

    def __init__(self) -> None:
        self.prompts: list[list[str]] = []

    def on_llm_start(self, serialized: Any, prompts: list[str], **kwargs: Any) -> None:
        self.prompts.append(prompts)


def test_chat_run_falls_back_to_on_llm_start_like_langchain() -> None:
    """Without on_chat_model_start the handler gets on_llm_start with the
    messages as LangChain's get_buffer_string renders them."""
    handler = NoChatStart()
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]
    _invoke(FakeListLLM(responses=["ok"]), messages, handler)
    assert handler.prompts == [["System: Be brief.\nHuman: Hello"]]


def test_streaming_stdout_handler_prints_the_tokens(capsys: pytest.CaptureFixture[str]) -> None:
    """langchain-core's StreamingStdOutCallbackHandler streams our tokens."""
    _invoke(FakeListLLM(responses=["one two three"]), "x", StreamingStdOutCallbackHandler())
    assert capsys.readouterr().out == "one two three"


def test_stdout_handler_prints_chains(capsys: pytest.CaptureFixture[str]) -> None:
    """langchain-core's StdOutCallbackHandler shows a traced block as a chain."""
    handler = from_langchain(StdOutCallbackHandler())
    with traced("answer", callbacks=[handler]):
        FakeListLLM(responses=["ok"]).invoke("x")
    out = capsys.readouterr().out
    assert "Entering new answer chain" in out
    assert "Finished chain." in out


def test_chain_hooks_nest_model_runs(recorder: Any) -> None:
    """traced blocks arrive as on_chain_start/on_chain_end; the model run's
    parent_run_id is the chain's run_id."""
    handler = from_langchain(recorder)

    async def main() -> None:
        async with traced("outer", callbacks=[handler]):
            await FakeListLLM(responses=["ok"]).ainvoke("x")

    asyncio.run(main())
    names = recorder.names()
    assert names[0] == "on_chain_start"
    assert names[-1] == "on_chain_end"
    _, chain = recorder.of("on_chain_start")[0]
    _, llm = recorder.of("on_llm_start")[0]
    assert llm["parent_run_id"] == chain["run_id"]
    assert chain["name"] == "outer"


def test_failed_run_calls_on_llm_error_with_a_rebuilt_exception(recorder: Any) -> None:
    """A run that fails reaches on_llm_error with an exception of the same class
    (events carry the type and message) and the partial response."""
    model = FakeListLLM(responses=["one two three"])

    class Boom(BaseCallbackHandler):
        def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            if token.strip() == "two":
                raise KeyError("no")

    Boom.raise_error = True
    with pytest.raises(HandlerError):
        model.invoke("x", callbacks=[from_langchain(Boom()), from_langchain(recorder)])
    (error,), kw = recorder.of("on_llm_error")[0]
    assert isinstance(error, HandlerError | RunError)
    assert "KeyError" in str(error)
    assert kw["response"].generations[0][0].text == "one two"
    assert recorder.names().count("on_llm_end") == 0


def test_unknown_error_types_arrive_as_run_error() -> None:
    """An error type the bridge cannot rebuild arrives as RunError naming it."""
    from streamllm.events import ErrorInfo
    from streamllm.integrations._to_langchain import to_exception

    error = to_exception(ErrorInfo(type="WeirdProviderThing", message="bad"), "failed")
    assert isinstance(error, RunError)
    assert (error.type_name, error.reason, str(error)) == (
        "WeirdProviderThing",
        "failed",
        "WeirdProviderThing: bad",
    )
    assert type(to_exception(ErrorInfo(type="ValueError", message="v"), "failed")) is ValueError


class IgnoresLLM(CallRecorder):
    @property
    def ignore_llm(self) -> bool:
        return True


class IgnoresChatModel(CallRecorder):
    @property
    def ignore_chat_model(self) -> bool:
        return True


class IgnoresChain(CallRecorder):
    @property
    def ignore_chain(self) -> bool:
        return True


def test_ignore_flags_act_as_in_langchain() -> None:
    """ignore_llm drops every LLM hook but a chat start (as LangChain does);
    ignore_chat_model drops only on_chat_model_start; ignore_chain the chain hooks."""
    messages = [{"role": "user", "content": "x"}]
    llm, chat, chain = IgnoresLLM(), IgnoresChatModel(), IgnoresChain()
    for handler in (llm, chat, chain):
        with traced("c", callbacks=[from_langchain(handler)]):
            FakeListLLM(responses=["a b"]).invoke("x")
            FakeListLLM(responses=["a b"]).invoke(messages)
    assert llm.names() == ["on_chain_start", "on_chat_model_start", "on_chain_end"]
    assert chat.names() == [
        "on_chain_start",
        "on_llm_start",
        *["on_llm_new_token"] * 2,
        "on_llm_end",
        *["on_llm_new_token"] * 3,  # a chat run: LangChain's empty closing chunk last
        "on_llm_end",
        "on_chain_end",
    ]
    assert "on_chain_start" not in chain.names()
    assert chain.names().count("on_llm_end") == 2


def test_a_handler_without_token_hook_makes_no_token_events() -> None:
    """The wrapper of a handler that does not override on_llm_new_token (or
    ignores LLM runs) keeps streamllm's default token hook, so streamllm
    builds no NewToken for it."""
    default = CallbackHandler.on_llm_new_token
    assert type(from_langchain(NoChatStart())).on_llm_new_token is default
    assert type(from_langchain(IgnoresLLM())).on_llm_new_token is default
    assert type(from_langchain(StreamingStdOutCallbackHandler())).on_llm_new_token is not default


def test_raise_error_carries_over() -> None:
    """A LangChain handler with raise_error stops the run with HandlerError;
    without it the failure is logged and the stream goes on."""

    class Fails(BaseCallbackHandler):
        def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            raise RuntimeError("handler bug")

    model = FakeListLLM(responses=["a b"])
    assert model.invoke("x", callbacks=[from_langchain(Fails())]) == "a b"
    strict = Fails()
    strict.raise_error = True
    assert from_langchain(strict).raise_error is True
    with pytest.raises(HandlerError):
        FakeListLLM(responses=["a b"]).invoke("x", callbacks=[from_langchain(strict)])


def test_async_handler_runs_from_sync_code() -> None:
    """An AsyncCallbackHandler in sync code runs on streamllm's loop; the call
    returns once it has seen the end."""
    recorder = AsyncCallRecorder()
    FakeListLLM(responses=["a b"]).invoke("x", callbacks=[from_langchain(recorder)])
    assert recorder.names() == ["on_llm_start", *["on_llm_new_token"] * 2, "on_llm_end"]


@pytest.mark.parametrize(
    "bad",
    [StdOutCallbackHandler, CallRecorder, object(), "stdout", None],
    ids=["stdout-class", "custom-class", "object", "str", "none"],
)
def test_anything_but_a_langchain_handler_instance_is_refused(bad: Any) -> None:
    """A handler class (a common slip) or a non-handler is a ConfigurationError
    naming what to write instead, before any model call."""
    with pytest.raises(ConfigurationError) as info:
        from_langchain(bad)
    if isinstance(bad, type):
        assert f"from_langchain({bad.__qualname__}())" in str(info.value)


def test_langchain_tracers_build_the_run_tree() -> None:
    """LangChain's tracers (the base of LangSmith's) rebuild streamllm's tree of
    runs: the traced block with the model runs as children, their tokens as
    run events, the output text, and a failure as the run's error."""
    from langchain_core.tracers.run_collector import RunCollectorCallbackHandler

    collector = RunCollectorCallbackHandler()
    handler = from_langchain(collector)
    with pytest.raises(KeyError), traced("outer", callbacks=[handler]):
        FakeListLLM(responses=["Hi there"]).invoke([{"role": "user", "content": "Hello"}])
        FakeListLLM(responses=["plain"]).invoke("text")
        raise KeyError("late")
    (root,) = collector.traced_runs
    assert (root.name, root.run_type) == ("outer", "chain")
    assert "KeyError" in (root.error or "")
    chat, text = root.child_runs
    assert chat.run_type == text.run_type == "llm"
    # Two tokens, then LangChain's empty closing chunk of a chat stream.
    assert [e["name"] for e in chat.events] == ["start", *["new_token"] * 3, "end"]
    assert chat.outputs is not None
    assert chat.outputs["generations"][0][0]["text"] == "Hi there"
    assert text.inputs == {"prompts": ["text"]}


@settings(max_examples=50, deadline=None, derandomize=True)
@given(
    st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=20),
    st.booleans(),
)
def test_langchain_chunks_add_up_to_the_result(tokens: list[str], chat: bool) -> None:
    """Property: whatever the tokens, the LangChain handler gets one call per
    token (and a chat run LangChain's closing chunk), its chunks added
    LangChain's way give the text on_llm_end reports, and that is the streamed
    text (derandomized: the same examples each run)."""
    recorder = CallRecorder()
    prompt: Any = [{"role": "user", "content": "x"}] if chat else "x"
    out = _invoke(FakeListLLM(responses=[tokens]), prompt, recorder)
    calls = recorder.of("on_llm_new_token")
    if chat:  # LangChain's chat models close a stream with an empty chunk
        *calls, (closing, kw) = calls
        assert closing == ("",)
        assert kw["chunk"].message.chunk_position == "last"
    assert [a[0] for a, _ in calls] == tokens
    total = calls[0][1]["chunk"]
    for _, kw in calls[1:]:
        total = total + kw["chunk"]
    (response,), _ = recorder.of("on_llm_end")[0]
    assert total.text == response.generations[0][0].text == out == "".join(tokens)


def test_a_chat_results_message_reaches_langchain_with_its_blocks() -> None:
    """LLMResult.message (streamllm's AIMessage) arrives in on_llm_end as a
    LangChain AIMessage: reasoning and text content blocks, tool calls,
    invalid tool calls, usage_metadata."""
    import uuid

    from streamllm.chat import AIMessage, InvalidToolCall, ReasoningBlock, TextBlock, ToolCall
    from streamllm.events import LLMEnd, LLMStart
    from streamllm.integrations._from_langchain import HAS_MESSAGE
    from streamllm.outputs import Generation as SGeneration
    from streamllm.outputs import LLMResult

    if not HAS_MESSAGE:
        pytest.skip("LLMResult has no message field yet")
    run_id = uuid.uuid4()
    common = {"run_id": run_id, "trace_id": run_id, "time": 0.0, "monotonic": 0.0, "name": "m"}
    message = AIMessage(
        content_blocks=(
            ReasoningBlock(text="hmm"),
            TextBlock(text="Checking."),
            ToolCall(id="call_1", name="weather", args={"city": "Paris"}),
            InvalidToolCall(id="call_2", name="weather", args_text="{oops", error="bad JSON"),
        ),
        usage=USAGE,
        finish_reason="tool_calls",
    )
    result = LLMResult(
        generations=((SGeneration(text="Checking.", finish_reason="tool_calls"),),),
        usage=USAGE,
        model="m",
        message=message,
    )
    recorder = CallRecorder()
    wrapper: Any = from_langchain(recorder)
    wrapper.on_llm_start(LLMStart(**common, seq=0, model="m", messages=()))
    wrapper.on_llm_end(LLMEnd(**common, seq=1, result=result))
    (response,), _ = recorder.of("on_llm_end")[0]
    lc = response.generations[0][0].message
    assert lc.content == [
        {"type": "reasoning", "reasoning": "hmm"},
        {"type": "text", "text": "Checking."},
    ]
    assert lc.tool_calls == [
        {"type": "tool_call", "id": "call_1", "name": "weather", "args": {"city": "Paris"}}
    ]
    assert lc.invalid_tool_calls[0]["args"] == "{oops"
    assert lc.usage_metadata["total_tokens"] == 10


def test_a_tool_loop_conversation_reaches_langchain_as_its_messages() -> None:
    """A conversation with an assistant's tool call and the tool's answer
    arrives as HumanMessage, AIMessage(tool_calls=...), ToolMessage."""
    from langchain_core.messages import AIMessage as LCAIMessage
    from langchain_core.messages import ToolMessage

    recorder = CallRecorder()
    conversation = [
        ("user", "Weather?"),
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "name": "w", "args": {}}]},
        {"role": "tool", "content": "22 C", "tool_call_id": "c1"},
    ]
    _invoke(FakeListLLM(responses=["Warm."]), conversation, recorder)
    (_, (messages,)), _ = recorder.of("on_chat_model_start")[0]
    assert messages == [
        HumanMessage(content="Weather?"),
        LCAIMessage(content="", tool_calls=[{"id": "c1", "name": "w", "args": {}}]),
        ToolMessage(content="22 C", tool_call_id="c1"),
    ]
