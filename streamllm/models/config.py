"""A call's options: :class:`RunnableConfig`, the keyword arguments, and how
they become one run's :class:`CallbackManager`, name and id.

Both are ``TypedDict``s, so an editor or mypy catches a misspelt key; at run
time an unknown key is a :class:`ConfigurationError` naming it, raised before
any provider call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias, TypedDict
from uuid import UUID

from streamllm.callbacks.manager import CallbackManager, check_metadata, check_tags
from streamllm.callbacks.registry import Entry, resolve_all
from streamllm.chat.inputs import ChatInput
from streamllm.chat.message import AIMessage
from streamllm.errors import ConfigurationError

__all__ = [
    "CallOptions",
    "LLMInput",
    "RunnableConfig",
    "check_bound_config",
    "check_version",
    "configure",
    "max_concurrency",
    "merge_configs",
]

#: One input of a call: a prompt, or a conversation: ``Message`` models,
#: ``{"role", "content"}`` dicts, ``(role, content)`` tuples, ``AIMessage``\ s.
LLMInput: TypeAlias = str | Sequence[ChatInput | AIMessage]


class CallOptions(TypedDict, total=False):
    """The keyword arguments of every call (``invoke(..., tags=["a"])``)."""

    callbacks: Sequence[Any] | None
    tags: Sequence[str] | None
    metadata: Mapping[str, Any] | None
    run_name: str | None
    run_id: UUID | str | None


class RunnableConfig(CallOptions, total=False):
    """The ``config`` argument, as in LangChain. ``max_concurrency`` applies to
    ``batch``/``generate`` (a single run accepts it and has nothing to limit);
    ``configurable`` and ``recursion_limit`` are accepted (LangChain code
    passes them) and have no effect here."""

    max_concurrency: int | None
    configurable: dict[str, Any]
    recursion_limit: int


_CALL_KEYS = frozenset(CallOptions.__annotations__)
_IGNORED_KEYS = frozenset({"configurable", "recursion_limit"})
_CONFIG_KEYS = _CALL_KEYS | _IGNORED_KEYS | {"max_concurrency"}
_NO_CONFIG: Mapping[str, Any] = {}  # never written to


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{what} must be a mapping (a dict), not {type(value).__name__}")
    return value


def _check_keys(keys: set[str], allowed: frozenset[str], what: str) -> None:
    unknown = keys - allowed
    if unknown:
        raise ConfigurationError(
            f"unknown {what} key(s) {sorted(unknown)}: use {', '.join(sorted(allowed))}"
        )


def _run_id(value: Any) -> UUID | None:
    if value is None or isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError as exc:
        raise ConfigurationError(f"run_id {value!r} is not a UUID") from exc


def configure(
    config: RunnableConfig | None,
    options: Mapping[str, Any],
    *,
    entries: tuple[Entry, ...],
    tags: Sequence[str] | None,
    metadata: Mapping[str, Any] | None,
    name: str,
    extra: tuple[Entry, ...] = (),
    batch: bool = False,
) -> tuple[CallbackManager, str, UUID | None]:
    """The manager, run name and run id of a call: the model's own ``entries``,
    ``tags`` and ``metadata``, then ``config``'s, then the keyword ``options``."""
    if config is None:
        if not options and not extra and not tags and not metadata:
            return CallbackManager.configure(inheritable=entries), name, None
        merged: Mapping[str, Any] = _NO_CONFIG
    else:
        merged = _mapping(config, "config")
        if not _CONFIG_KEYS.issuperset(merged):
            _check_keys(set(merged), _CONFIG_KEYS, "config")
    if not _CALL_KEYS.issuperset(options):
        _check_keys(set(options), _CALL_KEYS, "keyword")
    # Each part is looked at only when it is set: most calls pass one or two.
    get, option = merged.get, options.get
    callbacks = resolve_all(get("callbacks")) + resolve_all(option("callbacks"))
    config_tags, option_tags = get("tags"), option("tags")
    all_tags = check_tags(tags) if tags else ()
    if config_tags or option_tags:
        all_tags += check_tags(config_tags) + check_tags(option_tags)
    config_metadata, option_metadata = get("metadata"), option("metadata")
    if config_metadata is None and option_metadata is None:
        all_metadata = check_metadata(None if metadata is None else _mapping(metadata, "metadata"))
    else:
        all_metadata = check_metadata(
            {
                **_mapping(metadata, "metadata"),
                **_mapping(config_metadata, "config['metadata']"),
                **_mapping(option_metadata, "metadata"),
            }
        )
    run_name = option("run_name") or get("run_name") or name
    if not isinstance(run_name, str):
        raise ConfigurationError(f"run_name must be a string, not {type(run_name).__name__}")
    run_id = option("run_id") or get("run_id")
    if run_id is not None:
        run_id = _run_id(run_id)
        if batch:
            raise ConfigurationError("run_id applies to one run; batch starts several")
    manager = CallbackManager.configure(
        local=callbacks + extra,
        inheritable=entries,
        tags=tuple(dict.fromkeys(all_tags)) if len(all_tags) > 1 else all_tags,
        metadata=all_metadata,
    )
    return manager, run_name, run_id


def max_concurrency(argument: int | None, config: RunnableConfig | None) -> int | None:
    """The batch's concurrency limit: the argument, else ``config``'s; a
    positive integer or ``None`` (no limit beyond the pool's)."""
    limit = argument
    if limit is None and config is not None:
        limit = _mapping(config, "config").get("max_concurrency")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigurationError(f"max_concurrency must be a positive integer, not {limit!r}")
    return limit


def merge_configs(base: RunnableConfig, config: RunnableConfig | None) -> RunnableConfig:
    """``config`` over ``base`` (a model's :meth:`with_config` under a call's), as
    LangChain's ``merge_configs``: callbacks and tags add up, metadata and
    ``configurable`` merge (the call's values win), any other key the call
    sets replaces the base's."""
    if not config:
        return base
    merged: dict[str, Any] = dict(base)
    for key, value in _mapping(config, "config").items():
        old = merged.get(key)
        if value is None or old is None:
            merged[key] = old if value is None else value
        elif key in ("callbacks", "tags"):
            merged[key] = [*_listed(old, key), *_listed(value, key)]
        elif key in ("metadata", "configurable"):
            merged[key] = {**_mapping(old, key), **_mapping(value, key)}
        else:
            merged[key] = value
    return merged  # type: ignore[return-value]


def _listed(value: Any, key: str) -> list[Any]:
    if isinstance(value, str | Mapping) or not isinstance(value, Sequence):
        raise ConfigurationError(f"{key} must be a list, not {type(value).__name__}")
    return list(value)


def check_bound_config(config: RunnableConfig | None, options: Mapping[str, Any]) -> RunnableConfig:
    """The config :meth:`with_config` binds (``options`` over ``config``),
    checked now as a call would check it, so a mistake is an error at bind time."""
    merged = merge_configs(dict(_mapping(config, "config")), options)  # type: ignore[arg-type]
    if merged.get("run_id") is not None:
        raise ConfigurationError("run_id applies to one run: pass it per call, not to with_config")
    configure(merged, {}, entries=(), tags=None, metadata=None, name="", batch=True)
    max_concurrency(None, merged)
    return merged


def check_version(version: object) -> None:
    """``astream_events(version=...)``: LangChain's current ``"v2"`` is the one
    accepted (what it yields is streamllm's typed events either way)."""
    if version != "v2":
        raise ConfigurationError(f"astream_events supports version='v2' only, not {version!r}")
