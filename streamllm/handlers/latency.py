"""LatencyHandler: time to first token, inter-token gaps and throughput per run."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from streamllm.callbacks.base import CallbackHandler
from streamllm.events import (
    BaseEvent,
    BlockDelta,
    LLMEnd,
    LLMError,
    LLMStart,
    NewToken,
    Reason,
)

__all__ = ["LatencyHandler", "LatencyStats", "percentile"]


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of sorted values, interpolating linearly
    between the closest ranks (numpy's default method)."""
    if not ordered:
        raise ValueError("percentile of no values")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """One run's timings, in seconds, from the events' monotonic clock.

    ``time_to_first_token`` is from ``LLMStart`` to the first token of any
    block (a ``NewToken``, or a ``BlockDelta`` of reasoning or tool arguments);
    ``p50``, ``p95`` and ``max_gap`` describe the gaps between consecutive
    tokens; ``tokens_per_second`` is the streaming rate after the first token,
    ``(tokens - 1) / (last token - first token)``; ``duration`` is from
    ``LLMStart`` to the terminal event. A value that cannot be known (no token,
    or a single token, for the gaps and the rate) is ``None``. "Tokens" are
    streamed chunks, as in ``NewToken``. ``reason`` is ``None`` for a run that
    ended normally, else its ``LLMError`` reason.
    """

    tokens: int
    time_to_first_token: float | None
    p50: float | None
    p95: float | None
    max_gap: float | None
    tokens_per_second: float | None
    duration: float
    reason: Reason | None = None


def compute_stats(
    start: float, token_times: Sequence[float], end: float, reason: Reason | None = None
) -> LatencyStats:
    """The :class:`LatencyStats` of a run that started, streamed tokens at
    ``token_times`` and ended at ``end`` (all monotonic seconds)."""
    n = len(token_times)
    gaps = sorted(b - a for a, b in itertools.pairwise(token_times))
    span = token_times[-1] - token_times[0] if n >= 2 else 0.0
    return LatencyStats(
        tokens=n,
        time_to_first_token=token_times[0] - start if n else None,
        p50=percentile(gaps, 50) if gaps else None,
        p95=percentile(gaps, 95) if gaps else None,
        max_gap=gaps[-1] if gaps else None,
        tokens_per_second=(n - 1) / span if span > 0 else None,
        duration=end - start,
        reason=reason,
    )


class LatencyHandler(CallbackHandler):
    """Measures each run: time to first token, inter-token gaps (p50, p95,
    max), tokens per second and duration; ``stats`` maps run id to
    :class:`LatencyStats` once the run has ended (normally or not).

    >>> from streamllm import FakeListLLM
    >>> from streamllm.handlers import LatencyHandler
    >>> latency = LatencyHandler()
    >>> _ = FakeListLLM(responses=["one two three"]).invoke("count", callbacks=[latency])
    >>> [s.tokens for s in latency.stats.values()]
    [3]
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[UUID, tuple[float, list[float]]] = {}
        self._stats: dict[UUID, LatencyStats] = {}

    def _run(self, event: BaseEvent) -> tuple[float, list[float]]:
        # dict.get is atomic; the lock is only needed to create a run's entry.
        run = self._open.get(event.run_id)
        if run is None:
            with self._lock:
                run = self._open.setdefault(event.run_id, (event.monotonic, []))
        return run

    def on_llm_start(self, event: LLMStart) -> None:
        with self._lock:
            self._open[event.run_id] = (event.monotonic, [])

    def on_llm_new_token(self, event: NewToken) -> None:
        # One run's tokens arrive in order from one thread or task at a time.
        self._run(event)[1].append(event.monotonic)

    def on_block_delta(self, event: BlockDelta) -> None:
        # Reasoning and tool-call argument fragments are output chunks too: a
        # chat model that thinks first has its first token here.
        self._run(event)[1].append(event.monotonic)

    def _finish(self, event: BaseEvent, reason: Reason | None) -> None:
        with self._lock:
            run = self._open.pop(event.run_id, None)
        start, times = run if run is not None else (event.monotonic, [])
        stats = compute_stats(start, times, event.monotonic, reason)
        with self._lock:
            self._stats[event.run_id] = stats

    def on_llm_end(self, event: LLMEnd) -> None:
        self._finish(event, None)

    def on_llm_error(self, event: LLMError) -> None:
        self._finish(event, event.reason)

    @property
    def stats(self) -> dict[UUID, LatencyStats]:
        """Run id to its timings, for every run that has ended (a copy)."""
        with self._lock:
            return dict(self._stats)

    def clear(self) -> None:
        """Forget the timings of finished runs."""
        with self._lock:
            self._stats.clear()
