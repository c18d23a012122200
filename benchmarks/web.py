"""Load and faults on the web server: many SSE clients, reconnects, stalled readers.

Starts ``create_app`` under uvicorn in a child process (one server process),
starts ``--runs`` runs of a fake model and follows them with ``--clients`` SSE
connections of our own async client (benchmarks/web_client.py), of which
``--reconnecting`` cut their connection at a random point and resume with
``Last-Event-ID`` (again and again) and ``--stalled`` never read at all. Then it
checks, and exits 1 when any check fails:

- every client got every event of its run, in order, once (ids and text equal
  a fresh replay of the run);
- the stalled clients were dropped by the server (its ``/stats``) while the
  others streamed;

and prints the token-to-client latency (an event's own ``time`` to its arrival at the
client's socket, by the kernel's receive timestamp, and in the client's loop,
for events that arrived live), the server's memory (RSS) and the wall time.

    python benchmarks/web.py                                  # the full size
    python benchmarks/web.py --clients 100 --runs 10 --reconnecting 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from web_client import Received, follow

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent


# -- the server (child process) ---------------------------------------------------------


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from streamllm.models.fake import FakeListLLM, split_words
    from streamllm.web import create_app
    from streamllm.web.process import tune_gc

    words = " ".join(f"w{i}" for i in range(args.tokens))

    class LoadModel(FakeListLLM):
        """The fake model; the prompt 'big' gets 4,000 tokens of a kilobyte each,
        enough to fill any socket buffer of a client that does not read."""

        async def _astream(self, request: Any) -> Any:
            if request.prompt == "big":
                for i in range(4000):
                    await asyncio.sleep(0)
                    yield _chunk(f"{i:05d}" + "x" * 1000)
                yield _chunk("", "stop")
                return
            # Every client connects while the runs wait: the figures are of streaming.
            await asyncio.sleep(args.warmup)
            async for chunk in super()._astream(request):
                yield chunk

    model = LoadModel(responses=[split_words(words)], delay=args.delay)
    app = create_app(model, stall_timeout=args.stall, max_running=args.runs + args.stalled + 8)
    config = uvicorn.Config(
        app, host=HOST, port=args.serve, log_level="warning", backlog=4096,
        timeout_graceful_shutdown=5,
    )  # fmt: skip
    pauses = _gc_pauses()

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            await super().shutdown(sockets)
            # Here: uvicorn ends the process with the SIGTERM it caught once run() returns.
            _report_gc(pauses)

    server = Server(config)
    if not args.default_gc:
        tune_gc()  # as streamllm serve does
    if args.profile is None:
        server.run()
        return
    import cProfile
    import signal

    profiler = cProfile.Profile()
    signal.signal(signal.SIGTERM, lambda *_: server.handle_exit(signal.SIGTERM, None))
    profiler.runcall(server.run)
    profiler.dump_stats(args.profile)


def _gc_pauses() -> list[tuple[int, float]]:
    """Record the server's garbage collections (generation, seconds): a long one
    holds every client back at once and shows in the latency's tail."""
    pauses: list[tuple[int, float]] = []
    began = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            pauses.append((info["generation"], time.perf_counter() - began[0]))

    gc.callbacks.append(on_gc)
    return pauses


def _report_gc(pauses: list[tuple[int, float]]) -> None:
    for gen in range(3):
        took = [p for g, p in pauses if g == gen]
        if took:
            print(
                f"server GC gen{gen}: {len(took)} collections, "
                f"max {max(took) * 1000:.1f} ms, total {sum(took) * 1000:.0f} ms",
                file=sys.stderr,
            )


def _chunk(text: str, finish: str | None = None) -> Any:
    from streamllm.outputs import GenerationChunk

    return GenerationChunk(text, finish_reason=finish)


# -- the load ---------------------------------------------------------------------------


@dataclass
class Client:
    run: str
    reconnect: bool = False
    segments: list[Received] = field(default_factory=list)

    @property
    def ids(self) -> list[str | None]:
        return [f[0] for s in self.segments for f in s.frames]

    @property
    def text(self) -> str:
        return "".join(
            f[2]["token"] for s in self.segments for f in s.frames if f[1] == "new_token"
        )


