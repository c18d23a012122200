"""Build trusted pydantic instances without re-validation.

The hot path creates one event per streamed token from data the library built
itself. Validating it again costs about 1.5 µs; ``model_construct`` is slower
still (about 3 µs). A pydantic instance is four per-instance slots:
``__dict__`` (the field values), ``__pydantic_fields_set__``,
``__pydantic_extra__`` and ``__pydantic_private__``.

- :func:`trusted` sets all four, as validation leaves them for a model with no
  extra fields and no private attributes (what ``model_construct`` does
  inside, without its per-field loop). For values built once per run.
- :func:`trusted_event` sets only ``__dict__``: per token, the three other
  writes cost about 0.15 µs, as much as the rest of building the event. Event
  classes opt in with :func:`fill_slots_lazily`, which puts a data descriptor
  over each of the three slots: the first read of an unset slot stores what
  validation would have stored (the class's fields, ``None``, ``None``) and
  returns it. pydantic reads and writes these slots by name (``==``,
  ``model_copy``, pickling, ``model_dump``, ``model_fields_set``, its Rust
  serializer), so every operation sees a complete instance; after the first
  read it is one, slot for slot.

Which slots exist is pydantic's business, so this module checks them when it
is imported: a pydantic release that adds or renames one fails loudly here,
not as a strange event later.
"""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

from pydantic import BaseModel

__all__ = [
    "FieldsSet",
    "all_fields",
    "fill_slots_lazily",
    "new_object",
    "set_dict",
    "trusted",
    "trusted_event",
]

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

    One shared set saves building a set per instance. It cannot be changed, so
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


_ALL_FIELDS: dict[type[BaseModel], FieldsSet] = {}


def all_fields(cls: type[BaseModel]) -> FieldsSet:
    """The ``fields_set`` a fully populated instance of ``cls`` has (one per class).

    Refuses a class that :func:`trusted` cannot build the way validation would.
    """
    fields = _ALL_FIELDS.get(cls)
    if fields is None:
        if cls.__private_attributes__ or cls.model_config.get("extra") == "allow":
            raise TypeError(f"{cls.__name__} has private attributes or extra fields: validate it")
        fields = _ALL_FIELDS[cls] = FieldsSet(cls.model_fields)
    return fields


def trusted(cls: type[M], data: dict[str, Any], fields_set: set[str]) -> M:
    """Return an instance of ``cls`` holding ``data`` (every field, already valid).

    ``cls`` must forbid or ignore extra fields and have no private attributes;
    ``fields_set`` is best the :func:`all_fields` of ``cls``.
    """
    obj: M = _new(cls)
    _set_dict(obj, data)
    _set_fields_set(obj, fields_set)
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


def trusted_event(cls: type[M], data: dict[str, Any]) -> M:
    """An instance of ``cls`` holding ``data`` (every field, already valid), for
    classes built on every token; ``cls`` must derive from a class given to
    :func:`fill_slots_lazily`."""
    obj: M = _new(cls)
    _set_dict(obj, data)
    return obj


#: :func:`trusted_event`'s two steps, for the per-fragment builders that inline
#: it (on that path a Python call costs as much as the work).
new_object = _new
set_dict = _set_dict


class _LazySlot:
    """One of BaseModel's slots; an unset one is filled on first read (see the module doc)."""

    __slots__ = ("_delete", "_get", "_set", "default")

    def __init__(self, name: str) -> None:
        slot = BaseModel.__dict__[name]
        self._get, self._set, self._delete = slot.__get__, slot.__set__, slot.__delete__
        self.default = all_fields if name == "__pydantic_fields_set__" else _none

    def __get__(self, obj: BaseModel | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        try:
            return self._get(obj, owner)
        except AttributeError:
            value = self.default(type(obj))
            self._set(obj, value)
            return value

    def __set__(self, obj: BaseModel, value: Any) -> None:
        self._set(obj, value)

    def __delete__(self, obj: BaseModel) -> None:
        self._delete(obj)


def _none(cls: type[BaseModel]) -> None:
    all_fields(cls)  # refuses private attributes and extra fields
    return None


def fill_slots_lazily(cls: type[BaseModel]) -> None:
    """Let :func:`trusted_event` build ``cls`` and its subclasses (see the module doc)."""
    for name in _SLOTS[1:]:
        setattr(cls, name, _LazySlot(name))
