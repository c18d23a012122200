"""JSONLRecorder writes every event to a JSON Lines file; replay() plays one back.

A recording is a header line, ``{"streamllm_schema": SCHEMA_VERSION, ...}``,
then one event per line, exactly as ``event.model_dump_json()`` writes it, in
the order the recorder saw the events.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from streamllm.callbacks.base import CallbackHandler
from streamllm.callbacks.registry import Entry, resolve_all
from streamllm.errors import ConfigurationError, HandlerError, StreamLLMError
from streamllm.events import (
    SCHEMA_VERSION,
    BaseEvent,
    ChainEnd,
    ChainError,
    ChainStart,
    Event,
    LLMEnd,
    LLMError,
    LLMStart,
    NewToken,
    parse_event,
)

__all__ = ["JSONLRecorder", "RecordingError", "areplay", "read_recording", "replay"]

HEADER_KEY = "streamllm_schema"


class RecordingError(StreamLLMError, ValueError):
    """A recording that cannot be read: no header, or a line that is not an event.

    ``path`` and ``line`` (1-based) say where.
    """

    def __init__(self, message: str, *, path: str, line: int | None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


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
        line = event.model_dump_json() + "\n"
        with self._lock:
            file = self._file
            if file is None:
                raise ValueError(f"JSONLRecorder({str(self.path)!r}) is closed")
            file.write(line)
            if flush:
                file.flush()

    def on_llm_start(self, event: LLMStart) -> None:
        self._write(event, False)

    def on_llm_new_token(self, event: NewToken) -> None:
        self._write(event, False)

    def on_llm_end(self, event: LLMEnd) -> None:
        self._write(event, True)

    def on_llm_error(self, event: LLMError) -> None:
        self._write(event, True)

    def on_chain_start(self, event: ChainStart) -> None:
        self._write(event, False)

    def on_chain_end(self, event: ChainEnd) -> None:
        self._write(event, True)

    def on_chain_error(self, event: ChainError) -> None:
        self._write(event, True)

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
                    f"{name} line {number}: expected an event object, got "
                    f"{type(data).__name__}",
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


def _failure(entry: Entry, event: Event, exc: Exception) -> HandlerError:
    error = HandlerError(
        f"handler {entry.name} failed on {event.type} while replaying: "
        f"{type(exc).__name__}: {exc}",
        handler=entry.handler,
        event=event,
    )
    error.__cause__ = exc
    return error


def _prepare(
    path: str | os.PathLike[str], handlers: Iterable[object], speed: float
) -> tuple[list[Event], tuple[Entry, ...]]:
    if speed <= 0:
        raise ConfigurationError(f"speed must be positive, not {speed!r}")
    if isinstance(handlers, str | bytes):
        raise ConfigurationError("handlers must be a list of handlers, e.g. [handler]")
    entries = resolve_all(handlers)
    return read_recording(path), entries


def replay(
    path: str | os.PathLike[str],
    handlers: Iterable[object],
    *,
    timing: bool = False,
    speed: float = 1.0,
) -> list[Event]:
    """Play a recording back through ``handlers``: the same events, in the same order.

    Each event goes to the hook of its kind on every handler, in the order the
    handlers are given. Async handlers are awaited on one event loop kept for
    the whole replay (use :func:`areplay` from async code). With ``timing=True``
    the original pauses between events are kept (divided by ``speed``). A
    handler that raises stops the replay with a :class:`HandlerError` (the
    original as its cause). Returns the events replayed.

    The recording is read and checked completely before any handler sees an
    event, so a bad line never leaves handlers with half a recording.
    """
    events, entries = _prepare(path, handlers, speed)
    if any(e.has_async for e in entries) and _loop_running():
        raise ConfigurationError(
            "replay() cannot run async handlers inside a running event loop: "
            "use 'await areplay(...)'"
        )
    delays = _delays(events, speed) if timing else None
    runner: asyncio.Runner | None = None
    try:
        for i, event in enumerate(events):
            if delays is not None and delays[i] > 0:
                time.sleep(delays[i])
            for entry in entries:
                fn = entry.hooks[event.kind]
                if fn is None:
                    continue
                try:
                    if entry.is_async[event.kind]:
                        if runner is None:
                            runner = asyncio.Runner()
                        runner.run(_awaited(fn, event))
                    else:
                        fn(event)
                except Exception as exc:
                    raise _failure(entry, event, exc) from exc
    finally:
        if runner is not None:
            runner.close()
    return events


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def _awaited(fn: Callable[[Any], Awaitable[Any]], event: Event) -> None:
    await fn(event)


async def areplay(
    path: str | os.PathLike[str],
    handlers: Iterable[object],
    *,
    timing: bool = False,
    speed: float = 1.0,
) -> list[Event]:
    """Async :func:`replay`: async hooks are awaited inline, sync hooks called inline.

    The file is read in a worker thread so the loop is not blocked.
    """
    events, entries = await asyncio.to_thread(_prepare, path, handlers, speed)
    delays = _delays(events, speed) if timing else None
    for i, event in enumerate(events):
        if delays is not None and delays[i] > 0:
            await asyncio.sleep(delays[i])
        for entry in entries:
            fn = entry.hooks[event.kind]
            if fn is None:
                continue
            try:
                if entry.is_async[event.kind]:
                    await fn(event)
                else:
                    fn(event)
            except Exception as exc:
                raise _failure(entry, event, exc) from exc
    return events
