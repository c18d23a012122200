"""Models: the Runnable base class and the providers.

The HTTP providers, ``LlamaCpp`` and ``ChatLlamaCpp`` load on first use, so importing
``streamllm`` does not import httpx's client stack until a provider is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from streamllm._lazy import lazy_exports
from streamllm.models.base import BaseLLM, CallOptions, LLMInput, RunnableConfig
from streamllm.models.chat import BaseChatModel
from streamllm.models.fake import FakeListLLM, FakeNonStreamingLLM
from streamllm.models.fake_chat import FakeChatModel

if TYPE_CHECKING:
    from streamllm.models.anthropic import ChatAnthropic
    from streamllm.models.chat_llamacpp import ChatLlamaCpp
    from streamllm.models.http import HTTPProvider
    from streamllm.models.llamacpp import LlamaCpp
    from streamllm.models.ollama import ChatOllama, Ollama
    from streamllm.models.openai import ChatOpenAI, OpenAI

_LAZY = {
    "ChatAnthropic": "streamllm.models.anthropic",
    "ChatLlamaCpp": "streamllm.models.chat_llamacpp",
    "ChatOllama": "streamllm.models.ollama",
    "ChatOpenAI": "streamllm.models.openai",
    "HTTPProvider": "streamllm.models.http",
    "LlamaCpp": "streamllm.models.llamacpp",
    "Ollama": "streamllm.models.ollama",
    "OpenAI": "streamllm.models.openai",
}

__all__ = [
    "BaseChatModel",
    "BaseLLM",
    "CallOptions",
    "ChatAnthropic",
    "ChatLlamaCpp",
    "ChatOllama",
    "ChatOpenAI",
    "FakeChatModel",
    "FakeListLLM",
    "FakeNonStreamingLLM",
    "HTTPProvider",
    "LLMInput",
    "LlamaCpp",
    "Ollama",
    "OpenAI",
    "RunnableConfig",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