async def _client(client: Client, port: int, rng: random.Random, total: int) -> None:
    last: str | None = None
    while True:
        cut = rng.randint(1, max(2, total // 3)) if client.reconnect else None
        got = await follow(
            HOST, port, f"/runs/{client.run}/events", last_event_id=last, stop_after=cut
        )
        client.segments.append(got)
        last = got.last_id() or last
        if got.ended or (got.raw and _is_terminal(got.raw[-1][0])):
            return
        if not client.reconnect and not got.dropped_notice:
            return


def _is_terminal(raw: bytes) -> bool:
    return b"\nevent: llm_end\n" in raw or b"\nevent: llm_error\n" in raw


async def _rss(pid: int, samples: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(OSError):
            for line in _read(f"/proc/{pid}/status").splitlines():
                if line.startswith("VmRSS:"):
                    samples.append(int(line.split()[1]))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.1)


def _read(path: str) -> str:
    with open(path) as file:  # /proc: never blocks
        return file.read()


def _cpu_seconds(pid: int) -> float:
    fields = _read(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


async def _ready(http: httpx.AsyncClient, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if (await http.get("/stats")).status_code == 200:
                return
        await asyncio.sleep(0.1)
    raise SystemExit("the server did not start")


async def _ended(http: httpx.AsyncClient, runs: list[str]) -> None:
    while True:
        states = {r["run_id"]: r["state"] for r in (await http.get("/runs")).json()["runs"]}
        if all(states.get(r) != "running" for r in runs):
            return
        await asyncio.sleep(0.1)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def load(args: argparse.Namespace) -> int:
    port = _free_port()
    cmd = [sys.executable, __file__, "--serve", str(port), "--tokens", str(args.tokens)]
    cmd += ["--delay", str(args.delay), "--stall", str(args.stall), "--runs", str(args.runs)]
    cmd += ["--stalled", str(args.stalled), "--warmup", str(args.warmup)]
    cmd += ["--default-gc"] if args.default_gc else []
    if args.profile:
        cmd += ["--profile", args.profile]
    proc = subprocess.Popen(cmd, cwd=ROOT)  # noqa: ASYNC220 - starts before any load
    rng = random.Random(args.seed)
    print(f"seed {args.seed}")
    failures: list[str] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=30) as http:
            await _ready(http, proc)
            rss: list[int] = []
            stop = asyncio.Event()
            sampler = asyncio.create_task(_rss(proc.pid, rss, stop))
            await asyncio.sleep(0.3)
            baseline = rss[-1] if rss else 0
            started = time.perf_counter()
            stalled_runs = [
                (await http.post("/runs", json={"input": "big"})).json()["run_id"]
                for _ in range(args.stalled)
            ]
            stalled = [
                asyncio.create_task(
                    follow(HOST, port, f"/runs/{r}/events", read=False, rcvbuf=4096)
                )
                for r in stalled_runs
            ]
            await _ended(http, stalled_runs)  # their burst is over before the load starts
            runs = [
                (await http.post("/runs", json={"input": "go"})).json()["run_id"]
                for _ in range(args.runs)
            ]
            clients = [Client(runs[i % len(runs)]) for i in range(args.clients)]
            for c in rng.sample(clients, min(args.reconnecting, len(clients))):
                c.reconnect = True
            expected = args.tokens + 2
            await asyncio.gather(*(_client(c, port, rng, expected) for c in clients))
            elapsed = time.perf_counter() - started
            cpu = (_cpu_seconds(proc.pid), time.process_time())
            # The stalled clients are dropped after --stall seconds without progress.
            deadline = time.monotonic() + args.stall + 10
            while True:
                stats = (await http.get("/stats")).json()
                if stats["streams"]["open"] == 0 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            pending = [t for t in stalled if not t.done()]
            stop.set()
            await sampler
            reference = {r: await follow(HOST, port, f"/runs/{r}/events") for r in runs}
            failures += _check(clients, reference, stats, args)
            _report(clients, rss, baseline, elapsed, stats, args)
            print(
                f"CPU s during the load: server {cpu[0]:.1f}, clients {cpu[1]:.1f} "
                f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 20)
    for failure in failures[:20]:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


def _check(
    clients: list[Client],
    reference: dict[str, Received],
    stats: dict[str, Any],
    args: Any,
) -> list[str]:
    failures = []
    for i, c in enumerate(clients):
        ref = reference[c.run]
        want_ids = [f[0] for f in ref.frames]
        want_text = "".join(f[2]["token"] for f in ref.frames if f[1] == "new_token")
        if c.ids != want_ids:
            at = next(
                (k for k, (a, b) in enumerate(zip(c.ids, want_ids, strict=False)) if a != b), None
            )
            failures.append(
                f"client {i} ({'reconnecting' if c.reconnect else 'plain'}): ids differ at {at} "
                f"({len(c.ids)} vs {len(want_ids)}; segments {[len(s.frames) for s in c.segments]}"
                f"; around {c.ids[max(0, (at or 0) - 2) : (at or 0) + 2]}"
                f" want {want_ids[max(0, (at or 0) - 2) : (at or 0) + 2]})"
            )
        if c.text != want_text:
            failures.append(f"client {i}: text differs ({len(c.text)} vs {len(want_text)} chars)")
        if ref.frames[-1][1] != "llm_end":
            failures.append(f"run {c.run} ended with {ref.frames[-1][1]}")
    if stats["streams"]["dropped"] < args.stalled:
        failures.append(f"{args.stalled} stalled clients, {stats['streams']['dropped']} dropped")
    if stats["streams"]["open"]:
        failures.append(f"the server still holds {stats['streams']['open']} streams")
    return failures


def _report(
    clients: list[Client], rss: list[int], baseline: int, elapsed: float, stats: Any, args: Any
) -> None:
    # Live tokens only (made after the client's response began): at the client's
    # socket (the kernel's receive timestamp) and in the client's own loop.
    latencies, looped = [], []
    for c in clients:
        for segment in c.segments:
            for _, kind, event, arrived, seen in segment.frames:
                if kind == "new_token" and event["time"] > segment.headers_at:
                    latencies.append((arrived - event["time"]) * 1000)
                    looped.append((seen - event["time"]) * 1000)
    reconnects = sum(len(c.segments) - 1 for c in clients)
    events = sum(len(s.frames) for c in clients for s in c.segments)
    print(
        f"clients {len(clients)} on {args.runs} runs of {args.tokens} tokens "
        f"(delay {args.delay * 1000:.0f} ms), {args.reconnecting} reconnecting "
        f"({reconnects} reconnects), {args.stalled} stalled"
    )
    print(f"events delivered {events} in {elapsed:.2f} s ({events / elapsed:,.0f}/s)")
    for name, values in (("at the socket", latencies), ("in the client loop", looped)):
        if values:
            print(
                f"token-to-client latency ms, {name}: p50 {statistics.median(values):.1f} "
                f"p99 {_percentile(values, 0.99):.1f} max {max(values):.1f} "
                f"({len(values)} live tokens)"
            )
    if rss:
        print(
            f"server RSS MiB: baseline {baseline / 1024:.1f} peak {max(rss) / 1024:.1f} "
            f"end {rss[-1] / 1024:.1f}"
        )
    print(f"server streams: {stats['streams']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--tokens", type=int, default=100)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--reconnecting", type=int, default=200)
    parser.add_argument("--stalled", type=int, default=2)
    parser.add_argument("--stall", type=float, default=2.0, help="server's stall timeout, s")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="pause before a run's first token, s"
    )
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SEED", "1")))
    parser.add_argument("--profile", metavar="FILE", help="cProfile the server into FILE")
    parser.add_argument(
        "--default-gc", action="store_true", help="serve with CPython's GC settings (A/B)"
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return 0
    try:
        import uvloop

        factory: Any = uvloop.new_event_loop
    except ImportError:
        factory = None
    # The clients keep every frame they got (to check them): with the collector on,
    # its full passes over them would stall the clients and show as latency.
    gc.disable()
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(load(args))


if __name__ == "__main__":
    sys.exit(main())
