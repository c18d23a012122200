"""Build trusted pydantic instances without re-validation.

The hot path creates one event per streamed token from data the library built
itself. Validating it again costs about 1.5 µs; ``model_construct`` is slower
still (about 3 µs). :func:`trusted` does what ``model_construct`` does inside,
without its per-field loop: it sets the four per-instance slots of a pydantic
model (``__dict__``, ``__pydantic_fields_set__``, ``__pydantic_extra__``,
``__pydantic_private__``) exactly as validation leaves them for a model with no
extra fields and no private attributes. The instance is then an ordinary one:
``==``, ``repr``, ``model_copy``, pickling, ``model_dump``/``model_dump_json``
and ``model_fields_set`` all behave as for a validated instance.

Which slots exist is pydantic's business, so this module checks them when it
is imported: a pydantic release that adds or renames one fails loudly here,
not as a strange event later.
"""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

from pydantic import BaseModel

__all__ = ["FieldsSet", "all_fields", "trusted", "trusted_event"]

M = TypeVar("M", bound=BaseModel)

_SLOTS = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")


def _check_pydantic() -> None:
    slots = BaseModel.__dict__.get("__slots__")
    if slots is None or set(slots) != set(_SLOTS):
        raise ImportError(
            f"streamllm builds events through pydantic's instance slots {_SLOTS}, "
            f"but this pydantic has {slots}: install a supported pydantic (>=2.7)"
        )
    # What pickling saves is the whole per-instance state of a validated
    # instance: it must be these slots and nothing else.
    state = _Probe(x=1).__getstate__()
    if set(state) != set(_SLOTS) or state["__pydantic_extra__"] is not None:
        raise ImportError(
            f"pydantic's instance state is {sorted(state)}, not {_SLOTS}: "
            "install a supported pydantic (>=2.7)"
        )


class _Probe(BaseModel):
    x: int


_check_pydantic()

_new = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def _read_only(self: object, *args: object) -> NoReturn:
    raise TypeError("the fields set of a frozen model is read-only; copy it with set(...)")


class FieldsSet(set[str]):
    """The ``__pydantic_fields_set__`` shared by every trusted instance of one class.

    One shared set saves building a set per token. It cannot be changed, so
    sharing it is safe; a copy (which is what ``model_copy`` makes before it
    adds the updated names) is a plain ``set``.
    """

    __slots__ = ()

    def __copy__(self) -> set[str]:
        return set(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> set[str]:
        return set(self)

    add = clear = discard = pop = remove = update = _read_only
    difference_update = intersection_update = symmetric_difference_update = _read_only
    __ior__ = __iand__ = __isub__ = __ixor__ = _read_only


def all_fields(cls: type[BaseModel]) -> FieldsSet:
    """The ``fields_set`` a fully populated instance of ``cls`` has.

    Refuses a class that :func:`trusted` cannot build the way validation would.
    """
    if cls.__private_attributes__ or cls.model_config.get("extra") == "allow":
        raise TypeError(f"{cls.__name__} has private attributes or extra fields: validate it")
    return FieldsSet(cls.model_fields)


def trusted(cls: type[M], data: dict[str, Any], fields_set: set[str]) -> M:
    """Return an instance of ``cls`` holding ``data`` (every field, already valid).

    ``cls`` must forbid or ignore extra fields and have no private attributes;
    ``fields_set`` is best one :func:`all_fields` result reused per class.
    """
    obj: M = _new(cls)
    _set_dict(obj, data)
    _set_fields_set(obj, fields_set)
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


_EVENT_FIELDS: dict[type[BaseModel], FieldsSet] = {}


def trusted_event(cls: type[M], data: dict[str, Any]) -> M:
    """:func:`trusted` with every field set, for classes built on every token."""
    fields_set = _EVENT_FIELDS.get(cls)
    if fields_set is None:
        fields_set = _EVENT_FIELDS[cls] = all_fields(cls)
    obj: M = _new(cls)
    _set_dict(obj, data)
    _set_fields_set(obj, fields_set)
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj
