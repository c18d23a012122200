"""streamllm: stream LLM responses and turn every step of a model call into a typed event."""

from streamllm.callbacks import env as _env  # noqa: F401 - arms STREAMLLM_TRACING
from streamllm.callbacks.base import AsyncCallbackHandler, CallbackHandler
from streamllm.callbacks.context import (
    add_global_handler,
    copy_context_executor,
    remove_global_handler,
    set_global_handlers,
    tracing,
)
from streamllm.callbacks.failures import handler_failures
from streamllm.callbacks.loop import shutdown
from streamllm.callbacks.manager import CallbackManager, RunManager
from streamllm.errors import (
    AuthenticationError,
    ConfigurationError,
    HandlerError,
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    ProviderTimeout,
    RateLimitError,
    StreamLLMError,
    StreamProtocolError,
)
from streamllm.events import (
    SCHEMA_VERSION,
    ChainEnd,
    ChainError,
    ChainStart,
    ErrorInfo,
    Event,
    LLMEnd,
    LLMError,
    LLMStart,
    NewToken,
    parse_event,
)
from streamllm.messages import Message
from streamllm.models import BaseLLM, FakeListLLM, FakeNonStreamingLLM
from streamllm.outputs import Generation, GenerationChunk, LLMResult, TokenUsage

__version__ = "0.1.0"

__all__ = [
    "SCHEMA_VERSION",
    "AsyncCallbackHandler",
    "AuthenticationError",
    "BaseLLM",
    "CallbackHandler",
    "CallbackManager",
    "ChainEnd",
    "ChainError",
    "ChainStart",
    "ConfigurationError",
    "ErrorInfo",
    "Event",
    "FakeListLLM",
    "FakeNonStreamingLLM",
    "Generation",
    "GenerationChunk",
    "HandlerError",
    "LLMEnd",
    "LLMError",
    "LLMResult",
    "LLMStart",
    "Message",
    "NewToken",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderStatusError",
    "ProviderTimeout",
    "RateLimitError",
    "RunManager",
    "StreamLLMError",
    "StreamProtocolError",
    "TokenUsage",
    "__version__",
    "add_global_handler",
    "copy_context_executor",
    "handler_failures",
    "parse_event",
    "remove_global_handler",
    "set_global_handlers",
    "shutdown",
    "tracing",
]
