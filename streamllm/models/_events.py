"""``stream_events``: a run's events handed to the consumer as the tokens are pulled."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator

from streamllm.events import Event

__all__ = ["aevents", "events"]


def _flush(buffer: deque[Event]) -> list[Event]:
    out = list(buffer)
    buffer.clear()
    return out


def events(tokens: Iterator[str], buffer: deque[Event]) -> Generator[Event, None, None]:
    """Yield what the run put in ``buffer`` while ``tokens`` is pulled; the
    events of a failed run come out before its exception."""
    try:
        for _ in tokens:
            while buffer:  # the per-token path: no list, no call
                yield buffer.popleft()
    except Exception:
        yield from _flush(buffer)
        raise
    finally:
        close = getattr(tokens, "close", None)
        if close is not None:
            close()
    yield from _flush(buffer)


async def aevents(tokens: AsyncIterator[str], buffer: deque[Event]) -> AsyncGenerator[Event, None]:
    """Async :func:`events`."""
    try:
        async for _ in tokens:
            while buffer:  # the per-token path: no list, no call
                yield buffer.popleft()
    except Exception:
        for event in _flush(buffer):
            yield event
        raise
    finally:
        aclose = getattr(tokens, "aclose", None)
        if aclose is not None:
            await aclose()
    for event in _flush(buffer):
        yield event
