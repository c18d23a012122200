"""Turning what users pass as a handler into a dispatch entry, once.

A handler is a :class:`CallbackHandler` or :class:`AsyncCallbackHandler`
instance, a plain callable ``fn(event)`` that receives every event, or a
mapping ``{"on_llm_new_token": fn, ...}``. Anything else, and any mapping key
that is not a hook name, is refused with a :class:`ConfigurationError` when the
call starts, before the provider is called.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias, final

from streamllm.callbacks.base import AsyncCallbackHandler, CallbackHandler
from streamllm.errors import ConfigurationError
from streamllm.events import HOOKS, BaseEvent

__all__ = ["Entry", "Handler", "Hook", "resolve", "resolve_all"]

Hook: TypeAlias = Callable[[Any], Any]
Handler: TypeAlias = (
    CallbackHandler | AsyncCallbackHandler | Callable[[BaseEvent], Any] | Mapping[str, Hook]
)

_DEFAULTS = {
    id(getattr(base, name)) for base in (CallbackHandler, AsyncCallbackHandler) for name in HOOKS
}


def _is_async(fn: Hook) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    return call is not None and inspect.iscoroutinefunction(call)


@final
class Entry:
    """A handler resolved for dispatch: which hook serves which event kind.

    ``hooks[kind]`` is the callable for that event kind or None; ``is_async``
    tells, per kind, whether it must be awaited.
    """

    __slots__ = ("handler", "hooks", "is_async", "name", "raise_error")

    def __init__(
        self,
        handler: object,
        name: str,
        hooks: tuple[Hook | None, ...],
        raise_error: bool,
        is_async: tuple[bool, ...] | None = None,
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

    @property
    def has_async(self) -> bool:
        return any(self.is_async)

    def __repr__(self) -> str:
        wanted = [HOOKS[k] for k, h in enumerate(self.hooks) if h is not None]
        return f"Entry({self.name}, hooks={wanted})"


# Which hooks a handler class overrides, and which are async: found once per class.
_layouts: dict[type, tuple[tuple[bool, ...], tuple[bool, ...]]] = {}


def _layout(cls: type) -> tuple[tuple[bool, ...], tuple[bool, ...]]:
    funcs = [getattr(cls, name) for name in HOOKS]
    overridden = tuple(id(f) not in _DEFAULTS for f in funcs)
    return overridden, tuple(o and _is_async(f) for o, f in zip(overridden, funcs, strict=True))


def _name_of(obj: object) -> str:
    return getattr(obj, "__qualname__", None) or type(obj).__qualname__


def resolve(handler: object) -> Entry:
    """Check one handler and find the hooks it implements."""
    if isinstance(handler, Entry):
        return handler
    if isinstance(handler, CallbackHandler | AsyncCallbackHandler):
        layout = _layouts.get(type(handler))
        if layout is None:
            layout = _layouts[type(handler)] = _layout(type(handler))
        overridden, is_async = layout
        hooks: list[Hook | None] = [
            getattr(handler, name) if wanted else None
            for name, wanted in zip(HOOKS, overridden, strict=True)
        ]
        wants = getattr(handler, "_streamllm_wants_", None)
        if wants is not None:
            # Wrappers (BackgroundHandler) override every hook but want only
            # what the handler they wrap wants.
            hooks = [h if wants(kind) else None for kind, h in enumerate(hooks)]
        return Entry(
            handler,
            type(handler).__qualname__,
            tuple(hooks),
            bool(handler.raise_error),
            None if wants is not None else is_async,
        )
    if isinstance(handler, Mapping):
        unknown = [key for key in handler if key not in HOOKS]
        if unknown:
            raise ConfigurationError(
                f"handler mapping has unknown hook name(s) {sorted(map(str, unknown))}: "
                f"valid names are {', '.join(HOOKS)}"
            )
        for key, value in handler.items():
            if not callable(value):
                raise ConfigurationError(
                    f"handler mapping entry {key!r} is a {type(value).__name__}, not a callable"
                )
        mapped = tuple(handler.get(name) for name in HOOKS)
        return Entry(handler, f"mapping({', '.join(handler)})", mapped, False)
    if isinstance(handler, type):
        raise ConfigurationError(
            f"{handler.__qualname__} is a class, not a handler: pass an instance, "
            f"e.g. callbacks=[{handler.__qualname__}()]"
        )
    if callable(handler):
        raise_error = bool(getattr(handler, "raise_error", False))
        fn: Hook = handler
        return Entry(handler, _name_of(handler), (fn,) * len(HOOKS), raise_error)
    raise ConfigurationError(
        f"{type(handler).__qualname__} object is not a handler: pass a CallbackHandler, "
        "an AsyncCallbackHandler, a callable taking one event, or a mapping of hook "
        "names to callables"
    )


def resolve_all(handlers: object) -> tuple[Entry, ...]:
    """Resolve a sequence of handlers (``None`` is no handlers)."""
    if handlers is None:
        return ()
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


AwaitableHook: TypeAlias = Callable[[Any], Awaitable[None]]
