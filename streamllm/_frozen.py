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

import math
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
    except _NotJson as exc:
        raise exc.error(f"{where}{''.join(reversed(exc.path))} {exc.what}") from None


def freeze_mapping(value: Mapping[str, Any], where: str = "value") -> FrozenDict:
    """:func:`freeze` for a mapping: a ``TypeError`` if ``value`` is not one."""
    if isinstance(value, FrozenDict):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(f"{where} is a {type(value).__name__}, not a mapping")
    frozen: FrozenDict = freeze(value, where)
    return frozen


class _NotJson(Exception):
    """Raised inside the walk; :func:`freeze` turns it into the public error with its path."""

    def __init__(self, what: str, error: type[Exception]) -> None:
        self.what, self.error = what, error
        self.path: list[str] = []


_TERMINAL_VALUES = (str, bool, int, type(None), FrozenDict, FrozenList)
_new_dict = dict.__new__
_new_list = list.__new__
_fill_dict = dict.update
_fill_list = list.extend


def _freeze(value: Any) -> Any:
    # The happy path builds no path strings: the walk runs once per call's
    # metadata and per chunk that carries provider extras.
    if isinstance(value, _TERMINAL_VALUES):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        raise _NotJson(f"is {value!r}: JSON has no NaN or infinity", ValueError)
    if isinstance(value, Mapping):
        plain = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _NotJson(f"has the key {key!r}: JSON object keys are strings", TypeError)
            try:
                frozen = _freeze(item)
            except _NotJson as exc:
                exc.path.append(f"[{key!r}]")
                raise
            plain[key] = frozen
        out = _new_dict(FrozenDict)
        _fill_dict(out, plain)
        return out
    if isinstance(value, list | tuple):
        items = []
        for i, item in enumerate(value):
            try:
                items.append(_freeze(item))
            except _NotJson as exc:
                exc.path.append(f"[{i}]")
                raise
        out_list = _new_list(FrozenList)
        _fill_list(out_list, items)
        return out_list
    raise _NotJson(f"is a {type(value).__name__}, which is not a JSON value", TypeError)


#: The field type of read-only JSON objects on events: validation freezes the
#: value, serialisation is that of a plain ``dict``, the JSON schema an object.
JsonMapping = Annotated[Mapping[str, JsonValue], AfterValidator(freeze_mapping)]
