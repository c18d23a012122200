"""What the ``streamllm`` command prints: event lines, JSON lines and summaries."""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import TextIO

from streamllm.events import (
    BaseEvent,
    BlockDelta,
    BlockEnd,
    BlockStart,
    Event,
    LLMEnd,
    LLMError,
    LLMStart,
    NewToken,
    ToolEnd,
    ToolError,
    ToolStart,
    event_json,
)
from streamllm.handlers import LatencyStats, StreamingStdOutHandler, TokenCounter

__all__ = [
    "EventLines",
    "JSONLines",
    "OneLineLog",
    "TokenText",
    "latency_line",
    "summary_line",
    "usage_line",
]


class TokenText(StreamingStdOutHandler):
    """The answer's text on stdout (``reasoning=``/``tools=``: also the reasoning
    and the tool calls' arguments, labelled); a failed write (a closed pipe)
    stops the run rather than generating tokens nobody reads."""

    raise_error = True


class OneLineLog(logging.Handler):
    """Shows the library's warnings and errors (a failing handler) as one line
    each on stderr, without tracebacks; a closed stdout is not worth a line."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(logging.WARNING)
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and isinstance(record.exc_info[1], BrokenPipeError):
            return
        first = record.getMessage().splitlines()[0] if record.getMessage() else ""
        with contextlib.suppress(OSError, ValueError):  # stderr itself is gone
            self._stream.write(f"streamllm: {record.levelname.lower()}: {first}\n")


class JSONLines:
    """A handler (a callable taking every event) writing one JSON event per line.

    Each line is ``event_json(event)``, which ``parse_event`` reads back (every
    event kind: blocks and tool runs too; a lone surrogate stays valid JSON).
    ``raise_error``: a failed write (a closed pipe) must stop the run.
    """

    raise_error = True

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: BaseEvent) -> None:
        line = event_json(event) + "\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()


def _detail(event: BaseEvent) -> str:
    if isinstance(event, NewToken):
        return f"#{event.index} {event.token!r}"
    if isinstance(event, LLMStart):
        return f"model={event.model}"
    if isinstance(event, LLMEnd):
        result = event.result
        return f"finish={result.finish_reason} chars={len(result.text)}"
    if isinstance(event, LLMError | ToolError):
        return f"reason={event.reason} {event.error.type}: {event.error.message}"
    if isinstance(event, BlockStart):
        tool = f" tool={event.tool_name}" if event.tool_name else ""
        return f"block={event.block} kind={event.kind}{tool}"
    if isinstance(event, BlockDelta):
        return f"block={event.block} {event.delta!r}"
    if isinstance(event, BlockEnd):
        return f"block={event.block} {event.content.type}"
    if isinstance(event, ToolStart):
        return f"tool={event.name} args={sorted(event.args)}"
    if isinstance(event, ToolEnd):
        return f"tool={event.name}"
    return ""


class EventLines:
    """A handler printing one short line per event: sequence number, type, detail."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        line = f"event {event.seq:>4} {event.type} {_detail(event)}".rstrip() + "\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()


def _count(n: int | None) -> str:
    return "?" if n is None else str(n)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def summary_line(stats: LatencyStats) -> str:
    """The one-line summary after a run: tokens, time to first token, tokens/s."""
    parts = [f"{stats.tokens} tokens"]
    if stats.time_to_first_token is not None:
        parts.append(f"first token {stats.time_to_first_token:.2f} s")
    if stats.tokens_per_second is not None:
        parts.append(f"{stats.tokens_per_second:.1f} tokens/s")
    parts.append(f"{stats.duration:.2f} s total")
    if stats.reason is not None:
        parts.append(stats.reason)
    return "-- " + ", ".join(parts)


def latency_line(stats: LatencyStats) -> str:
    """Inter-token gaps, for ``--show latency``."""
    return f"latency: gaps p50 {_ms(stats.p50)}, p95 {_ms(stats.p95)}, max {_ms(stats.max_gap)}"


def usage_line(counter: TokenCounter) -> str:
    """Token usage and cost, for ``--show usage``."""
    usage = counter.totals
    line = (
        f"usage: {_count(usage.prompt_tokens)} prompt + {_count(usage.completion_tokens)} "
        f"completion = {_count(usage.total_tokens)} tokens ({usage.source})"
    )
    cost = counter.cost
    return line if cost is None else f"{line}, ${cost:.6f}"
