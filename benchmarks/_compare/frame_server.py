"""The loopback SSE server in its other shape: one frame per read.

``sse_server.py`` writes each response in one piece, so a client reads many
frames per socket read and the per-read costs (httpx's, the parser's) are
shared by many chunks. Real servers write a frame as a token is ready, and
the client reads each on its own: here every frame is its own HTTP chunk,
written with ``TCP_NODELAY`` and followed by a short pause (longer than a
client needs for one chunk), so that nearly every read carries one frame.
The frames are the same as ``sse_server.py``'s.

    python benchmarks/_compare/frame_server.py     # prints "PORT <n>", serves until stdin closes
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

# Run as a script, this folder is sys.path[0], and its concurrent.py would
# shadow the standard library's: put benchmarks/ there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sse_server import body  # noqa: E402  (the benchmark's frames, shared)

#: Seconds between two frames: more than a client spends on one chunk.
PAUSE = 150e-6


def frames(n: int) -> list[bytes]:
    """The frames of a stream of ``n`` tokens, each as one HTTP chunk."""
    out = []
    for frame in body(n).split(b"\n\n"):
        if frame:
            data = frame + b"\n\n"
            out.append(b"%x\r\n%s\r\n" % (len(data), data))
    return out


_CACHE: dict[int, list[bytes]] = {}


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        sock = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with contextlib.suppress(ConnectionError):
            while True:
                length = 0
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    if line in (b"\r\n", b"\n"):
                        break
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                request = json.loads(self.rfile.read(length)) if length else {}
                n = int(request.get("max_tokens") or 100)
                chunks = _CACHE.get(n) or _CACHE.setdefault(n, frames(n))
                sock.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                    b"transfer-encoding: chunked\r\n\r\n"
                )
                for chunk in chunks:
                    sock.sendall(chunk)
                    time.sleep(PAUSE)
                sock.sendall(b"0\r\n\r\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def serve() -> Iterator[str]:
    """Run the server in a subprocess; yield its ``base_url`` (ending in ``/v1``)."""
    proc = subprocess.Popen(
        [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the frame server did not start: {line!r}")
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


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    server = _Server(("127.0.0.1", 0), _Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # serve until the parent closes our stdin
    server.shutdown()


if __name__ == "__main__":
    main()
