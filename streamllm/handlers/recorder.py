"""JSONLRecorder writes every event to a JSON Lines file; replay() plays one back.

A recording is a header line, ``{"streamllm_schema": SCHEMA_VERSION, ...}``,
then one event per line, as :func:`streamllm.events.event_json` writes it (a
lone surrogate a provider sent is escaped, so every event can be written), in
the order the recorder saw the events.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Protocol, TypeAlias

from pydantic import ValidationError

from streamllm.callbacks.base import CallbackHandler
from streamllm.callbacks.deliver import Target, adeliver, deliver, send_signal
from streamllm.callbacks.failures import Failures
from streamllm.callbacks.kinds import TERMINAL, N
from streamllm.callbacks.registry import Entry, resolve_all
from streamllm.errors import ConfigurationError, RecordingError
from streamllm.events import SCHEMA_VERSION, BaseEvent, Event, event_json, parse_event
from streamllm.signals import SIGNALS

__all__ = ["JSONLRecorder", "RecordingError", "areplay", "read_recording", "replay"]

HEADER_KEY = "streamllm_schema"


class JSONLRecorder(CallbackHandler):
    """Records every event to ``path``: a header line, then one JSON event per line.

    Lines are buffered and flushed whenever a run ends (its terminal event), so
    a finished run is on disk even if the process dies later. Safe across
    threads; ``flush()`` and ``close()`` may be called any number of times. Use
    it as a context manager to close it at the end.

    >>> from streamllm import FakeListLLM
    >>> from streamllm.handlers import JSONLRecorder, ResultCollector, replay
    >>> with JSONLRecorder("events.jsonl") as recorder:         # doctest: +SKIP
    ...     FakeListLLM(responses=["Hi"]).invoke("Hello", callbacks=[recorder])
    >>> replay("events.jsonl", [ResultCollector()])            # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._file: IO[str] | None = self.path.open("w", encoding="utf-8")
        header = {HEADER_KEY: SCHEMA_VERSION, "created": datetime.now(UTC).isoformat()}
        self._file.write(json.dumps(header) + "\n")
        self._file.flush()

    def _write(self, event: BaseEvent, flush: bool) -> None:
        # event_json: text with a lone surrogate is escaped, not a failure (issue 11.5).
        line = event_json(event) + "\n"
        with self._lock:
            file = self._file
            if file is None:
                raise ValueError(f"JSONLRecorder({str(self.path)!r}) is closed")
            file.write(line)
            if flush:
                file.flush()

    def on_event(self, event: BaseEvent) -> None:
        # Flushed at each run's end: a finished run is on disk even if the process dies.
        self._write(event, event.slot in TERMINAL)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._file is None

    def flush(self) -> None:
        """Write buffered lines to the file now (a no-op once closed)."""
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def close(self) -> None:
        """Flush and close the file; events that arrive later are refused."""
        with self._lock:
            file, self._file = self._file, None
        if file is not None:
            file.close()

    def __enter__(self) -> JSONLRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"JSONLRecorder({str(self.path)!r}{', closed' if self.closed else ''})"


# -- reading and replaying ------------------------------------------------------


def _check_header(line: str, path: str) -> None:
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or not isinstance(header.get(HEADER_KEY), int):
        raise RecordingError(
            f"{path} line 1: not a streamllm recording (the first line must be a header "
            f'like {{"{HEADER_KEY}": {SCHEMA_VERSION}}})',
            path=path,
            line=1,
        )
    version = header[HEADER_KEY]
    if version > SCHEMA_VERSION:
        raise ConfigurationError(
            f"{path} was recorded with event schema version {version}, newer than this "
            f"streamllm reads (version {SCHEMA_VERSION}): upgrade streamllm to replay it"
        )


def read_recording(path: str | os.PathLike[str]) -> list[Event]:
    """Every event of a recording, checked, in order.

    Raises :class:`ConfigurationError` for a recording of a newer schema
    version and :class:`RecordingError` (naming the line) for anything that is
    not a header or an event. Blank lines are skipped.
    """
    name = str(path)
    events: list[Event] = []
    with open(path, encoding="utf-8") as file:
        first = file.readline()
        if not first.strip():
            raise RecordingError(f"{name} is empty: no recording header", path=name, line=1)
        _check_header(first, name)
        for number, line in enumerate(file, start=2):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError as exc:
                raise RecordingError(
                    f"{name} line {number}: not valid JSON ({exc})", path=name, line=number
                ) from exc
            if not isinstance(data, dict):
                raise RecordingError(
                    f"{name} line {number}: expected an event object, got {type(data).__name__}",
                    path=name,
                    line=number,
                )
            try:
                events.append(parse_event(data))
            except ValidationError as exc:
                raise RecordingError(
                    f"{name} line {number}: not a valid event: "
                    f"{exc.error_count()} error(s), first: {exc.errors()[0]['msg']}",
                    path=name,
                    line=number,
                ) from exc
    return events


