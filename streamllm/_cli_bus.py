"""``streamllm tail`` and ``streamllm worker``: the bus from the command line.

``tail`` follows events live from another process (one trace, or all of
them); ``worker`` runs built-in handlers as one member of a consumer group
(start several: each trace is handled once by the group, and when one worker
dies the others take over its traces after ``--claim-idle`` seconds).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from streamllm._cli_common import Parser
from streamllm._cli_output import EventLines
from streamllm.errors import ConfigurationError

__all__ = ["tail", "worker"]

DEFAULT_URL = "redis://127.0.0.1:6379/0"
BUS_VAR = "STREAMLLM_BUS"
HANDLERS = "otel, logging, jsonl:PATH, counter"


def _bus_option(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument(
        "--bus",
        required=required,
        default=None if required else os.environ.get(BUS_VAR, DEFAULT_URL),
        metavar="URL",
        help=f"the Redis URL (redis:// or rediss://; default ${BUS_VAR} or {DEFAULT_URL})",
    )


def tail_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="streamllm tail", description="Follow events on a bus, live.")
    _bus_option(parser, required=False)
    parser.add_argument("--trace", metavar="ID", help="one trace only (ends after its root's end)")
    parser.add_argument(
        "--after", default="$", metavar="ID", help="start after this entry id ('0' replays all; "
        "default '$', only what comes next; with --trace, '0')",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="one JSON event per line on stdout")
    return parser


def worker_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="streamllm worker", description="Run handlers on a bus's events.")
    _bus_option(parser, required=True)
    parser.add_argument("--group", required=True, metavar="NAME", help="the consumer group")
    parser.add_argument(
        "--handler", action="append", required=True, metavar="NAME",
        help=f"a built-in handler ({HANDLERS}); repeat for several",
    )  # fmt: skip
    parser.add_argument("--name", help="this consumer's name (default: host-pid)")
    parser.add_argument(
        "--claim-idle", type=float, default=30.0, metavar="S",
        help="take over a dead worker's traces after S seconds (default 30)",
    )  # fmt: skip
    parser.add_argument(
        "--from", dest="start", default="$", choices=("$", "0"),
        help="a new group starts with new runs ($, default) or every run kept (0)",
    )  # fmt: skip
    return parser


def _connect(url: str) -> Any:
    from streamllm.bus.errors import BusError

    try:
        from streamllm.bus.redis_bus import RedisBus
    except ImportError:
        raise ConfigurationError("the bus needs redis-py: pip install 'streamllm[redis]'") from None
    try:
        bus = RedisBus(url)
    except BusError as exc:
        raise ConfigurationError(str(exc)) from None
    bus.ping()
    return bus


def _stop_on_signals(stop: threading.Event) -> None:
    signal.signal(signal.SIGTERM, lambda *_: stop.set())


# -- tail ----------------------------------------------------------------------------


def _printer(as_json: bool, out: TextIO) -> Callable[[str, Any], None]:
    lines = EventLines(out)

    def show(entry_id: str, item: Any) -> None:
        if as_json:
            out.write(item.model_dump_json() + "\n")
            out.flush()
        elif item.type == "entries_lost":
            count = "unknown" if item.count is None else item.count
            out.write(f"{entry_id} lost {count} entries ({item.why}) of trace {item.trace_id}\n")
            out.flush()
        else:
            out.write(f"{entry_id} {str(item.trace_id)[:8]} ")
            lines(item)

    return show


def tail(argv: Sequence[str]) -> int:
    """``streamllm tail``: print events as they arrive; reconnects after an outage."""
    from streamllm.bus.errors import BusError

    args = tail_parser().parse_args(argv)
    bus = _connect(args.bus)
    show = _printer(args.json, sys.stdout)
    after = "0" if args.trace and args.after == "$" else args.after
    backoff = 0.1
    while True:
        try:
            for entry_id, item in bus.subscribe(args.trace, after=after):
                show(entry_id, item)
                after, backoff = entry_id, 0.1
            return 0
        except BusError as exc:
            print(f"streamllm: warning: {exc}; retrying", file=sys.stderr)
            time.sleep(backoff)
            backoff = min(backoff * 2, 2.0)


# -- worker --------------------------------------------------------------------------


def _handler(spec: str) -> tuple[list[object], Callable[[TextIO], None] | None]:
    """A built-in handler by name, and what to print when the worker stops."""
    name, sep, arg = spec.partition(":")
    if name == "jsonl" and sep and arg:
        from streamllm.handlers.recorder import JSONLRecorder

        recorder = JSONLRecorder(arg)

        def flushed(event: object) -> None:
            # The group's checkpoint moves after each event: the line must be on
            # disk by then, or a killed worker would take it along.
            recorder.flush()

        return [recorder, flushed], lambda _: recorder.close()
    if sep:
        raise ConfigurationError(f"--handler {spec!r}: only jsonl takes an argument ({HANDLERS})")
    if name == "counter":
        from streamllm._cli_output import usage_line
        from streamllm.handlers.counter import TokenCounter

        counter = TokenCounter()
        return [counter], lambda err: print(usage_line(counter), file=err)
    if name == "logging":
        from streamllm.handlers.log import LoggingHandler

        logging.getLogger("streamllm").setLevel(logging.INFO)
        return [LoggingHandler()], None
    if name == "otel":
        from streamllm.handlers.otel_setup import configure_tracing

        # Nobody else sets up OpenTelemetry in a worker: the OTEL_* environment does.
        shutdown = configure_tracing("streamllm-worker")
        from streamllm.handlers.otel import OpenTelemetryHandler

        return [OpenTelemetryHandler()], lambda _: shutdown()
    raise ConfigurationError(f"unknown --handler {spec!r} (choose from {HANDLERS})")


def worker(argv: Sequence[str]) -> int:
    """``streamllm worker``: consume as one member of a group until SIGTERM or Ctrl-C."""
    from streamllm.bus.errors import BusError

    args = worker_parser().parse_args(argv)
    built = [_handler(spec) for spec in args.handler]
    bus = _connect(args.bus)
    name = args.name or f"{socket.gethostname()}-{os.getpid()}"
    stop = threading.Event()
    _stop_on_signals(stop)
    print(f"streamllm: worker {name} in group {args.group} on {bus.url}", file=sys.stderr)
    backoff = 0.1
    try:
        while not stop.is_set():
            try:
                bus.consume(
                    args.group, name, [h for hs, _ in built for h in hs], stop=stop,
                    claim_idle=args.claim_idle, start=args.start,
                )  # fmt: skip
            except BusError as exc:
                print(f"streamllm: warning: {exc}; retrying", file=sys.stderr)
                stop.wait(backoff)
                backoff = min(backoff * 2, 2.0)
    except KeyboardInterrupt:
        pass
    finally:
        for _, finish in built:
            if finish is not None:
                finish(sys.stderr)
        bus.close()
    return 0
