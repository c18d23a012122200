"""Models: the Runnable base class and the providers."""

from streamllm.models.base import BaseLLM, LLMInput, RunnableConfig
from streamllm.models.fake import FakeListLLM, FakeNonStreamingLLM

__all__ = ["BaseLLM", "FakeListLLM", "FakeNonStreamingLLM", "LLMInput", "RunnableConfig"]
