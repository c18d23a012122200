"""Models: the Runnable base class and the providers."""

from streamllm.models.base import BaseLLM, LLMInput, RunnableConfig
from streamllm.models.fake import FakeListLLM, FakeNonStreamingLLM

# Imports without llama-cpp-python: the [local] extra is imported on first load.
from streamllm.models.llamacpp import LlamaCpp

__all__ = [
    "BaseLLM",
    "FakeListLLM",
    "FakeNonStreamingLLM",
    "LLMInput",
    "LlamaCpp",
    "RunnableConfig",
]
