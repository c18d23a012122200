"""The built-in handlers (DESIGN.md section 5).

>>> from streamllm import FakeListLLM
>>> from streamllm.handlers import ResultCollector, TokenCounter
>>> counter, collector = TokenCounter(), ResultCollector()
>>> FakeListLLM(responses=["Hi"]).invoke("Hello", callbacks=[counter, collector])
'Hi'

``OpenTelemetryHandler`` is imported on first use, so ``streamllm.handlers``
does not need OpenTelemetry installed (it comes with the ``[otel]`` extra).
"""

from __future__ import annotations

import importlib
from typing import Any

from streamllm.handlers.collector import ResultCollector
from streamllm.handlers.counter import DEFAULT_PRICES, Price, TokenCounter
from streamllm.handlers.latency import LatencyHandler, LatencyStats
from streamllm.handlers.log import LoggingHandler
from streamllm.handlers.recorder import (
    JSONLRecorder,
    RecordingError,
    areplay,
    read_recording,
    replay,
)
from streamllm.handlers.stdout import StdOutHandler, StreamingStdOutHandler

__all__ = [
    "DEFAULT_PRICES",
    "JSONLRecorder",
    "LatencyHandler",
    "LatencyStats",
    "LoggingHandler",
    "OpenTelemetryHandler",
    "Price",
    "RecordingError",
    "ResultCollector",
    "StdOutHandler",
    "StreamingStdOutHandler",
    "TokenCounter",
    "areplay",
    "read_recording",
    "replay",
]

_LAZY = {"OpenTelemetryHandler": "streamllm.handlers.otel"}


def __getattr__(name: str) -> Any:
    # Lazy so that importing the handlers never requires OpenTelemetry.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
