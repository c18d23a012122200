"""StreamLLMCallbackHandler keeps streamllm's run guarantees whatever LangChain sends."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk, Generation
from langchain_core.outputs import LLMResult as LCResult

from streamllm.events import ChainError, ChainStart, LLMEnd, LLMError, LLMStart, NewToken
from streamllm.integrations.langchain import StreamLLMCallbackHandler
from streamllm.testing import RecordingHandler
from tests.integrations.conftest import assert_well_formed


def _response(text: str) -> LCResult:
    return LCResult(generations=[[Generation(text=text)]])


@pytest.fixture
def bridge() -> tuple[StreamLLMCallbackHandler, RecordingHandler]:
    rec = RecordingHandler()
    return StreamLLMCallbackHandler([rec]), rec


def test_an_error_without_start_is_a_whole_run(bridge: Any) -> None:
    """on_llm_error for a run never started gives a synthesised start (model
    "unknown", flagged in metadata) and then the LLMError: a consistent run."""
    handler, rec = bridge
    run_id = uuid.uuid4()
    handler.on_llm_error(RuntimeError("boom"), run_id=run_id)
    start, error = rec.events
    assert isinstance(start, LLMStart)
    assert isinstance(error, LLMError)
    assert start.model == "unknown"
    assert start.metadata["streamllm_synthesized_start"] is True
    assert (error.error.type, error.error.message, error.reason) == (
        "RuntimeError",
        "boom",
        "failed",
    )
    assert [e.seq for e in rec.events] == [0, 1]


def test_a_chain_error_without_start_is_a_whole_chain_run(bridge: Any) -> None:
    """The same for chains: ChainStart synthesised, then ChainError."""
    handler, rec = bridge
    handler.on_chain_error(KeyboardInterrupt(), run_id=uuid.uuid4())
    start, error = rec.events
    assert isinstance(start, ChainStart)
    assert isinstance(error, ChainError)
    assert error.reason == "cancelled"


def test_a_second_end_a_second_start_and_late_tokens_are_dropped(bridge: Any) -> None:
    """After the terminal event nothing more arrives for the run: neither a
    second end, an error, a token, nor a restart with the same id."""
    handler, rec = bridge
    run_id = uuid.uuid4()
    handler.on_llm_start({}, ["q"], run_id=run_id)
    handler.on_llm_start({}, ["q"], run_id=run_id)
    handler.on_llm_new_token("a", run_id=run_id)
    handler.on_llm_end(_response("a"), run_id=run_id)
    handler.on_llm_end(_response("a"), run_id=run_id)
    handler.on_llm_error(RuntimeError(), run_id=run_id)
    handler.on_llm_new_token("b", run_id=run_id)
    handler.on_llm_start({}, ["q"], run_id=run_id)
    assert [e.type for e in rec.events] == ["llm_start", "new_token", "llm_end"]


def test_the_result_text_is_the_streamed_tokens(bridge: Any) -> None:
    """When LangChain's final text disagrees with what it streamed, the tokens
    win: the concatenation rule of streamllm holds for every run."""
    handler, rec = bridge
    run_id = uuid.uuid4()
    handler.on_llm_start({}, ["q"], run_id=run_id)
    for token in ("Hel", "", "lo"):
        handler.on_llm_new_token(token, run_id=run_id)
    handler.on_llm_end(_response("Hello, world"), run_id=run_id)
    (end,) = rec.of_type(LLMEnd)
    assert end.result.text == "Hello" == "".join(rec.tokens())
    assert [t.index for t in rec.of_type(NewToken)] == [0, 1]


def test_content_block_tokens_keep_their_text(bridge: Any) -> None:
    """A token given as a list of content blocks (output_version="v1") streams its text."""
    handler, rec = bridge
    run_id = uuid.uuid4()
    handler.on_chat_model_start({}, [[]], run_id=run_id)
    handler.on_llm_new_token([{"type": "text", "text": "hi", "index": 0}], run_id=run_id)
    handler.on_llm_new_token([{"type": "reasoning", "reasoning": "hmm"}], run_id=run_id)
    assert rec.tokens() == ["hi"]


_call = st.tuples(
    st.sampled_from(["start", "chat_start", "token", "chat_token", "tool_chunk", "end", "error"]),
    st.integers(min_value=0, max_value=2),
    st.text(max_size=3),
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(_call, max_size=30))
def test_any_callback_sequence_gives_well_formed_runs(calls: list[tuple[str, int, str]]) -> None:
    """Property: for any order of LangChain callbacks over a few runs, every
    streamllm run starts first, has seq 0..n, tokens indexed 0..k, blocks in
    order (chat chunks with text and tool-call fragments), at most one
    terminal and it is last, and when it streamed its result text is its tokens joined
    (derandomized: the examples are the same on every run)."""
    rec = RecordingHandler()
    handler = StreamLLMCallbackHandler([rec])
    ids = [uuid.UUID(int=i + 1) for i in range(3)]
    for what, which, text in calls:
        run_id = ids[which]
        if what == "start":
            handler.on_llm_start({}, [text], run_id=run_id)
        elif what == "chat_start":
            handler.on_chat_model_start({}, [[]], run_id=run_id)
        elif what == "token":
            handler.on_llm_new_token(text, run_id=run_id)
        elif what == "chat_token":
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
            handler.on_llm_new_token(text, chunk=chunk, run_id=run_id)
        elif what == "tool_chunk":
            call = {"name": "f", "args": text, "id": f"c{which}", "index": len(text) % 2}
            chunk = ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[call]))
            handler.on_llm_new_token("", chunk=chunk, run_id=run_id)
        elif what == "end":
            handler.on_llm_end(_response(text), run_id=run_id)
        else:
            handler.on_llm_error(ValueError(text), run_id=run_id)
    assert_well_formed(rec.events)


def test_a_tool_error_without_start_is_a_whole_tool_run(bridge: Any) -> None:
    """A tool error for a run never started: a synthesised ToolStart, then ToolError."""
    from streamllm.events import ToolError, ToolStart

    handler, rec = bridge
    handler.on_tool_error(TimeoutError("slow"), run_id=uuid.uuid4())
    start, error = rec.events
    assert isinstance(start, ToolStart)
    assert isinstance(error, ToolError)
    assert start.metadata["streamllm_synthesized_start"] is True
