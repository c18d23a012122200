"""streamllm: stream LLM responses and turn every step of a model call into a typed event.

Every public name is importable from here, and loads on first use (as
``langchain_core`` does): ``import streamllm`` itself imports nothing heavy,
so a command-line start-up or a library that only needs one piece pays for
that piece alone.

The public surface is one table, :data:`_EXPORTS` (module to names): the lazy
loader and ``__all__`` are made from it. Type checkers need real imports, so
the ``TYPE_CHECKING`` block repeats the table as ``import X as X`` lines;
tests/test_public_api.py fails when the two disagree.
"""

from typing import TYPE_CHECKING

from streamllm._lazy import by_name, lazy_exports
from streamllm._version import __version__ as __version__

if TYPE_CHECKING:
    from streamllm.bus import Bus as Bus
    from streamllm.bus import BusPublisher as BusPublisher
    from streamllm.bus import EntriesLost as EntriesLost
    from streamllm.bus import MemoryBus as MemoryBus
    from streamllm.bus import RedisBus as RedisBus
    from streamllm.bus import RunInfo as RunInfo
    from streamllm.callbacks import AsyncCallbackHandler as AsyncCallbackHandler
    from streamllm.callbacks import BackgroundHandler as BackgroundHandler
    from streamllm.callbacks import CallbackHandler as CallbackHandler
    from streamllm.callbacks import CallbackManager as CallbackManager
    from streamllm.callbacks import RunManager as RunManager
    from streamllm.callbacks import add_global_handler as add_global_handler
    from streamllm.callbacks import copy_context_executor as copy_context_executor
    from streamllm.callbacks import handler_failures as handler_failures
    from streamllm.callbacks import remove_global_handler as remove_global_handler
    from streamllm.callbacks import set_global_handlers as set_global_handlers
    from streamllm.callbacks import shutdown as shutdown
    from streamllm.callbacks import traced as traced
    from streamllm.callbacks import tracing as tracing
    from streamllm.chat import AIMessage as AIMessage
    from streamllm.chat import AIMessageChunk as AIMessageChunk
    from streamllm.chat import InvalidToolCall as InvalidToolCall
    from streamllm.chat import ReasoningBlock as ReasoningBlock
    from streamllm.chat import TextBlock as TextBlock
    from streamllm.chat import ToolCall as ToolCall
    from streamllm.chat import ToolCallChunk as ToolCallChunk
    from streamllm.errors import AuthenticationError as AuthenticationError
    from streamllm.errors import BusError as BusError
    from streamllm.errors import ConfigurationError as ConfigurationError
    from streamllm.errors import HandlerError as HandlerError
    from streamllm.errors import ProviderConnectionError as ProviderConnectionError
    from streamllm.errors import ProviderError as ProviderError
    from streamllm.errors import ProviderStatusError as ProviderStatusError
    from streamllm.errors import ProviderTimeout as ProviderTimeout
    from streamllm.errors import RateLimitError as RateLimitError
    from streamllm.errors import RecordingError as RecordingError
    from streamllm.errors import StreamLLMError as StreamLLMError
    from streamllm.errors import StreamProtocolError as StreamProtocolError
    from streamllm.errors import StructuredOutputError as StructuredOutputError
    from streamllm.errors import ToolArgumentsError as ToolArgumentsError
    from streamllm.events import SCHEMA_VERSION as SCHEMA_VERSION
    from streamllm.events import BaseEvent as BaseEvent
    from streamllm.events import BlockDelta as BlockDelta
    from streamllm.events import BlockEnd as BlockEnd
    from streamllm.events import BlockStart as BlockStart
    from streamllm.events import ChainEnd as ChainEnd
    from streamllm.events import ChainError as ChainError
    from streamllm.events import ChainStart as ChainStart
    from streamllm.events import ErrorInfo as ErrorInfo
    from streamllm.events import Event as Event
    from streamllm.events import LLMEnd as LLMEnd
    from streamllm.events import LLMError as LLMError
    from streamllm.events import LLMStart as LLMStart
    from streamllm.events import NewToken as NewToken
    from streamllm.events import ToolEnd as ToolEnd
    from streamllm.events import ToolError as ToolError
    from streamllm.events import ToolStart as ToolStart
    from streamllm.events import event_json as event_json
    from streamllm.events import event_json_schema as event_json_schema
    from streamllm.events import parse_event as parse_event
    from streamllm.handlers import DEFAULT_PRICES as DEFAULT_PRICES
    from streamllm.handlers import JSONLRecorder as JSONLRecorder
    from streamllm.handlers import LatencyHandler as LatencyHandler
    from streamllm.handlers import LatencyStats as LatencyStats
    from streamllm.handlers import LoggingHandler as LoggingHandler
    from streamllm.handlers import OpenTelemetryHandler as OpenTelemetryHandler
    from streamllm.handlers import Price as Price
    from streamllm.handlers import ResultCollector as ResultCollector
    from streamllm.handlers import StdOutHandler as StdOutHandler
    from streamllm.handlers import StreamingStdOutHandler as StreamingStdOutHandler
    from streamllm.handlers import TokenCounter as TokenCounter
    from streamllm.handlers import areplay as areplay
    from streamllm.handlers import read_recording as read_recording
    from streamllm.handlers import replay as replay
    from streamllm.messages import Message as Message
    from streamllm.models import BaseChatModel as BaseChatModel
    from streamllm.models import BaseLLM as BaseLLM
    from streamllm.models import CallOptions as CallOptions
    from streamllm.models import ChatAnthropic as ChatAnthropic
    from streamllm.models import ChatLlamaCpp as ChatLlamaCpp
    from streamllm.models import ChatOllama as ChatOllama
    from streamllm.models import ChatOpenAI as ChatOpenAI
    from streamllm.models import FakeChatModel as FakeChatModel
    from streamllm.models import FakeListLLM as FakeListLLM
    from streamllm.models import FakeNonStreamingLLM as FakeNonStreamingLLM
    from streamllm.models import HTTPProvider as HTTPProvider
    from streamllm.models import LlamaCpp as LlamaCpp
    from streamllm.models import LLMInput as LLMInput
    from streamllm.models import Ollama as Ollama
    from streamllm.models import OpenAI as OpenAI
    from streamllm.models import RunnableConfig as RunnableConfig
    from streamllm.outputs import Generation as Generation
    from streamllm.outputs import GenerationChunk as GenerationChunk
    from streamllm.outputs import LLMResult as LLMResult
    from streamllm.outputs import TokenUsage as TokenUsage
    from streamllm.request import Request as Request
    from streamllm.structured import StructuredOutput as StructuredOutput
    from streamllm.structured import with_structured_output as with_structured_output
    from streamllm.tools import Tool as Tool
    from streamllm.tools import ToolMessage as ToolMessage
    from streamllm.tools import tool as tool

