"""Build trusted pydantic instances without re-validation.

The hot path creates one event per streamed token from data the library built
itself. Validating it again costs several microseconds; ``model_construct`` is
slower still. :func:`trusted` sets the four slots a pydantic model instance
needs, exactly as validation would leave them, so equality, ``repr`` and
serialisation behave the same as for a validated instance. :func:`trusted_event`
sets only ``__dict__``: events answer the other three through
``BaseEvent.__getattr__``, which saves about 250 ns per token.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_new = object.__new__
_set_dict = object.__setattr__
_set_instance_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def trusted(cls: type[M], data: dict[str, Any], fields_set: frozenset[str]) -> M:
    """Return an instance of ``cls`` holding ``data`` (every field, already valid)."""
    obj: M = _new(cls)
    _set_dict(obj, "__dict__", data)
    _set_fields_set(obj, fields_set)
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


def all_fields(cls: type[BaseModel]) -> frozenset[str]:
    """The ``fields_set`` a fully populated instance of ``cls`` has."""
    return frozenset(cls.model_fields)


def trusted_event(cls: type[M], data: dict[str, Any]) -> M:
    """Like :func:`trusted`, for event classes (see the module docstring)."""
    obj: M = _new(cls)
    _set_instance_dict(obj, data)
    return obj
