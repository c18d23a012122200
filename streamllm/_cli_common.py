"""What the commands share: the usage error, the parser that raises it, the
providers and how a model is built from the command line.

``streamllm.cli`` (the main command and ``replay``) and the other commands'
modules (``_cli_serve``, ``_cli_bus``) import from here, never from each other.
"""

from __future__ import annotations

import argparse
import importlib
import os
from typing import Any, NoReturn

from streamllm.models.base import BaseLLM

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "KEY_VARIABLES",
    "PROVIDERS",
    "SHOW",
    "Parser",
    "UsageError",
    "build_model",
    "positive_int",
]

PROVIDERS = ("local", "openai", "chat-openai", "anthropic", "ollama", "fake")
SHOW = ("tokens", "reasoning", "tools", "usage", "latency", "events")
DEFAULT_MAX_TOKENS = 256
# Hosted providers: (module, class, key variable, default model).
_HOSTED: dict[str, tuple[str, str, str | None, str]] = {
    "openai": ("streamllm.models.openai", "OpenAI", "OPENAI_API_KEY", "gpt-3.5-turbo-instruct"),
    "chat-openai": ("streamllm.models.openai", "ChatOpenAI", "OPENAI_API_KEY", "gpt-4o-mini"),
    "anthropic": (
        "streamllm.models.anthropic",
        "ChatAnthropic",
        "ANTHROPIC_API_KEY",
        "claude-3-5-haiku-latest",
    ),
    "ollama": ("streamllm.models.ollama", "Ollama", None, "llama3.2"),
}
KEY_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")


class UsageError(Exception):
    """Bad command-line usage: one line on stderr, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but its errors become one line (no usage block) and exit 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {value!r}")
    return number


def build_model(args: argparse.Namespace, prompt: str) -> BaseLLM:
    """The model ``--provider``/``--model``/``--base-url`` (and friends) name."""
    provider: str = args.provider
    params: dict[str, Any] = {"max_tokens": args.max_tokens}
    if args.temperature is not None:
        params["temperature"] = args.temperature
    if provider == "local":
        from streamllm.models.llamacpp import LlamaCpp

        model = LlamaCpp(model_path=args.model, **params)
        model.load()  # a missing file or extra is a usage error, found before the run
        return model
    if provider == "fake":
        from streamllm.models.fake import FakeListLLM

        # The fake provider echoes the prompt, word by word: no model, no network.
        return FakeListLLM(
            responses=[prompt], delay=args.delay, model=args.model or "fake", **params
        )
    if provider not in _HOSTED:
        raise UsageError(f"unknown provider {provider!r} (choose from {', '.join(PROVIDERS)})")
    module, name, key_variable, default_model = _HOSTED[provider]
    if key_variable and not args.base_url and not os.environ.get(key_variable):
        raise UsageError(
            f"--provider {provider} needs an API key: set {key_variable}, "
            "or point --base-url at a server that needs none"
        )
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise UsageError(f"provider {provider!r} is not available in this installation") from None
    if args.model is None and args.base_url and key_variable:
        # Another server than the vendor's: its model is not the vendor's default
        # (and must not be priced as one). llama-server and most local servers
        # serve whatever they loaded, whatever the name.
        default_model = "local"
    params["model"] = args.model or default_model
    if args.base_url:
        params["base_url"] = args.base_url
    built: BaseLLM = cls(**params)
    return built
