"""Turning what users pass as a handler into a dispatch entry, once.

A handler is a :class:`CallbackHandler` or :class:`AsyncCallbackHandler`
instance, a plain callable ``fn(event)`` that receives every event, or a
mapping ``{"on_llm_new_token": fn, ...}``. Anything else, any mapping key that
is not a hook name, and any hook that cannot be called with exactly one event
is refused with a :class:`ConfigurationError` when the handler is attached,
before the provider is called.

The hook names come from the event classes (:data:`streamllm.events.HOOKS`),
so a new event kind needs nothing here. ``on_event`` is the catch-all: it
serves every kind the handler has no specific hook for.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias, final

from streamllm.callbacks.base import AsyncCallbackHandler, CallbackHandler, HandlerWrapper
from streamllm.errors import ConfigurationError
from streamllm.events import HOOKS, BaseEvent

__all__ = ["CATCH_ALL", "Entry", "Handler", "Hook", "receiver_entry", "resolve", "resolve_all"]

Hook: TypeAlias = Callable[[Any], Any]
Handler: TypeAlias = (
    CallbackHandler | AsyncCallbackHandler | Callable[[BaseEvent], Any] | Mapping[str, Hook]
)

#: The hook that receives every event a handler has no specific hook for.
CATCH_ALL = "on_event"

_N = len(HOOKS)
_DEFAULTS = {
    id(getattr(base, name))
    for base in (CallbackHandler, AsyncCallbackHandler)
    for name in (*HOOKS, CATCH_ALL)
    if hasattr(base, name)
}
_BRIDGE = "streamllm.integrations.langchain.from_langchain"


def _is_async(fn: Hook) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    return call is not None and inspect.iscoroutinefunction(call)


@final
class Entry:
    """A handler resolved for dispatch: which hook serves which event kind.

    ``hooks[slot]`` is the callable for that event kind or None; ``is_async``
    tells, per kind, whether it must be awaited. ``wraps`` is the entry of the
    handler a :class:`HandlerWrapper` stands for (its hooks decide which kinds
    reach the wrapper, its ``raise_error`` is the wrapper's).
    """

    __slots__ = ("handler", "hooks", "is_async", "name", "raise_error", "wraps")

    def __init__(
        self,
        handler: object,
        name: str,
        hooks: tuple[Hook | None, ...],
        raise_error: bool,
        is_async: tuple[bool, ...] | None = None,
        wraps: Entry | None = None,
    ) -> None:
        self.handler = handler
        self.name = name
        self.hooks = hooks
        self.is_async = (
            is_async
            if is_async is not None
            else tuple(h is not None and _is_async(h) for h in hooks)
        )
        self.raise_error = raise_error
        self.wraps = wraps

    @property
    def has_async(self) -> bool:
        return any(self.is_async)

    def __repr__(self) -> str:
        wanted = [HOOKS[k] for k, h in enumerate(self.hooks) if h is not None]
        return f"Entry({self.name}, hooks={wanted})"


def _check_signature(fn: Callable[..., Any], where: str, hook: str) -> None:
    """A hook takes exactly one event, positionally (LangChain's ``(token, **kwargs)``
    style would receive the event as ``token`` and fail on every call)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # builtins without a signature: nothing to check
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    try:
        sig.bind(None)
        fits = not takes_kwargs
    except TypeError:
        fits = False
    if not fits:
        raise ConfigurationError(
            f"{where}: hook {hook}{sig} must take exactly one event, e.g. "
            f"'def {hook}(self, event: NewToken) -> None' (read event.token and the "
            f"other fields from it; no **kwargs). A LangChain handler can be attached "
            f"through {_BRIDGE}(handler)."
        )


# Which hook serves each kind for a handler class, found (and checked) once per class.
_layouts: dict[type, tuple[tuple[str | None, ...], tuple[bool, ...]]] = {}


def _layout(cls: type) -> tuple[tuple[str | None, ...], tuple[bool, ...]]:
    layout = _layouts.get(cls)
    if layout is not None:
        return layout

    def own(name: str) -> Callable[..., Any] | None:
        fn = getattr(cls, name, None)
        if fn is None or id(fn) in _DEFAULTS:
            return None
        if not callable(fn):
            raise ConfigurationError(f"{cls.__qualname__}.{name} is not a method")
        static = isinstance(inspect.getattr_static(cls, name), staticmethod)
        # Bound to a dummy instance so ``self`` is not counted as the event.
        _check_signature(fn if static else fn.__get__(object()), cls.__qualname__, name)
        return fn  # type: ignore[no-any-return]

    catch_all = own(CATCH_ALL)
    names: list[str | None] = []
    is_async: list[bool] = []
    for hook in HOOKS:
        fn = own(hook)
        name = hook if fn is not None else (CATCH_ALL if catch_all is not None else None)
        names.append(name)
        is_async.append(name is not None and _is_async(fn or catch_all))  # type: ignore[arg-type]
    layout = _layouts[cls] = (tuple(names), tuple(is_async))
    return layout


def _name_of(obj: object) -> str:
    return getattr(obj, "__qualname__", None) or type(obj).__qualname__


#: Entries of handler objects seen recently, by the object's id: a handler
#: passed per call (``callbacks=[h]``) gets the same entry every time, so the
#: run's dispatch tables are found in their cache instead of built again. A hit
#: must be the same object, of the same class, with the same ``raise_error``;
#: the value keeps the object alive, so its id is not reused while cached.
_entries: dict[int, tuple[object, type, Entry]] = {}
_ENTRIES_SIZE = 256


def _cached(handler: object) -> Entry | None:
    """The cached entry of this handler object, if it is still its entry."""
    hit = _entries.get(id(handler))
    if (
        hit is not None
        and hit[0] is handler
        and hit[1] is type(handler)
        and hit[2].raise_error is bool(handler.raise_error)  # type: ignore[attr-defined]
    ):
        return hit[2]
    return None


def _resolve_object(handler: CallbackHandler | AsyncCallbackHandler) -> Entry:
    entry = _cached(handler)
    if entry is not None:
        return entry
    entry = _new_entry(handler)
    if entry.wraps is None:  # a wrapper's entry depends on its inner handler's
        if len(_entries) >= _ENTRIES_SIZE:
            _entries.clear()
        _entries[id(handler)] = (handler, type(handler), entry)
    return entry


def _new_entry(handler: CallbackHandler | AsyncCallbackHandler) -> Entry:
    layout = _layouts.get(type(handler))
    names, is_async = layout if layout is not None else _layout(type(handler))
    # A list comprehension: this runs for every handler passed per call.
    hooks = tuple([getattr(handler, n) if n is not None else None for n in names])
    if isinstance(handler, HandlerWrapper):
        # The wrapper receives exactly the kinds the wrapped handler wants.
        inner = resolve(handler.wrapped)
        catch_all = handler.on_event
        wrapped = tuple(catch_all if h is not None else None for h in inner.hooks)
        return Entry(handler, type(handler).__qualname__, wrapped, inner.raise_error, None, inner)
    return Entry(handler, type(handler).__qualname__, hooks, bool(handler.raise_error), is_async)


def resolve(handler: object) -> Entry:
    """Check one handler and find the hooks it implements."""
    if isinstance(handler, Entry):
        return handler
    if isinstance(handler, CallbackHandler | AsyncCallbackHandler):
        return _resolve_object(handler)
    if isinstance(handler, Mapping):
        known = (*HOOKS, CATCH_ALL)
        unknown = [key for key in handler if key not in known]
        if unknown:
            raise ConfigurationError(
                f"handler mapping has unknown hook name(s) {sorted(map(str, unknown))}: "
                f"valid names are {', '.join(known)}"
            )
        for key, value in handler.items():
            if not callable(value):
                raise ConfigurationError(
                    f"handler mapping entry {key!r} is a {type(value).__name__}, not a callable"
                )
            _check_signature(value, "handler mapping", key)
        catch_all = handler.get(CATCH_ALL)
        mapped = tuple(handler.get(name, catch_all) for name in HOOKS)
        return Entry(handler, f"mapping({', '.join(handler)})", mapped, False)
    if isinstance(handler, type):
        raise ConfigurationError(
            f"{handler.__qualname__} is a class, not a handler: pass an instance, "
            f"e.g. callbacks=[{handler.__qualname__}()]"
        )
    if callable(handler):
        _check_signature(handler, _name_of(handler), "__call__")
        raise_error = bool(getattr(handler, "raise_error", False))
        fn: Hook = handler
        return Entry(handler, _name_of(handler), (fn,) * _N, raise_error)
    raise ConfigurationError(
        f"{type(handler).__qualname__} object is not a handler: pass a CallbackHandler, "
        "an AsyncCallbackHandler, a callable taking one event, or a mapping of hook "
        f"names to callables{_langchain_hint(handler)}"
    )


def _langchain_hint(handler: object) -> str:
    # Recognised by module name: langchain-core is optional and never imported here.
    if any(c.__module__.startswith("langchain_core") for c in type(handler).__mro__):
        return f" (a LangChain handler: wrap it with {_BRIDGE}(handler))"
    return ""


def resolve_all(handlers: object) -> tuple[Entry, ...]:
    """Resolve a sequence of handlers (``None`` is no handlers)."""
    if handlers is None:
        return ()
    kind = type(handlers)
    if kind is list or kind is tuple:  # the common case: per call, often one handler
        items: list[object] | tuple[object, ...] = handlers  # type: ignore[assignment]
        return tuple([_cached(h) or resolve(h) for h in items])
    if isinstance(handlers, CallbackHandler | AsyncCallbackHandler | Mapping) or callable(handlers):
        raise ConfigurationError(
            "callbacks must be a list of handlers, e.g. callbacks=[handler], not one handler"
        )
    try:
        items = list(handlers)  # type: ignore[call-overload]
    except TypeError:
        raise ConfigurationError(
            f"callbacks must be a list of handlers, not {type(handlers).__qualname__}"
        ) from None
    return tuple(resolve(h) for h in items)


def receiver_entry(receiver: Callable[..., Any]) -> Entry:
    """An entry naming a blinker receiver, for the failure policy."""
    name = getattr(receiver, "__qualname__", repr(receiver))
    return Entry(receiver, f"signal receiver {name}", (None,) * _N, False)
