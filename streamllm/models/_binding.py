"""What ``model.bind(**params)`` may bind: the model's generation parameters.

``bind`` returns a copy of the model (``_copy_with``: the constructor's
validation, so a wrong value is the constructor's :class:`ConfigurationError`),
not a wrapper object, so the copy keeps every method (``invoke``, ``stream``,
``batch``, ``generate``, ``astream_events``, ``bind_tools``,
``with_structured_output``) without a second implementation of any. The names
it takes are the fields that ``invocation_params`` reports: the handlers,
tags and metadata belong to ``with_config``, the tools to ``bind_tools``, and
transport or script fields (``base_url``, ``api_key``, ``responses``) to the
constructor.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import ValidationError

from streamllm.errors import ConfigurationError
from streamllm.models._stop import check_stop

__all__ = ["bindable", "check_bind", "config_error"]

_ELSEWHERE = {
    "callbacks": "with_config(callbacks=...)",
    "tags": "with_config(tags=...)",
    "metadata": "with_config(metadata=...)",
    "run_name": "with_config(run_name=...)",
    "tools": "bind_tools(...)",
    "tool_choice": "bind_tools(..., tool_choice=...)",
}


@cache
def bindable(cls: type, not_params: frozenset[str]) -> frozenset[str]:
    """The fields of ``cls`` that ``bind`` takes: its generation parameters."""
    fields: Mapping[str, Any] = cls.model_fields  # type: ignore[attr-defined]
    hidden: frozenset[str] = cls.hidden_params  # type: ignore[attr-defined]
    return frozenset(name for name in fields if name not in not_params | hidden)


def check_bind(cls: type, params: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    """``params`` as the fields to copy (``stop`` may be one string, as per call),
    or a :class:`ConfigurationError` naming each key that ``bind`` does not take
    and where it belongs instead."""
    unknown = sorted(set(params) - allowed)
    if not unknown:
        stop = params.get("stop")
        return {**params, "stop": check_stop(stop)} if stop is not None else dict(params)
    hints = [f"{k}: use {_ELSEWHERE[k]}" for k in unknown if k in _ELSEWHERE]
    hint = f" ({'; '.join(hints)})" if hints else ""
    raise ConfigurationError(
        f"{cls.__name__}.bind takes generation parameters, not {unknown}{hint}; "
        f"it takes {', '.join(sorted(allowed))}"
    )


def config_error(exc: ValidationError, cls: type) -> ConfigurationError:
    """The :class:`ConfigurationError` for invalid fields of ``cls`` (at
    construction, assignment or ``bind``), naming each field."""
    details = "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors()
    )
    error = ConfigurationError(f"invalid {cls.__name__} parameters: {details}")
    error.__cause__ = exc
    return error
