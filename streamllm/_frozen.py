"""Read-only JSON values: what events hold cannot be changed by a handler.

:func:`freeze` checks that a value is JSON-compatible and returns it deeply
read-only: mappings become :class:`FrozenDict`, lists and tuples
:class:`FrozenList`. Both subclass the built-in ``dict`` and ``list``, so they
compare equal to plain dicts and lists, serialise with ``json`` and pydantic
as they are, and pickle; only the methods that would change them raise::

    >>> meta = freeze({"user": "ada", "ids": [1, 2]})
    >>> meta == {"user": "ada", "ids": [1, 2]}
    True
    >>> meta["user"] = "bob"
    Traceback (most recent call last):
    TypeError: this mapping is read-only (events are frozen): copy it with dict(...) to change it

Freezing a value that is already frozen returns it unchanged, so a model can
freeze its parameters once and every run passes them on for free.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Annotated, Any, NoReturn

from pydantic import AfterValidator, JsonValue

__all__ = ["FrozenDict", "FrozenList", "JsonMapping", "freeze", "freeze_mapping"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _read_only_dict(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(
        "this mapping is read-only (events are frozen): copy it with dict(...) to change it"
    )


def _read_only_list(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(
        "this list is read-only (events are frozen): copy it with list(...) to change it"
    )


class FrozenDict(dict[str, Any]):
    """A ``dict`` whose contents are checked JSON and cannot be changed.

    ``FrozenDict(mapping)`` checks and freezes like :func:`freeze_mapping`.
    """

    __slots__ = ()

    def __init__(self, data: Mapping[str, Any] = _EMPTY, /) -> None:
        dict.update(self, freeze_mapping(data))

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[str, Any]]]:
        # The default reduce of a dict subclass refills it item by item, which
        # would go through the blocked __setitem__.
        return (type(self), (dict(self),))

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"

    __setitem__ = __delitem__ = __ior__ = _read_only_dict
    clear = pop = popitem = setdefault = update = _read_only_dict


class FrozenList(list[Any]):
    """A ``list`` whose items are checked JSON and cannot be changed."""

    __slots__ = ()

    def __init__(self, data: Iterable[Any] = (), /) -> None:
        list.extend(self, freeze(list(data)))

    def __reduce__(self) -> tuple[type[FrozenList], tuple[list[Any]]]:
        return (type(self), (list(self),))

    def __repr__(self) -> str:
        return f"FrozenList({list.__repr__(self)})"

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only_list
    append = extend = insert = pop = remove = clear = sort = reverse = _read_only_list


def freeze(value: Any, where: str = "value") -> Any:
    """``value`` checked to be JSON-compatible, with every container made read-only.

    Raises ``TypeError`` naming the path of the first part that is not JSON
    (a set, bytes, an object, a non-string key) and ``ValueError`` for a float
    that JSON cannot hold (NaN, infinity)::

        >>> freeze({"a": [1, {2, 3}]}, "metadata")
        Traceback (most recent call last):
        TypeError: metadata['a'][1] is a set, which is not a JSON value
    """
    try:
        return _freeze(value)
    except _NotJson:
        path, what, error = _first_problem(value)
        raise error(f"{where}{path} {what}") from None


def freeze_mapping(value: Mapping[str, Any], where: str = "value") -> FrozenDict:
    """:func:`freeze` for a mapping: a ``TypeError`` if ``value`` is not one."""
    if isinstance(value, FrozenDict):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(f"{where} is a {type(value).__name__}, not a mapping")
    frozen: FrozenDict = freeze(value, where)
    return frozen


class _NotJson(Exception):
    """The walk met a value that is not JSON; :func:`_first_problem` says where."""


_LEAVES = frozenset({str, int, bool, type(None), FrozenDict, FrozenList})
_new_dict = dict.__new__
_new_list = list.__new__
_fill_dict = dict.update
_fill_list = list.extend


def _freeze(value: Any) -> Any:
    # Runs per call on its metadata and per chunk that carries provider extras
    # (logprobs: dozens of values), so the common types are matched exactly
    # first and no error path is built unless something is wrong.
    kind = type(value)
    if kind in _LEAVES:
        return value
    if kind is float:
        if value - value == 0.0:  # false for NaN and the infinities
            return value
        raise _NotJson
    if kind is dict or (kind is not list and kind is not tuple and isinstance(value, Mapping)):
        plain = {}
        for key, item in value.items():
            if type(key) is not str and not isinstance(key, str):
                raise _NotJson
            plain[key] = _freeze(item)
        frozen_dict = _new_dict(FrozenDict)
        _fill_dict(frozen_dict, plain)
        return frozen_dict
    if kind is list or kind is tuple or isinstance(value, list | tuple):
        frozen_list = _new_list(FrozenList)
        _fill_list(frozen_list, [_freeze(item) for item in value])
        return frozen_list
    if isinstance(value, str | int):  # subclasses: enums and the like
        return value
    if isinstance(value, float):
        return _freeze(float(value))
    raise _NotJson


def _first_problem(value: Any) -> tuple[str, str, type[Exception]]:
    """The path, description and error type of the first non-JSON part of ``value``."""
    if isinstance(value, float):
        return "", f"is {value!r}: JSON has no NaN or infinity", ValueError
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return "", f"has the key {key!r}: JSON object keys are strings", TypeError
            try:
                _freeze(item)
            except _NotJson:
                path, what, error = _first_problem(item)
                return f"[{key!r}]{path}", what, error
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            try:
                _freeze(item)
            except _NotJson:
                path, what, error = _first_problem(item)
                return f"[{index}]{path}", what, error
    return "", f"is a {type(value).__name__}, which is not a JSON value", TypeError


#: The field type of read-only JSON objects on events: validation freezes the
#: value, serialisation is that of a plain ``dict``, the JSON schema an object.
JsonMapping = Annotated[Mapping[str, JsonValue], AfterValidator(freeze_mapping)]
