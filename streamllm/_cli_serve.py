"""``streamllm serve``: the web page and its endpoints on one address (DESIGN.md section 14).

``streamllm serve`` serves the embedded local model on http://127.0.0.1:8000/
through a ``MemoryBus``; ``--bus redis://...`` shares runs with other servers
on the same Redis; ``--token T`` makes every endpoint but the page itself
require ``Authorization: Bearer T``.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Sequence
from typing import Any

from streamllm._cli_common import PROVIDERS, Parser, UsageError, build_model, positive_int

__all__ = ["serve", "serve_parser"]

DEFAULT_PORT = 8000
_DEMO_ANSWER = (
    "This is the fake provider: it streams this sentence word by word, so you can watch "
    "the page work without a model."
)


def serve_parser() -> argparse.ArgumentParser:
    """The parser of ``streamllm serve``."""
    parser = Parser(
        prog="streamllm serve",
        description="Serve a model over HTTP: a page at /, runs and their events as SSE.",
    )
    parser.add_argument(
        "--provider",
        default="local",
        metavar="NAME",
        help=f"one of {', '.join(PROVIDERS)} (default: local, the embedded model)",
    )
    parser.add_argument("--model", help="model name; for local, the path of a GGUF file")
    parser.add_argument("--base-url", help="server URL, e.g. http://127.0.0.1:8080/v1")
    parser.add_argument(
        "--max-tokens", type=positive_int, default=256, metavar="N", help="default: 256"
    )
    parser.add_argument("--temperature", type=float, metavar="T", help="sampling temperature")
    parser.add_argument(
        "--delay", type=float, default=0.05, metavar="SECONDS", help="fake provider only"
    )
    parser.add_argument(
        "--bus", metavar="URL", help="redis://host:6379/0 to share runs (default: in memory)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default: {DEFAULT_PORT}")
    parser.add_argument(
        "--token",
        default=os.environ.get("STREAMLLM_TOKEN"),
        help="require 'Authorization: Bearer TOKEN' (default: $STREAMLLM_TOKEN)",
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow a page on ORIGIN to call the API (repeatable; none by default)",
    )
    return parser


def _bus(url: str | None) -> Any:
    if url is None or url == "memory":
        from streamllm.bus import MemoryBus

        return MemoryBus()
    if not url.startswith(("redis://", "rediss://")):
        raise UsageError("--bus takes a redis:// or rediss:// URL")
    try:
        from streamllm.bus import RedisBus
    except ImportError:
        raise UsageError("--bus needs the redis extra: pip install 'streamllm[redis]'") from None
    return RedisBus(url)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(argv: Sequence[str]) -> int:
    """Run ``streamllm serve ARGS`` until interrupted; returns the exit code."""
    args = serve_parser().parse_args(argv)
    try:
        import uvicorn

        from streamllm.web import create_app
        from streamllm.web.process import tune_gc
    except ImportError:
        raise UsageError("serve needs the web extra: pip install 'streamllm[web]'") from None
    if not _is_loopback(args.host) and not args.token:
        print(
            f"streamllm: warning: serving on {args.host} without --token: anyone who can "
            "reach it can run the model",
            file=sys.stderr,
        )
    bus = _bus(args.bus)  # a bad URL is found before a model is loaded
    model = build_model(args, _DEMO_ANSWER)
    app = create_app(model, bus, token=args.token, cors_origins=args.cors_origin)
    tune_gc()  # the model and the app are built: their objects are never scanned again
    print(f"streamllm: serving on http://{args.host}:{args.port}/", file=sys.stderr)
    # Open event streams last as long as their runs: on Ctrl-C, give them a few
    # seconds, then the runs are cancelled (each ends with its terminal event).
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=3,
    )
    bus.close()
    close = getattr(model, "close", None)
    if close is not None:
        close()
    return 0
