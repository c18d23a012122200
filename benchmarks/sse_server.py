"""A fast loopback server speaking OpenAI's chat-completions streaming format.

It exists so that HTTP benchmarks measure the client, not the server: every
response body is encoded once per token count and then written with a single
``write``. Each chat request streams ``max_tokens`` tokens (or the server's
default count) named ``" t0"``, ``" t1"``, ...; every frame is a
``chat.completion.chunk`` as OpenAI sends it, then a ``finish_reason`` frame, a
usage frame (``choices: []``) and ``data: [DONE]``. HTTP/1.1 keep-alive, so a
client's pool reuses its connections.

    python benchmarks/sse_server.py --tokens 1000     # prints "PORT <n>", serves until stdin closes

From Python, :func:`serve` starts it in a subprocess (so its CPU time is not
the benchmark's) and yields the ``base_url`` to give a client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator

__all__ = ["body", "expected_tokens", "serve", "token"]

_PREFIX = b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":0,'
_PREFIX += b'"model":"bench","choices":[{"index":0,"delta":{"content":'
_SUFFIX = b'},"finish_reason":null}]}\n\n'


def token(i: int) -> str:
    """The ``i``-th token of every stream."""
    return f" t{i}"


def expected_tokens(n: int) -> list[str]:
    """The tokens a stream of ``n`` carries, in order."""
    return [token(i) for i in range(n)]


def body(n: int) -> bytes:
    """The whole SSE body of a stream of ``n`` tokens."""
    frames = [_PREFIX + json.dumps(t).encode() + _SUFFIX for t in expected_tokens(n)]
    frames.append(
        b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":0,'
        b'"model":"bench","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    )
    frames.append(
        b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":0,'
        b'"model":"bench","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":'
        + str(n).encode()
        + b',"total_tokens":'
        + str(n + 1).encode()
        + b"}}\n\n"
    )
    frames.append(b"data: [DONE]\n\n")
    return b"".join(frames)


class _Server:
    def __init__(self, default_tokens: int) -> None:
        self.default_tokens = default_tokens
        self.responses: dict[int, bytes] = {}

    def response(self, n: int) -> bytes:
        cached = self.responses.get(n)
        if cached is None:
            payload = body(n)
            cached = self.responses[n] = (
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"cache-control: no-cache\r\ncontent-length: "
                + str(len(payload)).encode()
                + b"\r\n\r\n"
                + payload
            )
        return cached

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                request = json.loads(await reader.readexactly(length)) if length else {}
                n = request.get("max_tokens") or self.default_tokens
                writer.write(self.response(int(n)))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:
            # Shutdown with idle keep-alive connections open: end quietly
            # (a cancelled handler task is logged as an error by asyncio).
            pass
        finally:
            writer.close()


async def _main(default_tokens: int) -> None:
    app = _Server(default_tokens)
    app.response(default_tokens)  # encoded before the first request
    server = await asyncio.start_server(app.handle, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Serve until the parent closes our stdin (or dies).
    threading.Thread(
        target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(stop.set)), daemon=True
    ).start()
    async with server:
        await stop.wait()


@contextlib.contextmanager
def serve(tokens: int = 1000) -> Iterator[str]:
    """Run the server in a subprocess; yield its ``base_url`` (ending in ``/v1``)."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--tokens", str(tokens)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the SSE server did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[1])}/v1"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=1000, help="tokens per stream by default")
    asyncio.run(_main(parser.parse_args().tokens))
