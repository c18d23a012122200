"""The public names: one table, the lists made from it, every name importable from the top."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import streamllm
import streamllm.handlers
import streamllm.models

PACKAGES = (streamllm, streamllm.handlers, streamllm.models)


def type_checking_imports(package: ModuleType) -> dict[str, tuple[str, str | None]]:
    """The names a package imports under ``if TYPE_CHECKING:``: name to (module, alias)."""
    assert package.__file__ is not None
    tree = ast.parse(Path(package.__file__).read_text(encoding="utf-8"))
    found: dict[str, tuple[str, str | None]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom), ast.unparse(stmt)
                assert stmt.module is not None
                for alias in stmt.names:
                    found[alias.asname or alias.name] = (stmt.module, alias.asname)
    return found


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_type_checking_block_matches_the_lazy_table(package: ModuleType) -> None:
    """What type checkers see is exactly what the lazy loader gives."""
    static = type_checking_imports(package)
    assert {name: module for name, (module, _) in static.items()} == package._LAZY


def test_root_table_is_the_one_source() -> None:
    """streamllm's lazy table and __all__ are made from _EXPORTS; static imports re-export."""
    exports = streamllm._EXPORTS
    table = {name: module for module, names in exports.items() for name in names}
    assert table == streamllm._LAZY
    assert streamllm.__all__ == sorted([*table, "__version__"])
    static = type_checking_imports(streamllm)
    # `import X as X` marks an explicit re-export for mypy --strict users.
    assert all(alias == name for name, (_, alias) in static.items())
    assert sorted(exports) == list(exports), "keep the table's modules sorted"
    for module, names in exports.items():
        assert sorted(names, key=lambda n: (not n.isupper(), n)) == list(names), module


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_all_is_sorted_and_every_name_resolves(package: ModuleType) -> None:
    """Every name in __all__ exists and is the object its module defines."""
    names = list(package.__all__)
    assert names == sorted(names)
    for name in names:
        value = getattr(package, name)
        source = package._LAZY.get(name) if hasattr(package, "_LAZY") else None
        if source is not None:
            assert value is getattr(importlib.import_module(source), name), name
    assert sorted(dir(package)) == sorted(set(dir(package)) | set(names))


def test_unknown_names_raise_attribute_error() -> None:
    """A typo is an AttributeError naming the name, not an import attempt."""
    with pytest.raises(AttributeError, match="NoSuchThing"):
        streamllm.NoSuchThing  # noqa: B018


@pytest.mark.parametrize(
    "name", ["areplay", "read_recording", "RecordingError", "LatencyStats", "Request", "BusError"]
)
def test_names_that_were_missing_are_exported(name: str) -> None:
    """Names users reached for and did not find at the top are there now."""
    assert name in streamllm.__all__
    assert getattr(streamllm, name) is not None


def test_recording_error_is_one_class() -> None:
    """RecordingError lives in errors.py; the handlers re-export the same class."""
    from streamllm import errors
    from streamllm.handlers import recorder

    assert streamllm.RecordingError is errors.RecordingError
    assert streamllm.handlers.RecordingError is errors.RecordingError
    assert recorder.RecordingError is errors.RecordingError
    assert issubclass(errors.RecordingError, errors.StreamLLMError)


def test_public_names_of_the_core_modules_are_exported_from_the_top() -> None:
    """Every class and function the core modules make public is importable from streamllm."""
    from streamllm import errors, events, handlers, messages, models, outputs

    # Helpers and tables that stay in their modules on purpose.
    local = {"EVENT_CLASSES", "HOOKS", "normalize_finish_reason", "to_messages"}
    for module in (errors, events, outputs, messages, handlers, models):
        for name in module.__all__:
            obj = getattr(module, name)
            if name not in local and (isinstance(obj, type) or inspect.isfunction(obj)):
                assert name in streamllm.__all__, f"{module.__name__}.{name} not exported"


def test_import_streamllm_imports_nothing_heavy() -> None:
    """`import streamllm` loads neither pydantic nor httpx: names load on first use."""
    code = (
        "import sys, streamllm; "
        "print(sorted(m for m in ('pydantic', 'httpx', 'streamllm.events') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_name_exported_twice_is_refused() -> None:
    """The one table cannot give one name from two modules."""
    from streamllm._lazy import by_name

    assert by_name({"a.b": ("X", "Y"), "a.c": ("Z",)}) == {"X": "a.b", "Y": "a.b", "Z": "a.c"}
    with pytest.raises(ValueError, match=r"'X' is exported from both a\.b and a\.c"):
        by_name({"a.b": ("X",), "a.c": ("X",)})
