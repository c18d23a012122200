"""The package's structure: layers as ARCHITECTURE.md draws them, no import circles, small modules.

The layer table is read from ARCHITECTURE.md itself (the fenced block after
"## Layers"), so the document and this test cannot disagree. Every import
counts: top-level, inside functions and under ``if TYPE_CHECKING:``, since each
is a dependency a reader has to follow.
"""

from __future__ import annotations

import ast
import fnmatch
import itertools
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "streamllm"
MAX_LINES = 400

#: Imports that break the rules today and are being fixed by their owners
#: (module, imported module). Must be empty when the structure work is done;
#: an entry that no longer exists fails test_known_violations_still_exist.
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@cache
def layers() -> list[tuple[str, list[str]]]:
    """(layer, module patterns), lowest layer first, from ARCHITECTURE.md."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    block = re.search(r"## Layers.*?```text\n(.*?)```", text, re.S)
    assert block, "ARCHITECTURE.md has no ```text block under '## Layers'"
    rows = [line.split() for line in block[1].splitlines() if line.strip()]
    return [(row[0].rstrip(":"), row[1:]) for row in rows]


def matches(module: str, pattern: str) -> bool:
    """A pattern names a module, a package (and so its submodules) or a glob."""
    if "*" in pattern:
        return fnmatch.fnmatchcase(module, pattern)
    return module == pattern or (pattern != "streamllm" and module.startswith(pattern + "."))


def layer_of(module: str) -> int | None:
    for index, (_, patterns) in enumerate(layers()):
        if any(matches(module, p) for p in patterns):
            return index
    return None


def imports_of(module: str) -> Iterator[tuple[str, int]]:
    """The streamllm modules ``module`` imports, with the line of each import."""
    path = modules()[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # `from streamllm.callbacks import env` imports a submodule.
                sub = f"{base}.{alias.name}"
                yield (sub if sub in modules() else base), node.lineno


@cache
def full_graph() -> dict[str, dict[str, int]]:
    """Module to the streamllm modules it imports (with the line of the first import)."""
    out: dict[str, dict[str, int]] = {}
    for module in modules():
        deps: dict[str, int] = {}
        for target, line in imports_of(module):
            if target in modules() and target != module:
                deps.setdefault(target, line)
        out[module] = deps
    return out


def graph() -> dict[str, dict[str, int]]:
    """:func:`full_graph` without the known violations."""
    return {
        module: {dep: line for dep, line in deps.items() if (module, dep) not in KNOWN_VIOLATIONS}
        for module, deps in full_graph().items()
    }


Graph = dict[str, dict[str, int]]


def cycles(g: Graph) -> list[list[str]]:
    """Every group of two or more modules that import each other in a circle (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in g[node]:
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(g):
        if module not in index:
            visit(module)
    return found


def shortest_circles(g: Graph, group: list[str]) -> list[str]:
    """For each module of a circular group, the shortest circle through it, as
    ``a:line -> b:line -> a``, so the report names the imports to cut."""
    members = set(group)
    found: dict[frozenset[str], str] = {}
    for start in group:
        paths = {start: [start]}
        queue = [start]
        while queue:
            node = queue.pop(0)
            for dep in g[node]:
                if dep == start:
                    path = [*paths[node], start]
                    key = frozenset(path)
                    found.setdefault(
                        key,
                        " -> ".join(f"{a}:{g[a][b]}" for a, b in itertools.pairwise(path))
                        + f" -> {start}",
                    )
                    queue.clear()
                    break
                if dep in members and dep not in paths:
                    paths[dep] = [*paths[node], dep]
                    queue.append(dep)
    return sorted(found.values(), key=len)


def upward_imports(g: Graph) -> list[str]:
    names = [name for name, _ in layers()]
    found = []
    for module, deps in sorted(g.items()):
        own = layer_of(module)
        for dep, line in sorted(deps.items()):
            theirs = layer_of(dep)
            if own is not None and theirs is not None and theirs > own:
                where = modules()[module].relative_to(ROOT) if module in modules() else module
                found.append(
                    f"{where}:{line} {module} ({names[own]}) imports {dep} ({names[theirs]})"
                )
    return found


def test_every_module_has_a_layer() -> None:
    """A new module is placed in ARCHITECTURE.md's layer table before it lands."""
    unplaced = [m for m in modules() if layer_of(m) is None]
    assert not unplaced, f"add these modules to the layer table in ARCHITECTURE.md: {unplaced}"


def test_imports_never_go_up_a_layer() -> None:
    """A module imports only from its own layer or the layers below it."""
    found = upward_imports(graph())
    assert not found, (
        "imports from a lower layer up to a higher one (move the code down, or pass it in):\n"
        + "\n".join(found)
    )


def test_no_import_circles() -> None:
    """No group of modules imports each other in a circle (TYPE_CHECKING imports included)."""
    g = graph()
    found = [circle for group in cycles(g) for circle in shortest_circles(g, group)]
    assert not found, (
        "import circles (module:line of each import; one needed only for a type annotation "
        "can become a Protocol in the importing module):\n" + "\n".join(found)
    )


def test_known_violations_still_exist() -> None:
    """A fixed violation is removed from KNOWN_VIOLATIONS, so the list only shrinks."""
    stale = {(a, b) for a, b in KNOWN_VIOLATIONS if b not in full_graph().get(a, {})}
    assert not stale, f"fixed, remove from KNOWN_VIOLATIONS: {sorted(stale)}"


def test_no_module_is_too_long() -> None:
    """Every module stays under the house limit, so each one holds one idea."""
    long = {
        str(path.relative_to(ROOT)): n
        for path in modules().values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_checks_can_fail() -> None:
    """On a made-up graph, a circle and an upward import are both found."""
    g: Graph = {
        "streamllm.errors": {"streamllm.events": 3},
        "streamllm.events": {"streamllm.messages": 5},
        "streamllm.messages": {"streamllm.errors": 7},
    }
    assert cycles(g) == [["streamllm.errors", "streamllm.events", "streamllm.messages"]]
    assert [line.split()[1] for line in upward_imports(g)] == ["streamllm.errors"]
    assert matches("streamllm.callbacks.manager", "streamllm.callbacks")
    assert not matches("streamllm.callbacksx", "streamllm.callbacks")
    assert not matches("streamllm.events", "streamllm")
    assert matches("streamllm._cli_output", "streamllm._cli_*")