#: The public surface: module, then the names it gives (each name once).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "streamllm.bus": ("Bus", "BusPublisher", "EntriesLost", "MemoryBus", "RedisBus", "RunInfo"),
    "streamllm.callbacks": (
        "AsyncCallbackHandler",
        "BackgroundHandler",
        "CallbackHandler",
        "CallbackManager",
        "RunManager",
        "add_global_handler",
        "copy_context_executor",
        "handler_failures",
        "remove_global_handler",
        "set_global_handlers",
        "shutdown",
        "traced",
        "tracing",
    ),
    "streamllm.chat": (
        "AIMessage",
        "AIMessageChunk",
        "InvalidToolCall",
        "ReasoningBlock",
        "TextBlock",
        "ToolCall",
        "ToolCallChunk",
    ),
    "streamllm.errors": (
        "AuthenticationError",
        "BusError",
        "ConfigurationError",
        "HandlerError",
        "ProviderConnectionError",
        "ProviderError",
        "ProviderStatusError",
        "ProviderTimeout",
        "RateLimitError",
        "RecordingError",
        "StreamLLMError",
        "StreamProtocolError",
        "StructuredOutputError",
        "ToolArgumentsError",
    ),
    "streamllm.events": (
        "SCHEMA_VERSION",
        "BaseEvent",
        "BlockDelta",
        "BlockEnd",
        "BlockStart",
        "ChainEnd",
        "ChainError",
        "ChainStart",
        "ErrorInfo",
        "Event",
        "LLMEnd",
        "LLMError",
        "LLMStart",
        "NewToken",
        "ToolEnd",
        "ToolError",
        "ToolStart",
        "event_json",
        "event_json_schema",
        "parse_event",
    ),
    "streamllm.handlers": (
        "DEFAULT_PRICES",
        "JSONLRecorder",
        "LatencyHandler",
        "LatencyStats",
        "LoggingHandler",
        "OpenTelemetryHandler",
        "Price",
        "ResultCollector",
        "StdOutHandler",
        "StreamingStdOutHandler",
        "TokenCounter",
        "areplay",
        "read_recording",
        "replay",
    ),
    "streamllm.messages": ("Message",),
    "streamllm.models": (
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
    ),
    "streamllm.outputs": ("Generation", "GenerationChunk", "LLMResult", "TokenUsage"),
    "streamllm.request": ("Request",),
    "streamllm.structured": ("StructuredOutput", "with_structured_output"),
    "streamllm.tools": ("Tool", "ToolMessage", "tool"),
}

_LAZY = by_name(_EXPORTS)

__all__ = sorted([*_LAZY, "__version__"])

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
