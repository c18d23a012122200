"""Models: the Runnable base class and the providers."""

from streamllm.models.anthropic import ChatAnthropic
from streamllm.models.base import BaseLLM, LLMInput, RunnableConfig
from streamllm.models.fake import FakeListLLM, FakeNonStreamingLLM

# Imports without llama-cpp-python: the [local] extra is imported on first load.
from streamllm.models.llamacpp import LlamaCpp
from streamllm.models.ollama import Ollama
from streamllm.models.openai import ChatOpenAI, OpenAI

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
