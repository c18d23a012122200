"""The public names of streamllm.handlers, and the lazy OpenTelemetry export."""

from __future__ import annotations

import sys
import types

import pytest

import streamllm.handlers as handlers


def test_public_names_do_not_drift() -> None:
    """__all__ is sorted and names exactly the public handlers."""
    assert handlers.__all__ == sorted(handlers.__all__)
    assert set(handlers.__all__) == {
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
    }
    for name in handlers.__all__:
        if name != "OpenTelemetryHandler":
            assert name in vars(handlers), name


def test_opentelemetry_handler_is_imported_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenTelemetryHandler comes from streamllm.handlers.otel, imported lazily."""
    fake = types.ModuleType("streamllm.handlers.otel")
    marker = type("OpenTelemetryHandler", (), {})
    fake.OpenTelemetryHandler = marker  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "streamllm.handlers.otel", fake)
    assert handlers.OpenTelemetryHandler is marker
    assert "OpenTelemetryHandler" in dir(handlers)


def test_unknown_names_raise_attribute_error() -> None:
    """A typo is an AttributeError, not an import attempt."""
    with pytest.raises(AttributeError, match="NoSuchHandler"):
        handlers.NoSuchHandler  # noqa: B018
