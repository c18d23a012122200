"""Chat streaming costs (issue 13): block deltas, tool-call fragments against
langchain-core, and the text path of a chat model against a text model.

CPU time of this process, median of ``--repeat`` interleaved rounds (the order
rotates each round), per fragment:

    .venv/bin/python benchmarks/chat.py                 # 100,000 fragments, 5 rounds
    .venv/bin/python benchmarks/chat.py --fragments 20000 --repeat 3

Rows:
- "block delta, 1 handler": a reasoning stream of N deltas through
  ``BaseChatModel.stream()`` with one sync handler on ``on_block_delta``
  (assembler, BlockDelta event, delivery, one AIMessageChunk per delta).
  Target: at most 1.5 µs per delta.
- "tool-call fragments, 1 handler": N argument fragments of one tool call,
  streamllm (``stream()``, handler on ``on_block_delta``) against a
  langchain-core chat model whose ``_stream`` yields ``AIMessageChunk``\\ s with
  ``tool_call_chunks`` and calls ``on_llm_new_token(chunk=...)`` (a handler
  counting them), consumed with ``stream()``. Target: at least 10x cheaper.
- "text through a chat model": N text deltas through ``BaseChatModel.stream()``
  (handler on ``on_llm_new_token``) against ``FakeListLLM.stream()`` with the
  same handler: what the chat path costs over the text path (reported, no target).
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _compare.common import HAVE_LANGCHAIN, Row, cpu, interleave

from streamllm import CallbackHandler, FakeListLLM
from streamllm.chat.deltas import ChatDelta
from streamllm.events import BlockDelta, NewToken
from streamllm.models.chat import BaseChatModel
from streamllm.request import Request


class DeltaCounter(CallbackHandler):
    """Counts block deltas and tokens (the same work as langchain's counter)."""

    def __init__(self) -> None:
        self.n = 0

    def on_block_delta(self, event: BlockDelta) -> None:
        self.n += 1

    def on_llm_new_token(self, event: NewToken) -> None:
        self.n += 1


class ScriptChat(BaseChatModel):
    """A chat provider replaying a prepared delta list (no scripting cost in the loop)."""

    hidden_params = BaseChatModel.hidden_params | {"deltas"}
    deltas: list[Any]

    def _stream(self, request: Request) -> Iterator[ChatDelta]:
        return iter(self.deltas)


def reasoning_deltas(n: int) -> list[ChatDelta]:
    return [ChatDelta("reasoning", f" r{i % 1000}") for i in range(n)]


def tool_fragments(n: int) -> list[str]:
    """A tool call writing a file: ``{"path": ..., "content": "<long text>"}`` in
    ``n`` fragments of about 8 characters, as vendors stream arguments."""
    body = [f"line {i % 1000} " for i in range(n - 2)]
    return ['{"path": "notes.txt", "content": "', *body, '"}']


def tool_deltas(fragments: list[str]) -> list[ChatDelta]:
    first = ChatDelta("tool", fragments[0], index=0, id="call_1", name="lookup")
    return [first, *(ChatDelta("tool", f, index=0) for f in fragments[1:])]


def text_deltas(n: int) -> list[ChatDelta]:
    return [ChatDelta("text", f" t{i % 1000}") for i in range(n)]


def ours(deltas: list[ChatDelta], expect: int) -> float:
    model = ScriptChat(deltas=deltas)

    def run() -> None:
        handler = DeltaCounter()
        for _ in model.stream("x", callbacks=[handler]):
            pass
        assert handler.n == expect, (handler.n, expect)

    return cpu(run)


def text_model(n: int) -> float:
    model = FakeListLLM(responses=[[f" t{i % 1000}" for i in range(n)]])

    def run() -> None:
        handler = DeltaCounter()
        for _ in model.stream("x", callbacks=[handler]):
            pass
        assert handler.n == n

    return cpu(run)


def langchain_tool_stream(fragments: list[str]) -> Any:
    from langchain_core.callbacks import BaseCallbackHandler, CallbackManagerForLLMRun
    from langchain_core.language_models import BaseChatModel as LCChatModel
    from langchain_core.messages import AIMessageChunk, BaseMessage
    from langchain_core.outputs import ChatGenerationChunk, ChatResult

    class ToolChunks(LCChatModel):
        """langchain-core: one AIMessageChunk with tool_call_chunks per fragment."""

        fragments: list[str]

        @property
        def _llm_type(self) -> str:
            return "tool-chunks"

        def _generate(self, messages: list[BaseMessage], **kwargs: Any) -> ChatResult:
            raise NotImplementedError

        def _stream(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: CallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> Iterator[ChatGenerationChunk]:
            for i, fragment in enumerate(self.fragments):
                call = {
                    "index": 0,
                    "id": "call_1" if i == 0 else None,
                    "name": "lookup" if i == 0 else None,
                    "args": fragment,
                    "type": "tool_call_chunk",
                }
                message = AIMessageChunk(content="", tool_call_chunks=[call])
                chunk = ChatGenerationChunk(message=message)
                if run_manager is not None:
                    run_manager.on_llm_new_token("", chunk=chunk)
                yield chunk

    class LCCounter(BaseCallbackHandler):
        def __init__(self) -> None:
            self.n = 0

        def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            self.n += 1

    model = ToolChunks(fragments=fragments)

    def run() -> float:
        def body() -> None:
            handler = LCCounter()
            for _ in model.stream("x", config={"callbacks": [handler]}):
                pass
            assert handler.n >= len(fragments), handler.n  # (+ its closing empty chunk)

        return cpu(body)

    return run


def per(values: list[float], n: int) -> list[float]:
    return [v / n * 1e6 for v in values]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fragments", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, repeat = args.fragments, args.repeat
    rows: list[Row] = []

    reasoning = reasoning_deltas(n)
    times = interleave({"streamllm": lambda: ours(reasoning, n)}, repeat)
    rows.append(
        Row("block delta, 1 handler (reasoning)", "µs/delta", per(times["streamllm"], n), "", [])
    )

    # langchain-core re-parses the partial arguments as chunks add up, so its
    # cost per fragment grows with the call: shown at two sizes.
    for size in sorted({min(n, 1000), n}):
        fragments = tool_fragments(size)
        tool = tool_deltas(fragments)
        contestants = {"streamllm": functools.partial(ours, tool, size)}
        if HAVE_LANGCHAIN:
            contestants["langchain-core"] = langchain_tool_stream(fragments)
        times = interleave(contestants, repeat)
        rows.append(
            Row(
                f"tool-call fragments, 1 handler ({size:,} in one call)",
                "µs/fragment",
                per(times["streamllm"], size),
                "langchain-core stream(), tool_call_chunks" if HAVE_LANGCHAIN else "(no langchain)",
                per(times.get("langchain-core", []), size),
                target=10.0,
            )
        )

    text = text_deltas(n)
    times = interleave({"chat": lambda: ours(text, n), "text": lambda: text_model(n)}, repeat)
    rows.append(
        Row(
            "text through a chat model, 1 handler",
            "µs/token",
            per(times["chat"], n),
            "FakeListLLM.stream() (text model)",
            per(times["text"], n),
        )
    )

    print(f"{n:,} fragments per stream; median of {repeat} interleaved rounds; CPU time.")
    print(
        "| Benchmark | Unit | streamllm | (best) | Against | Their value | Ratio | Target | Met |"
    )
    print("|---|---|---:|---:|---|---:|---:|---|---|")
    for row in rows:
        mine = Row.med(row.ours)
        theirs = Row.med(row.other)
        ratio = f"{row.ratio(Row.med):.1f}x" if row.other else ""
        target = (
            row.target_text()
            if row.other
            else "<= 1.5 µs"
            if "block delta" in row.benchmark
            else ""
        )
        met = row.met() if row.other else ("yes" if mine <= 1.5 else "**no**") if target else ""
        theirs_text = f"{theirs:.2f}" if row.other else "-"
        print(
            f"| {row.benchmark} | {row.unit} | {mine:.2f} | {min(row.ours):.2f} "
            f"| {row.other_name or '-'} "
            f"| {theirs_text} | {ratio} | {target} | {met} |"
        )


if __name__ == "__main__":
    main()
