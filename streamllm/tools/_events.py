"""The three events of a tool run, built by the run manager.

Payloads are made JSON-compatible and read-only here, once: ``args`` as the
model (or the caller) sent them, ``output`` as the function returned it, with
anything JSON cannot hold turned into its ``repr`` (events stay recordable,
and the caller still gets the real output).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pydantic_core import to_jsonable_python

from streamllm._frozen import FrozenDict, freeze, freeze_mapping
from streamllm.callbacks.chain import jsonable
from streamllm.callbacks.run import RunManager
from streamllm.events import ErrorInfo, Reason, ToolEnd, ToolError, ToolStart

__all__ = ["end_event", "error_event", "event_output", "start_event"]

_SCALARS = frozenset({str, int, bool, type(None)})
_MAX_REPR = 200
_START, _END = ToolStart.slot, ToolEnd.slot
_NO_FIELDS: Mapping[str, Any] = MappingProxyType({})
_new_dict = dict.__new__
_fill_dict = dict.update


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def event_output(output: Any) -> Any:
    """``output`` as ``ToolEnd.output`` holds it: read-only JSON, or a short repr."""
    if type(output) in _SCALARS:
        return output
    try:
        return freeze(to_jsonable_python(output, fallback=_short_repr), "output")
    except (TypeError, ValueError):  # NaN, infinity, a key JSON cannot hold
        return _short_repr(output)


def _event_args(args: Mapping[str, Any]) -> Any:
    if type(args) is dict:  # the common case, scalars: a read-only copy is all freezing does
        for key, value in args.items():
            if type(key) is not str or type(value) not in _SCALARS:
                break
        else:
            frozen = _new_dict(FrozenDict)
            _fill_dict(frozen, args)
            return frozen
    try:
        return freeze_mapping(args, "args")
    except (TypeError, ValueError):  # a caller's dict holding Python objects
        return freeze(jsonable(args), "args")


# Payloads are converted only when a handler wants the event (``build``
# returns None then, and still marks the run done for a terminal kind).
def start_event(run: RunManager, tool_call_id: str | None, args: Mapping[str, Any]) -> Any:
    if not run.wants(_START):
        return None
    return run.make(ToolStart, {"tool_call_id": tool_call_id, "args": _event_args(args)})


def end_event(run: RunManager, output: Any) -> Any:
    if not run.wants(_END):
        return run.build(ToolEnd, _NO_FIELDS)  # None, and the run is done
    if type(output) not in _SCALARS:
        output = event_output(output)
    return run.build(ToolEnd, {"output": output})


def error_event(run: RunManager, exc: BaseException, reason: Reason) -> Any:
    return run.build(ToolError, {"error": ErrorInfo.of(exc), "reason": reason})
