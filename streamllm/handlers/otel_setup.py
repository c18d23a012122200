"""An OpenTelemetry tracer provider from the standard ``OTEL_*`` environment,
for processes that have nobody else to set one up (``streamllm worker``).

An application that configures OpenTelemetry itself keeps its provider: this
only installs one when the global provider is still the API's default.

- ``OTEL_TRACES_EXPORTER``: ``otlp``, ``console`` or ``none`` (comma
  separated). Unset: ``otlp`` when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
  ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set, else ``console``.
- ``otlp`` needs ``opentelemetry-exporter-otlp`` (``OTEL_EXPORTER_OTLP_PROTOCOL``
  ``http/protobuf``, the default, or ``grpc``); without it, a
  :class:`ConfigurationError` says what to install.
- ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_BSP_*`` are read by
  the SDK itself.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

from streamllm.errors import ConfigurationError

__all__ = ["configure_tracing"]

_INSTALL = "pip install opentelemetry-exporter-otlp"


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(out=sys.stdout)
    if name != "otlp":
        raise ConfigurationError(
            f"OTEL_TRACES_EXPORTER: unknown exporter {name!r} (otlp, console or none)"
        )
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    )
    modules = {"grpc": "grpc", "http/protobuf": "http", "http": "http"}
    if protocol not in modules:
        raise ConfigurationError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL: {protocol!r} is not grpc or http/protobuf"
        )
    module = f"opentelemetry.exporter.otlp.proto.{modules[protocol]}.trace_exporter"
    try:
        exporter_class = importlib.import_module(module).OTLPSpanExporter
    except ImportError:
        raise ConfigurationError(
            f"OTEL_TRACES_EXPORTER=otlp ({protocol}) needs the OTLP exporter: {_INSTALL}, "
            "or set OTEL_TRACES_EXPORTER=console"
        ) from None
    return exporter_class()


def configure_tracing(service_name: str = "streamllm") -> Callable[[], None]:
    """Install a tracer provider from the environment (unless one is set already);
    returns what flushes and shuts it down (call it when the process stops)."""
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise ConfigurationError(
            'OpenTelemetry tracing needs the SDK: pip install "streamllm[otel]"'
        ) from None
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):  # the application set one up
        return lambda: None
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    spec = os.environ.get("OTEL_TRACES_EXPORTER") or ("otlp" if endpoint else "console")
    names = [n.strip().lower() for n in spec.split(",") if n.strip()]
    exporters = [_exporter(n) for n in names if n != "none"]
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service_name}
    provider = TracerProvider(resource=Resource.create(attributes))
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider.shutdown
