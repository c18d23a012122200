"""Over HTTP against the loopback SSE servers: streamllm's ChatOpenAI against
the openai SDK and the floor (httpx's line iterator plus ``json.loads``).

Two server shapes: the whole body in one write (many frames per read:
``sse_server.py``) and one frame per read (``_compare/frame_server.py``),
labelled ", one frame per read"; the per-read costs weigh on the second."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from _compare.common import Counter, Row, cpu, interleave
from streamllm.models.openai import ChatOpenAI

try:
    import openai

    HAVE_OPENAI = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_OPENAI = False

SDK = "openai SDK"
FLOOR = "floor: httpx iter_lines + json.loads"
MESSAGES = [{"role": "user", "content": "hi"}]


def _target(other: str, shape: str) -> float | None:
    # Against the bare floor: at most 1.3 times its cost, in both shapes (issue
    # 11.11). Against the SDK: at least 10 times cheaper where reads carry many
    # frames; with one frame per read the kernel's share is the same for all.
    if other == FLOOR:
        return 1.3
    return 10 if other == SDK and not shape else None


def _check(n: int, got: int, what: str) -> None:
    if got != n:
        raise AssertionError(f"{what}: {got} tokens of {n}")


def _floor_count(lines: Any) -> int:
    got = 0
    for line in lines:
        if line.startswith("data: ") and line != "data: [DONE]":
            frame = json.loads(line[6:])
            choices = frame["choices"]
            if choices and choices[0]["delta"].get("content"):
                got += 1
    return got


def sync_rows(url: str, n: int, repeat: int, shape: str = "") -> list[Row]:
    """CPU µs per streamed chunk, sync clients, one handler (or loop) counting."""
    model = ChatOpenAI(base_url=url, api_key="bench", model="bench", max_tokens=n)
    floor = httpx.Client()
    body = {
        "model": "bench",
        "messages": MESSAGES,
        "stream": True,
        "max_tokens": n,
        "stream_options": {"include_usage": True},
    }

    def ours() -> float:
        handler = Counter()
        seconds = cpu(lambda: sum(1 for _ in model.stream("hi", callbacks=[handler])))
        _check(n, handler.n, "ChatOpenAI.stream")
        return seconds / n * 1e6

    def line_floor() -> float:
        got = 0

        def go() -> None:
            nonlocal got
            with floor.stream("POST", url + "/chat/completions", json=body) as response:
                got = _floor_count(response.iter_lines())

        seconds = cpu(go)
        _check(n, got, "floor")
        return seconds / n * 1e6

    fns: dict[str, Callable[[], float]] = {"streamllm": ours, FLOOR: line_floor}
    if HAVE_OPENAI:
        client = openai.OpenAI(base_url=url, api_key="bench")

        def sdk() -> float:
            got = 0

            def go() -> None:
                nonlocal got
                stream = client.chat.completions.create(
                    model="bench",
                    messages=MESSAGES,
                    stream=True,
                    max_tokens=n,  # type: ignore[arg-type]
                    stream_options={"include_usage": True},
                )
                for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        got += 1

            seconds = cpu(go)
            _check(n, got, SDK)
            return seconds / n * 1e6

        fns[SDK] = sdk
    try:
        times = interleave(fns, repeat)
    finally:
        model.close()
        floor.close()
        if HAVE_OPENAI:
            client.close()
    label = f"HTTP stream(){shape}, CPU per chunk, 1 handler"
    return [
        Row(label, "µs/chunk", times["streamllm"], k, v, target=_target(k, shape), lower=k == FLOOR)
        for k, v in times.items()
        if k != "streamllm"
    ]


def async_rows(url: str, n: int, repeat: int, shape: str = "") -> list[Row]:
    """The same with async clients, all on one event loop kept across rounds."""
    loop = asyncio.new_event_loop()
    model = ChatOpenAI(base_url=url, api_key="bench", model="bench", max_tokens=n)
    floor = httpx.AsyncClient()
    body = {
        "model": "bench",
        "messages": MESSAGES,
        "stream": True,
        "max_tokens": n,
        "stream_options": {"include_usage": True},
    }

    def timed(make: Callable[[], Coroutine[Any, Any, int]], what: str) -> Callable[[], float]:
        def run() -> float:
            got: list[int] = []
            seconds = cpu(lambda: got.append(loop.run_until_complete(make())))
            _check(n, got[0], what)
            return seconds / n * 1e6

        return run

    async def ours() -> int:
        handler = Counter()
        async for _ in model.astream("hi", callbacks=[handler]):
            pass
        return handler.n

    async def line_floor() -> int:
        got = 0
        async with floor.stream("POST", url + "/chat/completions", json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    choices = json.loads(line[6:])["choices"]
                    if choices and choices[0]["delta"].get("content"):
                        got += 1
        return got

    fns = {"streamllm": timed(ours, "ChatOpenAI.astream"), FLOOR: timed(line_floor, "floor")}
    if HAVE_OPENAI:
        client = openai.AsyncOpenAI(base_url=url, api_key="bench")

        async def sdk() -> int:
            got = 0
            stream = await client.chat.completions.create(
                model="bench",
                messages=MESSAGES,
                stream=True,
                max_tokens=n,  # type: ignore[arg-type]
                stream_options={"include_usage": True},
            )
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    got += 1
            return got

        fns[SDK] = timed(sdk, SDK)
    try:
        times = interleave(fns, repeat)
    finally:
        loop.run_until_complete(model.aclose())
        loop.run_until_complete(floor.aclose())
        if HAVE_OPENAI:
            loop.run_until_complete(client.close())
        # What asyncio.run does: finalise async generators left suspended
        # (the SDK's stream iterators) while the loop still runs.
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    label = f"HTTP astream(){shape}, CPU per chunk, 1 handler"
    return [
        Row(label, "µs/chunk", times["streamllm"], k, v, target=_target(k, shape), lower=k == FLOOR)
        for k, v in times.items()
        if k != "streamllm"
    ]
