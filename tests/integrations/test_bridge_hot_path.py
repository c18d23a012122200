"""StreamLLMCallbackHandler's per-token shortcuts (issue 14) keep the events the same.

The token hook finds its run by the identity of LangChain's run id (one UUID
object per run) before the dict lookup, and builds the text delta of a chat
chunk without ChatDelta's Python-level constructor.
"""

from __future__ import annotations

import uuid

from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.outputs import LLMResult as LCResult

from streamllm.chat.deltas import ChatDelta
from streamllm.events import LLMEnd, NewToken
from streamllm.integrations.langchain import StreamLLMCallbackHandler
from streamllm.testing import RecordingHandler


def _chunk(text: str) -> ChatGenerationChunk:
    return ChatGenerationChunk(message=AIMessageChunk(content=text))


def test_the_text_delta_shortcut_has_chat_deltas_shape() -> None:
    """_lc_blocks builds ("text", content, then None for every other field): what
    ChatDelta("text", content) is, as long as ChatDelta keeps these fields."""
    assert ChatDelta._fields[:2] == ("kind", "text")
    assert len(ChatDelta._fields) == 10
    assert all(ChatDelta._field_defaults[f] is None for f in ChatDelta._fields[2:])


def test_interleaved_runs_get_their_own_tokens() -> None:
    """Tokens of two open runs, alternating (the one-entry cache switches each
    time), each reach their own run, in order; equal UUIDs that are other objects
    find the run too."""
    rec = RecordingHandler()
    handler = StreamLLMCallbackHandler([rec])
    a, b = uuid.uuid4(), uuid.uuid4()
    handler.on_chat_model_start({}, [[]], run_id=a)
    handler.on_chat_model_start({}, [[]], run_id=b)
    for i in range(3):
        handler.on_llm_new_token(f"a{i}", chunk=_chunk(f"a{i}"), run_id=a)
        handler.on_llm_new_token(f"b{i}", chunk=_chunk(f"b{i}"), run_id=uuid.UUID(str(b)))
    handler.on_llm_end(LCResult(generations=[]), run_id=a)
    handler.on_llm_end(LCResult(generations=[]), run_id=b)
    for run_id, prefix in ((a, "a"), (b, "b")):
        tokens = [e.token for e in rec.events if isinstance(e, NewToken) and e.run_id == run_id]
        assert tokens == [f"{prefix}{i}" for i in range(3)]
        (end,) = [e for e in rec.events if isinstance(e, LLMEnd) and e.run_id == run_id]
        assert end.result.text == f"{prefix}0{prefix}1{prefix}2"


def test_a_token_after_its_runs_end_is_dropped() -> None:
    """The run the last token went to is forgotten when it ends: a late token with
    the same UUID object is not delivered to the finished run."""
    rec = RecordingHandler()
    handler = StreamLLMCallbackHandler([rec])
    run_id = uuid.uuid4()
    handler.on_chat_model_start({}, [[]], run_id=run_id)
    handler.on_llm_new_token("x", chunk=_chunk("x"), run_id=run_id)
    handler.on_llm_end(LCResult(generations=[]), run_id=run_id)
    count = len(rec.events)
    handler.on_llm_new_token("late", chunk=_chunk("late"), run_id=run_id)
    assert len(rec.events) == count
    assert isinstance(rec.events[-1], LLMEnd)
