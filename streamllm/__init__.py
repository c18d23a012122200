"""streamllm: stream LLM responses and turn every step of a model call into a typed event."""

from typing import TYPE_CHECKING

from streamllm._lazy import lazy_exports
from streamllm.callbacks import env as _env  # noqa: F401 - arms STREAMLLM_TRACING
from streamllm.callbacks.background import BackgroundHandler
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
from streamllm.callbacks.tracing import traced
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

if TYPE_CHECKING:
    from streamllm.handlers import (
        JSONLRecorder,
        LatencyHandler,
        LoggingHandler,
        OpenTelemetryHandler,
        ResultCollector,
        StdOutHandler,
        StreamingStdOutHandler,
        TokenCounter,
        replay,
    )
    from streamllm.models import ChatAnthropic, ChatOpenAI, LlamaCpp, Ollama, OpenAI

__version__ = "0.1.0"

# Providers and built-in handlers load on first use: `import streamllm` stays
# light (no httpx client code, no OpenTelemetry) until they are needed.
_LAZY = {
    "JSONLRecorder": "streamllm.handlers",
    "LatencyHandler": "streamllm.handlers",
    "LoggingHandler": "streamllm.handlers",
    "OpenTelemetryHandler": "streamllm.handlers",
    "ResultCollector": "streamllm.handlers",
    "StdOutHandler": "streamllm.handlers",
    "StreamingStdOutHandler": "streamllm.handlers",
    "TokenCounter": "streamllm.handlers",
    "replay": "streamllm.handlers",
    "LlamaCpp": "streamllm.models",
    "OpenAI": "streamllm.models",
    "ChatOpenAI": "streamllm.models",
    "ChatAnthropic": "streamllm.models",
    "Ollama": "streamllm.models",
}


__all__ = [
    "SCHEMA_VERSION",
    "AsyncCallbackHandler",
    "AuthenticationError",
    "BackgroundHandler",
    "BaseLLM",
    "CallbackHandler",
    "CallbackManager",
    "ChainEnd",
    "ChainError",
    "ChainStart",
    "ChatAnthropic",
    "ChatOpenAI",
    "ConfigurationError",
    "ErrorInfo",
    "Event",
    "FakeListLLM",
    "FakeNonStreamingLLM",
    "Generation",
    "GenerationChunk",
    "HandlerError",
    "JSONLRecorder",
    "LLMEnd",
    "LLMError",
    "LLMResult",
    "LLMStart",
    "LatencyHandler",
    "LlamaCpp",
    "LoggingHandler",
    "Message",
    "NewToken",
    "Ollama",
    "OpenAI",
    "OpenTelemetryHandler",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderStatusError",
    "ProviderTimeout",
    "RateLimitError",
    "ResultCollector",
    "RunManager",
    "StdOutHandler",
    "StreamLLMError",
    "StreamProtocolError",
    "StreamingStdOutHandler",
    "TokenCounter",
    "TokenUsage",
    "__version__",
    "add_global_handler",
    "copy_context_executor",
    "handler_failures",
    "parse_event",
    "remove_global_handler",
    "replay",
    "set_global_handlers",
    "shutdown",
    "traced",
    "tracing",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