def _delays(events: Sequence[Event], speed: float) -> list[float]:
    # Monotonic times are comparable within the process that recorded them;
    # clamp so interleaved concurrent runs never give a negative pause.
    out = [0.0]
    for before, after in itertools.pairwise(events):
        out.append(max(after.monotonic - before.monotonic, 0.0) / speed)
    return out


class _Source(Protocol):
    """A bus (``streamllm.bus``): it replays what it holds."""

    def replay_events(self) -> Iterable[Event]: ...


Source: TypeAlias = "str | os.PathLike[str] | _Source"


def _events_of(source: Source) -> list[Event]:
    if isinstance(source, str | os.PathLike):
        return read_recording(source)
    return list(source.replay_events())


def _prepare(
    source: Source, handlers: Iterable[object], speed: float
) -> tuple[list[Event], _Player]:
    if speed <= 0:
        raise ConfigurationError(f"speed must be positive, not {speed!r}")
    if isinstance(handlers, str | bytes):
        raise ConfigurationError("handlers must be a list of handlers, e.g. [handler]")
    player = _Player(resolve_all(handlers))
    return _events_of(source), player


class _Player:
    """Delivers recorded events as a live run would: every handler gets every
    event (a failing one is logged once per run and counted), then the signals
    (sender None, so receivers connected to every sender get them)."""

    def __init__(self, entries: tuple[Entry, ...]) -> None:
        self.targets: tuple[tuple[Target, ...], ...] = tuple(
            tuple((e, fn, e.is_async[slot]) for e in entries if (fn := e.hooks[slot]) is not None)
            for slot in range(N)
        )
        self.has_async = any(e.has_async for e in entries)
        self.failures = Failures(" while replaying")

    def play(self, event: Event, runner: asyncio.Runner | None) -> None:
        targets = self.targets[event.slot]
        if runner is not None and any(t[2] for t in targets):
            runner.run(adeliver(targets, event, self.failures))
        else:
            deliver(targets, event, self.failures)
        self._after(event)

    async def aplay(self, event: Event) -> None:
        await adeliver(self.targets[event.slot], event, self.failures)
        self._after(event)

    def _after(self, event: Event) -> None:
        if SIGNALS[event.slot].receivers:
            send_signal(event, None, self.failures)
        if event.slot in TERMINAL:
            self.failures.forget(event.run_id)

    def done(self) -> None:
        """The replay is over: raise the first ``raise_error`` failure, if any."""
        error = self.failures.take()
        if error is not None:
            raise error


def replay(
    source: Source,
    handlers: Iterable[object],
    *,
    timing: bool = False,
    speed: float = 1.0,
) -> list[Event]:
    """Play a recording back through ``handlers``: the same events, in the same order.

    ``source`` is a recording's path or a bus (``streamllm.bus``). Each event
    goes to the hook of its kind on every handler, in the order the handlers
    are given, then to the signals, as in a live run. Async handlers are
    awaited on one event loop kept for the whole replay (use :func:`areplay`
    from async code). With ``timing=True`` the original pauses between events
    are kept (divided by ``speed``). A handler that raises is logged once per
    run and counted, and the replay goes on; if it has ``raise_error``, the
    first such failure is raised as a :class:`HandlerError` (the original as
    its cause) once every event was replayed, so the other handlers still see
    every run whole. Returns the events replayed.

    The recording is read and checked completely before any handler sees an
    event, so a bad line never leaves handlers with half a recording.
    """
    events, player = _prepare(source, handlers, speed)
    if player.has_async and _loop_running():
        raise ConfigurationError(
            "replay() cannot run async handlers inside a running event loop: "
            "use 'await areplay(...)'"
        )
    delays = _delays(events, speed) if timing else None
    with contextlib.ExitStack() as stack:
        runner = stack.enter_context(asyncio.Runner()) if player.has_async else None
        for i, event in enumerate(events):
            if delays is not None and delays[i] > 0:
                time.sleep(delays[i])
            player.play(event, runner)
    player.done()
    return events


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def areplay(
    source: Source,
    handlers: Iterable[object],
    *,
    timing: bool = False,
    speed: float = 1.0,
) -> list[Event]:
    """Async :func:`replay`: async hooks are awaited inline, sync hooks called inline.

    The file is read in a worker thread so the loop is not blocked.
    """
    events, player = await asyncio.to_thread(_prepare, source, handlers, speed)
    delays = _delays(events, speed) if timing else None
    for i, event in enumerate(events):
        if delays is not None and delays[i] > 0:
            await asyncio.sleep(delays[i])
        await player.aplay(event)
    player.done()
    return events
