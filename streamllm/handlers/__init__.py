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

from typing import TYPE_CHECKING

from streamllm._lazy import lazy_exports
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

if TYPE_CHECKING:
    from streamllm.handlers.otel import OpenTelemetryHandler

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

# Lazy so that importing the handlers never requires OpenTelemetry. Not cached
# in the package: a test may swap the module, and the lookup is cheap.
_LAZY = {"OpenTelemetryHandler": "streamllm.handlers.otel"}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__, cache=False)
