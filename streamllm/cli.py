"""The ``streamllm`` command (DESIGN.md section 9).

``streamllm "Tell me a joke."`` streams from the embedded local model and ends
with a one-line summary on stderr; ``streamllm replay FILE`` plays a recording
back. Every error is one line on stderr. Exit codes: 0 done, 1 the run failed,
2 bad usage or configuration, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from streamllm._cli_common import (
    DEFAULT_MAX_TOKENS,
    KEY_VARIABLES,
    PROVIDERS,
    SHOW,
    Parser,
    UsageError,
    build_model,
    positive_int,
)
from streamllm._cli_output import (
    EventLines,
    JSONLines,
    OneLineLog,
    TokenText,
    latency_line,
    summary_line,
    usage_line,
)
from streamllm.errors import ConfigurationError, StreamLLMError
from streamllm.handlers import (
    JSONLRecorder,
    LatencyHandler,
    RecordingError,
    TokenCounter,
    replay,
)
from streamllm.models.base import LLMInput

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROVIDERS",
    "UsageError",
    "main",
]


EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _show_list(value: str) -> frozenset[str]:
    names = frozenset(n.strip() for n in value.split(",") if n.strip())
    unknown = sorted(names - set(SHOW))
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown --show name(s) {', '.join(unknown)} (choose from {','.join(SHOW)})"
        )
    return names


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--show",
        type=_show_list,
        default=None,
        metavar="LIST",
        help="handlers to attach, comma-separated: tokens (text on stdout, the default), "
        "reasoning and tools (a chat model's reasoning and tool calls on stdout, labelled), "
        "usage, latency, events (one line per event on stderr)",
    )
    parser.add_argument(
        "--json", action="store_true", help="write one event per line (JSON) on stdout, not text"
    )


def run_parser() -> argparse.ArgumentParser:
    """The parser of ``streamllm PROMPT``."""
    parser = Parser(
        prog="streamllm",
        description="Stream a model's answer token by token and show every event of the call.",
        epilog="Play a recording back: streamllm replay FILE [--show ...] [--json]. "
        "Follow a bus: streamllm tail [--bus URL] [--trace ID] [--json]. "
        "Run handlers on a bus: streamllm worker --bus URL --group NAME --handler NAME. "
        "Serve the web page: streamllm serve [--bus URL].",
    )
    parser.add_argument("prompt", help="the prompt; '-' reads it from stdin")
    parser.add_argument(
        "--provider",
        default="local",
        metavar="NAME",
        help=f"one of {', '.join(PROVIDERS)} (default: local, the embedded model)",
    )
    parser.add_argument(
        "--model", help="model name; for local, the path of a GGUF file (default: embedded)"
    )
    parser.add_argument("--base-url", help="server URL, e.g. http://127.0.0.1:8080/v1")
    parser.add_argument(
        "--max-tokens",
        type=positive_int,
        default=DEFAULT_MAX_TOKENS,
        metavar="N",
        help=f"most tokens to generate (default: {DEFAULT_MAX_TOKENS})",
    )
    parser.add_argument("--temperature", type=float, metavar="T", help="sampling temperature")
    parser.add_argument("--system", metavar="TEXT", help="a system message before the prompt")
    parser.add_argument(
        "--delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="fake provider only: pause before each token",
    )
    _add_output_options(parser)
    parser.add_argument("--record", metavar="FILE", help="record every event to a JSONL file")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    return parser


def replay_parser() -> argparse.ArgumentParser:
    """The parser of ``streamllm replay FILE``."""
    parser = Parser(
        prog="streamllm replay",
        description="Play a recording (from --record) back through the chosen handlers.",
    )
    parser.add_argument("file", help="a recording written by --record")
    _add_output_options(parser)
    parser.add_argument(
        "--timing", action="store_true", help="keep the recorded pauses between events"
    )
    return parser


def _version() -> str:
    from streamllm import __version__

    return __version__


# -- building the call ------------------------------------------------------------


def _read_prompt(prompt: str) -> str:
    text = sys.stdin.read().rstrip("\n") if prompt == "-" else prompt
    if not text.strip():
        raise UsageError("the prompt is empty")
    return text


def _input(prompt: str, system: str | None) -> LLMInput:
    if system is None:
        return prompt
    return [{"role": "system", "content": system}, {"role": "user", "content": prompt}]


#: --show names printed on stdout as the answer streams (reasoning and tools
#: add to the text, labelled).
_TEXT = frozenset({"tokens", "reasoning", "tools"})


class _Output:
    """The handlers chosen by ``--show``/``--json``/``--record``, and the lines
    they print once the run has ended."""

    def __init__(self, show: frozenset[str] | None, as_json: bool, record: str | None) -> None:
        if as_json and show and show & _TEXT:
            raise UsageError(
                "--json writes events to stdout: "
                "drop 'tokens' from --show (and 'reasoning', 'tools')"
            )
        self.show = show if show is not None else frozenset() if as_json else frozenset({"tokens"})
        self.latency = LatencyHandler()
        self.counter = TokenCounter()
        self.recorder: JSONLRecorder | None = None
        if record is not None:
            try:
                self.recorder = JSONLRecorder(record)
            except OSError as exc:
                raise UsageError(f"cannot write the recording {record}: {exc.strerror}") from exc
        # The recorder first: it must see the terminal event even on Ctrl-C.
        self.handlers: list[object] = [h for h in (self.recorder,) if h is not None]
        if as_json:
            self.handlers.append(JSONLines(sys.stdout))
        if self.show & _TEXT:
            reasoning, tools = "reasoning" in self.show, "tools" in self.show
            self.handlers.append(TokenText(sys.stdout, reasoning=reasoning, tools=tools))
        if "events" in self.show:
            self.handlers.append(EventLines(sys.stderr))
        self.handlers += [self.latency, self.counter]

    def finish(self, err: TextIO) -> None:
        """Close the recording and print the summary (and the chosen reports) to ``err``."""
        if self.recorder is not None:
            self.recorder.close()
        stats = list(self.latency.stats.values())
        if "usage" in self.show:
            print(usage_line(self.counter), file=err)
        if "latency" in self.show:
            for one in stats:
                print(latency_line(one), file=err)
        for one in stats:
            print(summary_line(one), file=err)
        err.flush()


# -- the commands -------------------------------------------------------------------


def _run(argv: Sequence[str]) -> int:
    args = run_parser().parse_args(argv)
    prompt = _read_prompt(args.prompt)
    model = build_model(args, prompt)
    output = _Output(args.show, args.json, args.record)
    try:
        stream = model.stream(_input(prompt, args.system), callbacks=output.handlers)
        for _ in stream:
            pass
    finally:
        close: Callable[[], object] | None = getattr(model, "close", None)
        if close is not None:
            close()
        output.finish(sys.stderr)
    return EXIT_OK


def _replay(argv: Sequence[str]) -> int:
    args = replay_parser().parse_args(argv)
    output = _Output(args.show, args.json, None)
    try:
        replay(args.file, output.handlers, timing=args.timing)
    except FileNotFoundError as exc:
        raise UsageError(f"cannot read the recording {args.file}: {exc.strerror}") from exc
    except (RecordingError, IsADirectoryError, UnicodeDecodeError) as exc:
        raise UsageError(str(exc)) from exc
    finally:
        output.finish(sys.stderr)
    return EXIT_OK


def _scrub(message: str) -> str:
    """Never print an API key, even if a message somewhere quotes one."""
    for variable in KEY_VARIABLES:
        key = os.environ.get(variable)
        if key and len(key) >= 4:
            message = message.replace(key, "***")
    return " ".join(message.split())


def _fail(message: str, code: int) -> int:
    print(f"streamllm: error: {_scrub(message)}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    args = list(sys.argv[1:] if argv is None else argv)
    # The command is an application: it decides where the library's log records go.
    library_log = logging.getLogger("streamllm")
    log_handler = OneLineLog(sys.stderr)
    library_log.addHandler(log_handler)
    try:
        if args and args[0] == "replay":
            return _replay(args[1:])
        if args and args[0] == "serve":
            from streamllm._cli_serve import serve

            return serve(args[1:])
        if args and args[0] in ("tail", "worker"):
            from streamllm import _cli_bus

            return _cli_bus.tail(args[1:]) if args[0] == "tail" else _cli_bus.worker(args[1:])
        return _run(args)
    except KeyboardInterrupt:
        print("streamllm: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except ConfigurationError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except StreamLLMError as exc:
        if isinstance(exc.__cause__, BrokenPipeError):
            return _quiet_broken_pipe()
        return _fail(str(exc) or type(exc).__name__, EXIT_FAILED)
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except Exception as exc:
        return _fail(f"{type(exc).__name__}: {exc}", EXIT_FAILED)
    finally:
        library_log.removeHandler(log_handler)


def _quiet_broken_pipe() -> int:
    # The reader of stdout went away (e.g. `| head`): stop quietly, and keep
    # the interpreter's final flush from failing again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_FAILED
