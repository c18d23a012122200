"""Helpers for the HTTP provider tests: run a stream either way, inspect the pool."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from streamllm.models.base import LLMInput
from streamllm.models.http import HTTPChatProvider, HTTPProvider

Model = HTTPProvider | HTTPChatProvider


def text_of(chunk: Any) -> str:
    """A text model's chunk is its text; a chat chunk's text is its text pieces'."""
    return chunk if isinstance(chunk, str) else str(chunk.text)


def busy_connections(client: httpx.Client | httpx.AsyncClient | None) -> int:
    """Connections of ``client``'s pool that are in use (neither idle nor closed),
    plus requests still waiting for one."""
    if client is None:
        return 0
    pool: Any = client._transport._pool  # type: ignore[union-attr]
    busy = [c for c in pool.connections if not (c.is_idle() or c.is_closed())]
    return len(busy) + len(pool._requests)


def model_client(model: Model, mode: str) -> httpx.Client | httpx.AsyncClient | None:
    """The client the model made for ``mode`` ("sync" or "async")."""
    clients = model._clients
    if mode == "sync":
        return clients.sync_client
    return clients.async_client(asyncio.get_running_loop())


async def run_stream(
    model: Model, mode: str, prompt: LLMInput = "hi", **kwargs: Any
) -> tuple[list[str], BaseException | None]:
    """Stream ``prompt`` sync or async; return the tokens (the non-empty texts of
    the chunks) and the error raised, if any."""
    tokens: list[str] = []
    try:
        if mode == "sync":
            for chunk in model.stream(prompt, **kwargs):
                if text_of(chunk):
                    tokens.append(text_of(chunk))
        else:
            async for chunk in model.astream(prompt, **kwargs):
                if text_of(chunk):
                    tokens.append(text_of(chunk))
    except Exception as exc:
        return tokens, exc
    return tokens, None


def other_tasks() -> set[asyncio.Task[Any]]:
    """Tasks of the running loop other than the current one."""
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}
