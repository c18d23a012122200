"""A model's own httpx clients: one sync client, one async client per event loop.

An async client's connections belong to the loop that opened them, and a
loop that ends (``asyncio.run`` returns) takes no client with it: kept in a
table, ten ``asyncio.run(model.ainvoke(...))`` would leave ten pools of open
sockets that nothing can close any more. So each async client is tied to its
loop's shutdown: an async generator started on that loop, which
``loop.shutdown_asyncgens()`` (run by ``asyncio.run`` and every runner before
the loop closes) finalises, closes the client while the loop still runs.
``close()`` releases everything that is left.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import threading
from collections.abc import AsyncGenerator, Callable
from typing import Any, final

import httpx

__all__ = ["Clients"]


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    # httpx builds a new SSL context (loading the CA bundle, ~20 ms) for every
    # client; shared, 60 models created on one event loop no longer stall it
    # for a second and a half.
    return httpx.create_ssl_context()


async def _close_at_shutdown(
    client: httpx.AsyncClient, forget: Callable[[], None]
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        forget()
        await client.aclose()


@final
class Clients:
    """The clients a model made: made on first use, closed with the model or
    (async ones) with their loop."""

    __slots__ = ("_by_loop", "_limits", "_lock", "_sync")

    def __init__(self, limits: httpx.Limits) -> None:
        self._limits = limits
        self._lock = threading.Lock()
        self._sync: httpx.Client | None = None
        # loop -> (client, the generator that closes it at the loop's shutdown)
        self._by_loop: dict[asyncio.AbstractEventLoop, tuple[httpx.AsyncClient, Any]] = {}

    @property
    def sync_client(self) -> httpx.Client | None:
        """The sync client, if one was made."""
        return self._sync

    def async_client(self, loop: asyncio.AbstractEventLoop) -> httpx.AsyncClient | None:
        """``loop``'s client, if one was made."""
        entry = self._by_loop.get(loop)
        return entry[0] if entry is not None else None

    def sync(self) -> httpx.Client:
        client = self._sync
        if client is None:
            with self._lock:
                client = self._sync
                if client is None:
                    client = self._sync = httpx.Client(
                        limits=self._limits, verify=_default_ssl_context()
                    )
        return client

    async def for_loop(self) -> httpx.AsyncClient:
        """The running loop's client."""
        loop = asyncio.get_running_loop()
        entry = self._by_loop.get(loop)
        if entry is not None:
            return entry[0]
        client = httpx.AsyncClient(limits=self._limits, verify=_default_ssl_context())
        closer = _close_at_shutdown(client, functools.partial(self._forget, loop, client))
        with self._lock:
            entry = self._by_loop.get(loop)
            if entry is None:
                self._by_loop[loop] = (client, closer)
        if entry is not None:  # another thread made one for this loop first
            await client.aclose()
            return entry[0]
        # Started here, so the loop tracks it and finalises it at shutdown.
        await closer.asend(None)
        return client

    def _forget(self, loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient) -> None:
        with self._lock:
            entry = self._by_loop.get(loop)
            if entry is not None and entry[0] is client:
                del self._by_loop[loop]

    def _take(
        self, loop: asyncio.AbstractEventLoop | None = None
    ) -> list[tuple[asyncio.AbstractEventLoop, Any]]:
        with self._lock:
            if loop is not None:
                entry = self._by_loop.pop(loop, None)
                return [(loop, entry[1])] if entry is not None else []
            taken = [(lp, entry[1]) for lp, entry in self._by_loop.items()]
            self._by_loop.clear()
            return taken

    def close(self) -> None:
        """Close the sync client, and every async client whose loop can still
        run its closing (the current thread's loop gets a task for it)."""
        with self._lock:
            sync, self._sync = self._sync, None
        if sync is not None:
            sync.close()
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for loop, closer in self._take():
            if loop.is_closed():
                continue  # its shutdown already closed the client, or nothing can
            if loop is current:
                _background(loop.create_task(closer.aclose()))
            elif loop.is_running():
                asyncio.run_coroutine_threadsafe(closer.aclose(), loop)
            else:
                loop.run_until_complete(closer.aclose())

    async def aclose(self) -> None:
        """Close this loop's client now, then everything else."""
        for _, closer in self._take(asyncio.get_running_loop()):
            await closer.aclose()
        self.close()


_tasks: set[asyncio.Task[Any]] = set()


def _background(task: asyncio.Task[Any]) -> None:
    # Keep a reference until the task is done (the loop holds only a weak one).
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
