"""The callbacks package's public surface, its docs, and the test helpers' imports."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import streamllm.callbacks as callbacks
from streamllm import signals
from streamllm.callbacks import run as run_module
from streamllm.events import HOOKS

PACKAGE = Path(callbacks.__file__)


def test_public_names_import_from_the_package() -> None:
    """`from streamllm.callbacks import CallbackHandler` works for every listed name,
    and __all__, the lazy table and the TYPE_CHECKING imports list the same names."""
    from streamllm.callbacks import CallbackHandler, traced

    assert CallbackHandler.__module__ == "streamllm.callbacks.base"
    assert callable(traced)
    for name in callbacks.__all__:
        assert getattr(callbacks, name) is not None
    tree = ast.parse(PACKAGE.read_text())
    checked = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.startswith("streamllm.callbacks.")
        for alias in node.names
    }
    assert sorted(callbacks._LAZY) == callbacks.__all__
    assert checked == set(callbacks.__all__)


def test_no_exported_name_is_shadowed_by_a_submodule() -> None:
    """Importing every submodule leaves each exported name what it is (a module
    named like an export, e.g. tracing.py beside tracing(), would replace it)."""
    import importlib
    import pkgutil

    modules = [m.name for m in pkgutil.iter_modules(callbacks.__path__)]
    for name in modules:
        importlib.import_module(f"streamllm.callbacks.{name}")
    assert not set(modules) & set(callbacks.__all__)
    from streamllm.callbacks import tracing

    assert callable(tracing)


def test_run_manager_docs_name_methods_that_exist() -> None:
    """Every method the run manager's docs point to exists."""
    docs = (run_module.__doc__ or "") + (run_module.RunManager.__doc__ or "")
    named = set(re.findall(r":meth:`~?(?:RunManager\.)?(\w+)`", docs))
    assert named, "the docs name the methods model code calls"
    missing = [name for name in named if not hasattr(run_module.RunManager, name)]
    assert missing == []


def test_one_signal_per_event_kind_named_after_its_hook() -> None:
    """Signals come from the hook names, so a new event kind gets one too."""
    assert [s.name for s in signals.SIGNALS] == [h.removeprefix("on_") for h in HOOKS]
    assert signals.SIGNALS[0] is signals.llm_start


def test_testing_helpers_do_not_need_pytest() -> None:
    """streamllm.testing imports without pytest: the fixture is in a plugin module."""
    code = "import sys, streamllm.testing; print('pytest' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_the_recorder_fixture_through_either_plugin_name(tmp_path: Path) -> None:
    """`pytest_plugins = ["streamllm.pytest_plugin"]` (and the older
    "streamllm.testing") give a user's tests the `recorder` fixture."""
    for number, plugin in enumerate(["streamllm.pytest_plugin", "streamllm.testing"]):
        suite = tmp_path / f"suite{number}"
        suite.mkdir()
        (suite / "conftest.py").write_text(f"pytest_plugins = [{plugin!r}]\n")
        (suite / "test_user.py").write_text(
            textwrap.dedent(
                """
                from streamllm import FakeListLLM

                def test_it(recorder):
                    FakeListLLM(responses=["hi"]).invoke("x", callbacks=[recorder])
                    assert recorder.tokens() == ["hi"]
                """
            )
        )
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)],
            capture_output=True,
            text=True,
            cwd=suite,
        )
        assert result.returncode == 0, result.stdout + result.stderr
