"""The library's loggers: structlog wrapped around standard library loggers.

streamllm never calls ``structlog.configure()`` and never prints: records go to
the standard library logger ``streamllm.<module>``, so the application's
logging configuration decides where they end up, and pytest's ``caplog`` sees
them. Each record's message reads ``event key=value ...``; the fields are also
attached to the record as ``record.streamllm`` (a dict).

One concession to testing: while :func:`structlog.testing.capture_logs` is
active, records are handed to its capture instead (as it does for loggers that
use structlog's global configuration), so users' tests can read ours too.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any, cast

import structlog
from structlog.stdlib import BoundLogger
from structlog.testing import LogCapture
from structlog.typing import EventDict

__all__ = ["get_logger"]

_RECORD_KEYS = ("exc_info", "stack_info")


def _forward_to_capture(logger: Any, method: str, event: EventDict) -> EventDict:
    for processor in structlog.get_config()["processors"]:
        if isinstance(processor, LogCapture):
            processor(logger, method, event)  # raises DropEvent, as capture_logs expects
    return event


def _to_stdlib(logger: Any, method: str, event: MutableMapping[str, Any]) -> dict[str, Any]:
    kwargs = {key: event.pop(key) for key in _RECORD_KEYS if key in event}
    message = str(event.pop("event", ""))
    fields = " ".join(f"{key}={value}" for key, value in event.items())
    return {
        "msg": f"{message} {fields}" if fields else message,
        "extra": {"streamllm": dict(event)},
        **kwargs,
    }


def get_logger(name: str) -> BoundLogger:
    """A structlog logger writing to the standard library logger ``name``."""
    return cast(
        BoundLogger,
        structlog.wrap_logger(
            logging.getLogger(name),
            processors=[
                structlog.stdlib.filter_by_level,
                _forward_to_capture,
                _to_stdlib,
            ],
            wrapper_class=BoundLogger,
            cache_logger_on_first_use=True,
        ),
    )
