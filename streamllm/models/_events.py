"""``stream_events``: a run's events handed to the consumer as the tokens are pulled."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator

from streamllm.events import Event

__all__ = ["aevents", "events"]


def events(tokens: Iterator[str], buffer: deque[Event]) -> Generator[Event, None, None]:
    """Yield what the run put in ``buffer`` while ``tokens`` is pulled."""
    try:
        for _ in tokens:
            while buffer:
                yield buffer.popleft()
    except Exception:
        while buffer:
            yield buffer.popleft()
        raise
    finally:
        close = getattr(tokens, "close", None)
        if close is not None:
            close()
    while buffer:
        yield buffer.popleft()


async def aevents(tokens: AsyncIterator[str], buffer: deque[Event]) -> AsyncGenerator[Event, None]:
    """Async :func:`events`."""
    try:
        async for _ in tokens:
            while buffer:
                yield buffer.popleft()
    except Exception:
        while buffer:
            yield buffer.popleft()
        raise
    finally:
        aclose = getattr(tokens, "aclose", None)
        if aclose is not None:
            await aclose()
    while buffer:
        yield buffer.popleft()
