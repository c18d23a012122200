"""Lazy exports: names a package lists in ``__all__`` but imports on first use.

A package keeps its public names in one table, module to names, and derives
the rest from it::

    _EXPORTS = {"streamllm.errors": ("ConfigurationError",)}
    _LAZY = by_name(_EXPORTS)
    __all__ = sorted(_LAZY)
    __getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)

Type checkers cannot run that, so the package also imports every name under
``if TYPE_CHECKING:``; tests/test_public_api.py fails when that block and the
table disagree.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["by_name", "lazy_exports"]


def by_name(exports: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Turn ``{module: names}`` into ``{name: module}``; a name given twice is an error."""
    table: dict[str, str] = {}
    for module, names in exports.items():
        for name in names:
            if name in table:
                raise ValueError(f"{name!r} is exported from both {table[name]} and {module}")
            table[name] = module
    return table


def lazy_exports(
    package: str, lazy: Mapping[str, str], names: Sequence[str], *, cache: bool = True
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` that import ``lazy[name]`` when
    ``name`` is first looked up (and, with ``cache``, keep it in the package)."""

    def __getattr__(name: str) -> Any:
        module = lazy.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        if cache:
            setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(names)

    return __getattr__, __dir__
