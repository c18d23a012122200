"""Handlers that print to a text stream (standard output by default).

The library itself never prints; these two handlers exist for people who ask
for output: a line per run start and end, or the tokens as they stream.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import TextIO
from uuid import UUID

from streamllm.callbacks.base import CallbackHandler
from streamllm.events import (
    BaseEvent,
    BlockDelta,
    BlockStart,
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
from streamllm.outputs import TokenUsage

__all__ = ["StdOutHandler", "StreamingStdOutHandler"]


def _preview(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: max(width - 1, 0)] + "…"


def _json(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _usage(usage: TokenUsage | None) -> str:
    if usage is None:
        return "usage unknown"

    def show(n: int | None) -> str:
        return "?" if n is None else str(n)

    return (
        f"tokens {show(usage.prompt_tokens)} in + {show(usage.completion_tokens)} out"
        f" = {show(usage.total_tokens)} ({usage.source})"
    )


class _Writer:
    """Writes whole lines under a lock, so concurrent runs never interleave
    inside a line. ``None`` means whatever ``sys.stdout`` is at write time
    (so redirection and pytest's ``capsys`` work)."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    def write(self, text: str) -> None:
        with self._lock:
            out = self.stream
            out.write(text)
            out.flush()


class StdOutHandler(CallbackHandler):
    """One readable line when a run starts and one when it ends or fails.

    >>> from streamllm import FakeListLLM
    >>> from streamllm.handlers import StdOutHandler
    >>> FakeListLLM(responses=["Hi there"]).invoke("Hello", callbacks=[StdOutHandler()])
    ... # doctest: +SKIP
    [run 1a2b3c4d] fake: start, prompt 'Hello'
    [run 1a2b3c4d] fake: end, finish stop, tokens 2 in + 2 out = 4 (estimated), 0.000s
    'Hi there'

    ``stream`` is any text stream (standard output by default); ``preview`` is
    how many characters of the prompt to show.
    """

    def __init__(self, stream: TextIO | None = None, *, preview: int = 60) -> None:
        self._out = _Writer(stream)
        self._preview = preview
        self._started: dict[UUID, float] = {}
        self._lock = threading.Lock()

    def _begin(self, event: BaseEvent) -> None:
        with self._lock:
            self._started[event.run_id] = event.monotonic

    def _elapsed(self, event: BaseEvent) -> str:
        with self._lock:
            start = self._started.pop(event.run_id, None)
        return "" if start is None else f", {event.monotonic - start:.3f}s"

    def _line(self, event: BaseEvent, text: str) -> None:
        self._out.write(f"[run {str(event.run_id)[:8]}] {event.name}: {text}\n")

    def on_llm_start(self, event: LLMStart) -> None:
        self._begin(event)
        if event.prompt is not None:
            what = f"prompt {_preview(event.prompt, self._preview)!r}"
        else:
            messages = event.messages or ()
            last = _preview(messages[-1].text, self._preview) if messages else ""
            what = f"{len(messages)} message(s), last {last!r}"
        self._line(event, f"start ({event.model}), {what}")

    def on_llm_end(self, event: LLMEnd) -> None:
        result = event.result
        retries = f", {result.retries} retries" if result.retries else ""
        calls = result.message.tool_calls if result.message is not None else ()
        asked = f", tool calls {', '.join(c.name for c in calls)}" if calls else ""
        self._line(
            event,
            f"end, finish {result.finish_reason}{asked}, {_usage(result.usage)}{retries}"
            f"{self._elapsed(event)}",
        )

    def on_llm_error(self, event: LLMError) -> None:
        self._line(
            event,
            f"{event.reason}, {event.error.type}: {event.error.message}"
            f" ({len(event.partial.text)} chars streamed){self._elapsed(event)}",
        )

    def on_chain_start(self, event: ChainStart) -> None:
        self._begin(event)
        self._line(event, "chain start")

    def on_chain_end(self, event: ChainEnd) -> None:
        self._line(event, f"chain end{self._elapsed(event)}")

    def on_chain_error(self, event: ChainError) -> None:
        self._line(
            event,
            f"chain {event.reason}, {event.error.type}: {event.error.message}"
            f"{self._elapsed(event)}",
        )

    def on_tool_start(self, event: ToolStart) -> None:
        self._begin(event)
        call = f" {event.tool_call_id}" if event.tool_call_id else ""
        args = _preview(_json(dict(event.args)), self._preview)
        self._line(event, f"tool call{call}, args {args}")

    def on_tool_end(self, event: ToolEnd) -> None:
        output = _preview(_json(event.output), self._preview)
        self._line(event, f"tool end, output {output!r}{self._elapsed(event)}")

    def on_tool_error(self, event: ToolError) -> None:
        self._line(
            event,
            f"tool {event.reason}, {event.error.type}: {event.error.message}{self._elapsed(event)}",
        )


class StreamingStdOutHandler(CallbackHandler):
    """Writes each token as it comes (and flushes), then a newline when the run ends.

    >>> from streamllm import FakeListLLM
    >>> from streamllm.handlers import StreamingStdOutHandler
    >>> _ = FakeListLLM(responses=["Hi there"]).invoke("Hello",
    ...     callbacks=[StreamingStdOutHandler()])
    Hi there

    ``stream`` is any text stream: ``sys.stderr``, an open file, an
    ``io.StringIO``. Runs that stream at the same time interleave their tokens.
    Chat models: text blocks are printed; ``reasoning=True`` also prints
    reasoning on lines starting ``[reasoning]`` and ``tools=True`` each tool
    call's arguments as they stream, on a line ``[tool call NAME]``.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        reasoning: bool = False,
        tools: bool = False,
    ) -> None:
        self._out = _Writer(stream)
        self.reasoning = reasoning
        self.tools = tools
        # Which kind of block wrote last, so a change of kind starts a new
        # labelled line instead of running reasoning into the answer.
        self._last: str = "text"

    def _switch(self, kind: str, label: str) -> None:
        if self._last != kind:
            self._last = kind
            self._out.write(f"\n{label}" if label else "\n")

    def on_llm_new_token(self, event: NewToken) -> None:
        if self._last != "text":
            self._switch("text", "")
        self._out.write(event.token)

    def on_block_start(self, event: BlockStart) -> None:
        if event.kind == "reasoning" and self.reasoning:
            self._switch("reasoning", "[reasoning] ")
        elif event.kind == "tool_call" and self.tools:
            self._last = "tool_call"
            self._out.write(f"\n[tool call {event.tool_name or '?'}] ")

    def on_block_delta(self, event: BlockDelta) -> None:
        if (event.kind == "reasoning" and self.reasoning) or (
            event.kind == "tool_call" and self.tools
        ):
            self._out.write(event.delta)

    def on_llm_end(self, event: LLMEnd) -> None:
        self._last = "text"
        self._out.write("\n")

    def on_llm_error(self, event: LLMError) -> None:
        self._last = "text"
        self._out.write("\n")
