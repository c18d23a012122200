"""StreamLLMCallbackHandler observing a LangGraph app (runs only where langgraph is installed)."""

from __future__ import annotations

from typing import Any, TypedDict

import pytest

pytest.importorskip("langgraph")

from langchain_core.language_models import FakeListChatModel
from langgraph.graph import END, START, StateGraph

from streamllm.events import ChainEnd, ChainError, ChainStart, LLMEnd, LLMStart
from streamllm.integrations.langchain import StreamLLMCallbackHandler
from streamllm.testing import RecordingHandler


class State(TypedDict):
    question: str
    answer: str


def _graph(node: Any) -> Any:
    graph = StateGraph(State)
    graph.add_node("ask", node)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    return graph.compile()


def test_a_graph_is_a_tree_of_runs_in_one_trace() -> None:
    """The graph and each node are chain runs, the model call a run under its
    node, all in the graph's trace; tokens streamed with stream_mode="messages"
    arrive as NewTokens and make the answer."""
    model = FakeListChatModel(responses=["forty-two"])

    def ask(state: State) -> dict[str, str]:
        return {"answer": str(model.invoke(state["question"]).content)}

    rec = RecordingHandler()
    config = {"callbacks": [StreamLLMCallbackHandler([rec])]}
    list(_graph(ask).stream({"question": "?"}, config=config, stream_mode="messages"))
    root = rec.events[0]
    assert isinstance(root, ChainStart)
    assert root.name == "LangGraph"
    assert {e.trace_id for e in rec.events} == {root.run_id}
    (node,) = [e for e in rec.of_type(ChainStart) if e.name == "ask"]
    (llm,) = rec.of_type(LLMStart)
    assert node.parent_run_id == root.run_id
    assert llm.parent_run_id == node.run_id
    assert "".join(rec.tokens(llm.run_id)) == "forty-two"
    (end,) = rec.of_type(LLMEnd)
    assert end.result.text == "forty-two"
    assert rec.events[-1].run_id == root.run_id
    assert isinstance(rec.events[-1], ChainEnd)


def test_a_failing_node_ends_its_runs_once_each() -> None:
    """A node that raises: its run and the graph's end with one ChainError each."""

    def broken(state: State) -> dict[str, str]:
        raise ValueError("no answer")

    rec = RecordingHandler()
    with pytest.raises(ValueError, match="no answer"):
        _graph(broken).invoke(
            {"question": "?"}, config={"callbacks": [StreamLLMCallbackHandler([rec])]}
        )
    for run in rec.runs().values():
        assert isinstance(run[0], ChainStart)
        assert isinstance(run[-1], ChainError)
        assert sum(isinstance(e, ChainEnd | ChainError) for e in run) == 1
        assert run[-1].error.type == "ValueError"
