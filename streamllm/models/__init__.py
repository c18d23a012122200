"""Models: the Runnable base class and the providers.

The HTTP providers and ``LlamaCpp`` load on first use, so importing
``streamllm`` does not import httpx's client stack until a provider is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from streamllm.models.base import BaseLLM, LLMInput, RunnableConfig
from streamllm.models.fake import FakeListLLM, FakeNonStreamingLLM

if TYPE_CHECKING:
    from streamllm.models.anthropic import ChatAnthropic
    from streamllm.models.llamacpp import LlamaCpp
    from streamllm.models.ollama import Ollama
    from streamllm.models.openai import ChatOpenAI, OpenAI

_LAZY = {
    "ChatAnthropic": "streamllm.models.anthropic",
    "ChatOpenAI": "streamllm.models.openai",
    "LlamaCpp": "streamllm.models.llamacpp",
    "Ollama": "streamllm.models.ollama",
    "OpenAI": "streamllm.models.openai",
}

__all__ = [
    "BaseLLM",
    "ChatAnthropic",
    "ChatOpenAI",
    "FakeListLLM",
    "FakeNonStreamingLLM",
    "LLMInput",
    "LlamaCpp",
    "Ollama",
    "OpenAI",
    "RunnableConfig",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'streamllm.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
