"""The bus on Redis, side by side with the floor: raw redis-py pipelined XADDs.

Starts its own redis-server on a free 127.0.0.1 port (or uses ``--url``) and
prints, in one run:

1. the cost BusPublisher adds on the model's thread, per token (its
   ``on_event`` alone, and a model run with it against a run with a no-op
   handler that receives the same events);
2. publishing throughput, events/s: BusPublisher (JSON, ids, the writer
   thread's pipelines) against raw redis-py pipelined ``XADD``s of the same
   JSON payloads, serialised beforehand (the I/O floor) and serialised per
   event (what a hand-written publisher does), and the ratios;
3. cross-process latency: ``--runs`` concurrent runs stream while a
   subscriber in another process follows one of them (and, second figure, one
   subscriber follows all of them, as ``streamllm tail`` does); the time from a
   token's event (its ``time`` field) to the subscriber having it decoded,
   median and p99.

    python benchmarks/bus.py           # the full size
    python benchmarks/bus.py --tiny    # a smoke run for CI (figures not meaningful)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from streamllm import FakeListLLM
from streamllm.bus import BusPublisher, RedisBus
from streamllm.bus.follow import trace_key
from streamllm.events import BaseEvent

_MAXLEN = 10_000_000  # both sides cap the same way, and nothing is trimmed here
TARGETS = {"per_token_us": 1.0, "throughput_ratio": 0.8, "median_ms": 2.0, "p99_ms": 10.0}


def start_redis(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--save", "",
         "--appendonly", "no", "--protected-mode", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            RedisBus(url).ping()
            return proc, url
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Noop:
    """A handler that receives every event and does nothing (the baseline)."""

    def __call__(self, event: BaseEvent) -> None:
        pass

    def flush(self, timeout: float) -> bool:
        return True


class Keeper:
    """A handler that only keeps every event until the next run (no I/O, no thread):
    what holding events costs the model thread in garbage collections alone."""

    def __init__(self) -> None:
        self.kept: list[BaseEvent] = []

    def __call__(self, event: BaseEvent) -> None:
        self.kept.append(event)

    def flush(self, timeout: float) -> bool:
        self.kept = []
        return True


def run_events(tokens: int) -> list[BaseEvent]:
    seen: list[BaseEvent] = []
    words = " ".join(f"tok{i}" for i in range(tokens))
    FakeListLLM(responses=[words]).invoke("hi", callbacks=[seen.append])
    return seen


def per_token(url: str, tokens: int, repeat: int) -> dict[str, float]:
    """µs per token on the model's thread, in that thread's own CPU time.

    ``on_event``: the call alone. ``full_speed``: a model run streaming as fast
    as Python goes with the publisher, against one with a no-op handler that
    receives the same events; the writer thread is busy all along and the two
    threads trade the GIL and the caches: the worst case. (A paced run, with a
    sleep between tokens, costs tens of µs per token in the sleep itself on a
    shared machine: the difference drowns in that noise, so it is not shown.)
    ``no_gc``: the same with the garbage collector off. ``keep``: a handler
    that only keeps every event, against the no-op one. At full speed the model
    outruns the writer, the backlog of live events grows, and the collections
    it sets off run on the model's thread: ``keep`` shows that part of the cost
    is holding events at all, not the publisher's own work.
    """
    events = run_events(tokens)
    bus = RedisBus(url)
    direct = []
    for _ in range(repeat):
        publisher = BusPublisher(bus, maxsize=len(events) + 1)
        gc.collect()
        start = time.thread_time()  # this thread's CPU: not the writer's, nor GIL waits
        for event in events:
            publisher.on_event(event)
        direct.append((time.thread_time() - start) / len(events))
        publisher.close(60)
    publisher = BusPublisher(bus, maxsize=tokens * 2)

    def added(n: int, collect: bool = True) -> dict[str, float]:
        """µs per token over the no-op handler: the publisher's, and a Keeper's."""
        model = FakeListLLM(responses=[" ".join(f"tok{i}" for i in range(n))])
        best = {}
        for name, handler in (("noop", Noop()), ("bus", publisher), ("keep", Keeper())):
            cpu = float("inf")
            for _ in range(repeat):
                gc.collect()
                if not collect:
                    gc.disable()
                start = time.thread_time()
                model.invoke("hi", callbacks=[handler])
                cpu = min(cpu, time.thread_time() - start)
                gc.enable()
                handler.flush(60)
            best[name] = cpu
        return {k: max(0.0, best[k] - best["noop"]) / n * 1e6 for k in ("bus", "keep")}

    full, quiet = added(tokens), added(tokens, collect=False)
    figures = {"on_event": min(direct) * 1e6, "full_speed": full["bus"], "keep": full["keep"],
               "no_gc": quiet["bus"]}  # fmt: skip
    publisher.close(60)
    bus.close()
    return figures


def throughput(url: str, tokens: int, repeat: int) -> tuple[float, float, float]:
    """Events per second: raw pipelined XADDs of the same JSON (already serialised,
    and serialised per event as a hand-written publisher would), and BusPublisher."""
    events = run_events(tokens)
    payloads = [e.model_dump_json() for e in events]
    bus = RedisBus(url, maxlen=_MAXLEN)
    client = bus.client
    key = trace_key(events[0].trace_id)

    def raw(bodies: Any) -> float:
        client.delete(key)
        gc.collect()
        start = time.perf_counter()
        for i in range(0, len(events), 512):
            pipe = client.pipeline(transaction=False)
            for body in bodies(i):
                pipe.execute_command("XADD", key, "MAXLEN", "~", _MAXLEN, "*", "v", "1", "e", body)
            pipe.execute()
        return len(events) / (time.perf_counter() - start)

    def publisher() -> float:
        client.delete(key)
        publisher = BusPublisher(bus, maxsize=len(events) + 1)
        gc.collect()
        start = time.perf_counter()
        for event in events:
            publisher.on_event(event)
        assert publisher.flush(120)
        rate = len(events) / (time.perf_counter() - start)
        publisher.close(10)
        assert client.xlen(key) == len(events)
        return rate

    floor, floor_json, ours = [], [], []
    for _ in range(repeat):  # interleaved, so a busy moment of the machine hits all three
        floor.append(raw(lambda i: payloads[i : i + 512]))
        floor_json.append(raw(lambda i: (e.model_dump_json() for e in events[i : i + 512])))
        ours.append(publisher())
    bus.close()
    return max(floor), max(floor_json), max(ours)


def subscriber(url: str, out: str, follow: str) -> None:
    """In the other process: follow one trace (``follow`` its id) or every trace
    (``follow`` = how many runs to wait for), noting when each token arrives."""
    bus = RedisBus(url)
    bus.ping()
    lags = []
    ends = 0
    one = "-" in follow
    Path(out + ".ready").touch()
    for _, item in bus.subscribe(follow if one else None, after="0" if one else "$"):
        now = time.time()
        kind = getattr(item, "type", "")
        if kind == "new_token":
            lags.append(now - item.time)
        elif kind == "llm_end" and not one:
            ends += 1
            if ends == int(follow):
                break
    Path(out).write_text(json.dumps(lags))


def latency(
    url: str, runs: int, tokens: int, delay: float, every: bool
) -> tuple[float, float, int]:
    """Median and p99 ms from a token's event (its ``time``) to a subscriber in
    another process having it decoded, while ``runs`` runs stream at once: the
    subscriber follows one of them (``every=False``) or all of them."""
    run_ids = [uuid.uuid4() for _ in range(runs)]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "lags.json")
        follow = str(runs) if every else str(run_ids[0])
        proc = subprocess.Popen([sys.executable, __file__, "--subscriber", url, out, follow])
        deadline = time.monotonic() + 30
        while not os.path.exists(out + ".ready"):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the subscriber did not start")
            time.sleep(0.05)
        time.sleep(0.3)
        bus = RedisBus(url)
        publisher = BusPublisher(bus)
        words = " ".join(f"tok{i}" for i in range(tokens))
        model = FakeListLLM(responses=[words], delay=delay)

        async def main() -> None:
            await asyncio.gather(
                *(model.ainvoke("hi", callbacks=[publisher], run_id=r) for r in run_ids)
            )

        asyncio.run(main())
        assert publisher.close(60)
        proc.wait(120)
        lags = sorted(json.loads(Path(out).read_text()))
        bus.close()
    ms = [lag * 1000 for lag in lags]
    return statistics.median(ms), ms[min(len(ms) - 1, int(len(ms) * 0.99))], len(ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an existing Redis (default: start one)")
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runs", type=int, default=100, help="concurrent runs (latency)")
    parser.add_argument("--run-tokens", type=int, default=200, help="tokens per run (latency)")
    parser.add_argument("--delay", type=float, default=0.01, help="seconds between tokens")
    parser.add_argument("--tiny", action="store_true", help="a smoke run (CI)")
    parser.add_argument(
        "--switch-interval",
        type=float,
        help="sys.setswitchinterval for the producing process (Python's default: 0.005 s)",
    )
    parser.add_argument("--subscriber", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.subscriber:
        subscriber(*args.subscriber)
        return
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    if args.tiny:
        args.tokens, args.repeat, args.runs, args.run_tokens = 2_000, 1, 10, 20
    server = None
    tmp = tempfile.mkdtemp(prefix="streamllm-bus-bench-")
    try:
        if args.url:
            url = args.url
        else:
            server, url = start_redis(tmp)
        report(url, args)
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def report(url: str, args: Any) -> None:
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, "
        f"switch interval {sys.getswitchinterval() * 1000:g} ms, "
        "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    cost = per_token(url, args.tokens, args.repeat)
    floor, floor_json, ours = throughput(url, args.tokens, args.repeat)
    median, p99, count = latency(url, args.runs, args.run_tokens, args.delay, every=False)
    all_median, all_p99, all_count = latency(
        url, args.runs, args.run_tokens, args.delay, every=True
    )
    rows = [
        ("BusPublisher.on_event, per token", f"{cost['on_event']:.2f} µs",
         f"target <= {TARGETS['per_token_us']} µs"),
        ("model thread CPU vs a no-op handler, full speed", f"+{cost['full_speed']:.2f} µs/token",
         "worst case: the writer busy all along"),
        ("the same, garbage collector off", f"+{cost['no_gc']:.2f} µs/token",
         "the rest is GC walking the backlog of live events"),
        ("a handler that only keeps every event, full speed", f"+{cost['keep']:.2f} µs/token",
         "GC of holding events, no I/O, no thread"),
        ("raw redis-py pipelined XADD, JSON ready (floor)", f"{floor:,.0f} events/s", ""),
        ("raw redis-py pipelined XADD + model_dump_json", f"{floor_json:,.0f} events/s", ""),
        ("BusPublisher end to end", f"{ours:,.0f} events/s", f"{ours / floor:.2f}x floor, "
         f"{ours / floor_json:.2f}x floor+JSON (target >= {TARGETS['throughput_ratio']})"),
        (f"token to a subscriber of one run in another process, {args.runs} runs streaming",
         f"median {median:.2f} ms", f"target {TARGETS['median_ms']} ms"),
        ("", f"p99 {p99:.2f} ms", f"target {TARGETS['p99_ms']} ms ({count} tokens)"),
        (f"token to one subscriber of all {args.runs} runs (tail)", f"median {all_median:.2f} ms",
         ""),
        ("", f"p99 {all_p99:.2f} ms", f"({all_count} tokens)"),
    ]  # fmt: skip
    print("| Benchmark | Figure | Against the target |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
