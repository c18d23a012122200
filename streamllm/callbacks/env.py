"""Global handlers from the environment: ``STREAMLLM_TRACING``.

``STREAMLLM_TRACING="stdout,logging,jsonl:runs.jsonl,otel"`` attaches those
built-in handlers as global handlers. The variable is read once, on the first
run of the process (not at import), so a program may still set it before its
first call. An unknown name raises a :class:`ConfigurationError` naming it
(on every call until it is fixed, rather than tracing silently being off).

Tests that change the variable call :func:`reset_env_tracing` to detach the
handlers it attached and read it again on the next run.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable

from streamllm.callbacks import context
from streamllm.callbacks.registry import Entry, Handler, resolve_all
from streamllm.errors import ConfigurationError

__all__ = ["ENV_VAR", "handlers_from_spec", "reset_env_tracing"]

ENV_VAR = "STREAMLLM_TRACING"

_NAMES = "stdout, logging, jsonl:PATH, otel, redis:URL"
_lock = threading.Lock()
_loaded: tuple[Entry, ...] = ()


# The built-in handlers by name, as "module:class": imported only when named
# (OpenTelemetry is heavy), and by name because handlers sit above this layer.
_FACTORIES = {
    "stdout": "streamllm.handlers.stdout:StdOutHandler",
    "logging": "streamllm.handlers.log:LoggingHandler",
    "otel": "streamllm.handlers.otel:OpenTelemetryHandler",
    "jsonl": "streamllm.handlers.recorder:JSONLRecorder",
    "redis": "streamllm.bus.publisher:publisher_for_url",
}


def _factory(key: str) -> Callable[..., Handler]:
    module, _, name = _FACTORIES[key].partition(":")
    factory: Callable[..., Handler] = getattr(importlib.import_module(module), name)
    return factory


def _one(item: str) -> Handler:
    name, sep, arg = item.partition(":")
    key = name.strip().lower()
    if key == "jsonl":
        path = arg.strip()
        if not sep or not path:
            raise ConfigurationError(f"{ENV_VAR}: 'jsonl' needs a path, e.g. jsonl:runs.jsonl")
        try:
            return _factory("jsonl")(path)
        except OSError as exc:
            raise ConfigurationError(
                f"{ENV_VAR}: cannot write the recording jsonl:{path} "
                f"({exc.strerror or type(exc).__name__})"
            ) from exc
    if key == "redis":
        url = arg.strip()
        if not sep or not url:
            raise ConfigurationError(
                f"{ENV_VAR}: 'redis' needs a URL, e.g. redis:redis://127.0.0.1:6379/0"
            )
        return _factory("redis")(url, ENV_VAR)
    if sep:
        raise ConfigurationError(f"{ENV_VAR}: {key!r} takes no argument (got {item!r})")
    if key in _FACTORIES:
        return _factory(key)()
    raise ConfigurationError(f"{ENV_VAR}: unknown handler {name.strip()!r}; use {_NAMES}")


def handlers_from_spec(spec: str) -> list[Handler]:
    """The handlers a ``STREAMLLM_TRACING`` value names, in order.

    >>> handlers_from_spec("")
    []
    """
    items = [item.strip() for item in spec.split(",")]
    return [_one(item) for item in items if item]


def _load() -> tuple[Entry, ...]:
    """The loader the first run calls (through ``context._env_loader``)."""
    global _loaded
    try:
        entries = resolve_all(handlers_from_spec(os.environ.get(ENV_VAR, "")))
    except Exception:
        # Re-arm, so the next run reports the same error instead of running untraced.
        _arm()
        raise
    with _lock:
        _loaded = entries
    return entries


def _arm() -> None:
    with _lock:
        if _load not in context._env_loader:
            context._env_loader.append(_load)


def reset_env_tracing() -> None:
    """Detach the handlers ``STREAMLLM_TRACING`` attached (closing those that can
    be closed) and read the variable again on the next run. Meant for tests."""
    global _loaded
    with _lock:
        loaded, _loaded = _loaded, ()
    for entry in loaded:
        context.remove_global_handler(entry.handler)  # type: ignore[arg-type]
        close = getattr(entry.handler, "close", None)
        if callable(close):
            close()
    _arm()


_arm()
