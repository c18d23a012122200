"""streamllm: stream LLM responses and turn every step of a model call into a typed event.

Every public name is importable from here, and loads on first use (as
``langchain_core`` does): ``import streamllm`` itself imports nothing heavy,
so a command-line start-up or a library that only needs one piece pays for
that piece alone.
"""

from typing import TYPE_CHECKING

from streamllm._lazy import lazy_exports

if TYPE_CHECKING:
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
    from streamllm.messages import Message
    from streamllm.models import (
        BaseLLM,
        ChatAnthropic,
        ChatOpenAI,
        FakeListLLM,
        FakeNonStreamingLLM,
        LlamaCpp,
        Ollama,
        OpenAI,
    )
    from streamllm.outputs import Generation, GenerationChunk, LLMResult, TokenUsage

__version__ = "0.1.0"

_LAZY = {
    "AsyncCallbackHandler": "streamllm.callbacks.base",
    "AuthenticationError": "streamllm.errors",
    "BackgroundHandler": "streamllm.callbacks.background",
    "BaseLLM": "streamllm.models",
    "CallbackHandler": "streamllm.callbacks.base",
    "CallbackManager": "streamllm.callbacks.manager",
    "ChainEnd": "streamllm.events",
    "ChainError": "streamllm.events",
    "ChainStart": "streamllm.events",
    "ChatAnthropic": "streamllm.models",
    "ChatOpenAI": "streamllm.models",
    "ConfigurationError": "streamllm.errors",
    "ErrorInfo": "streamllm.events",
    "Event": "streamllm.events",
    "FakeListLLM": "streamllm.models",
    "FakeNonStreamingLLM": "streamllm.models",
    "Generation": "streamllm.outputs",
    "GenerationChunk": "streamllm.outputs",
    "HandlerError": "streamllm.errors",
    "JSONLRecorder": "streamllm.handlers",
    "LLMEnd": "streamllm.events",
    "LLMError": "streamllm.events",
    "LLMResult": "streamllm.outputs",
    "LLMStart": "streamllm.events",
    "LatencyHandler": "streamllm.handlers",
    "LlamaCpp": "streamllm.models",
    "LoggingHandler": "streamllm.handlers",
    "Message": "streamllm.messages",
    "NewToken": "streamllm.events",
    "Ollama": "streamllm.models",
    "OpenAI": "streamllm.models",
    "OpenTelemetryHandler": "streamllm.handlers",
    "ProviderConnectionError": "streamllm.errors",
    "ProviderError": "streamllm.errors",
    "ProviderStatusError": "streamllm.errors",
    "ProviderTimeout": "streamllm.errors",
    "RateLimitError": "streamllm.errors",
    "ResultCollector": "streamllm.handlers",
    "RunManager": "streamllm.callbacks.manager",
    "SCHEMA_VERSION": "streamllm.events",
    "StdOutHandler": "streamllm.handlers",
    "StreamLLMError": "streamllm.errors",
    "StreamProtocolError": "streamllm.errors",
    "StreamingStdOutHandler": "streamllm.handlers",
    "TokenCounter": "streamllm.handlers",
    "TokenUsage": "streamllm.outputs",
    "add_global_handler": "streamllm.callbacks.context",
    "copy_context_executor": "streamllm.callbacks.context",
    "handler_failures": "streamllm.callbacks.failures",
    "parse_event": "streamllm.events",
    "remove_global_handler": "streamllm.callbacks.context",
    "replay": "streamllm.handlers",
    "set_global_handlers": "streamllm.callbacks.context",
    "shutdown": "streamllm.callbacks.loop",
    "traced": "streamllm.callbacks.tracing",
    "tracing": "streamllm.callbacks.context",
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
