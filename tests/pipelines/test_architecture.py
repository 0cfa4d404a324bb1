"""The folder tree is the architecture (issue 20): these checks fail when a rule of it is broken again.

Imports go one way, cli -> flows -> stages -> warehouse -> core; there are no import circles (counting imports
inside functions too); Prefect is imported only in pipelines/flows/, argparse only in pipelines/cli/; no module
is over 800 lines; features/ and models/ never import pipelines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 800

LAYERS = {"core": 0, "warehouse": 1, "flows": 3, "cli": 4}  # every other package is a stage (2)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources(package: str) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


MODULES = _sources("pipelines")


def imports_of(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports, at module level and inside functions (``from a import b`` counts as
    ``a.b`` when that is a module, else ``a``)."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES)
    return found


def _internal(module: str) -> set[str]:
    return {m for m in imports_of(MODULES[module], module) if m in MODULES and m != module}


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], 2) if len(parts) > 1 else 2


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle in ``graph`` (as the list of modules round it), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_circle_and_only_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_imports_of_sees_imports_inside_functions(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("import os\n\ndef f():\n    from pipelines.core import errors\n    import prefect\n")
    assert {"os", "prefect", "pipelines.core", "pipelines.core.errors"} <= imports_of(source, "pipelines.x.m")


def test_no_import_circles_among_pipelines_modules() -> None:
    graph = {m: _internal(m) for m in MODULES}
    # a package's __init__ is imported with each of its modules; it imports nothing, so it closes no circle
    assert find_cycle(graph) is None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_one_way(module: str) -> None:
    """cli -> flows -> stages -> warehouse -> core: never back up the chain; core and warehouse import no stage;
    a stage never imports flows or cli (a stage may import another stage)."""
    backwards = sorted(
        m
        for m in _internal(module)
        if (
            layer(m) > layer(module)
            or (layer(module) < 2 and layer(m) == layer(module) and m.split(".")[1] != module.split(".")[1])
        )
    )
    assert backwards == [], (
        f"{module} imports {backwards} against the direction cli -> flows -> stages -> core"
    )


@pytest.mark.parametrize("library, home", [("prefect", "pipelines.flows"), ("argparse", "pipelines.cli")])
def test_a_library_is_imported_in_its_own_package_only(library: str, home: str) -> None:
    outside = sorted(
        m
        for m, path in MODULES.items()
        if not (m == home or m.startswith(home + "."))
        and any(i == library or i.startswith(library + ".") for i in imports_of(path, m))
    )
    assert outside == [], f"{library} is imported outside {home}: {outside}"


def test_no_module_is_over_800_lines() -> None:
    long = {
        m: n
        for package in ("pipelines", "features", "models")
        for m, path in _sources(package).items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_features_and_models_never_import_pipelines() -> None:
    offenders = sorted(
        m
        for package in ("features", "models")
        for m, path in _sources(package).items()
        if any(i == "pipelines" or i.startswith("pipelines.") for i in imports_of(path, m))
    )
    assert offenders == []


def private_imports(path: Path, module: str) -> list[str]:
    """``module.name`` for every underscored name ``path`` imports from another module of ours (``from a import
    _b``): a module's private helpers are its own; what another module needs is part of its public face."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            if base.split(".")[0] not in ("pipelines", "features", "models"):
                continue
            found += [
                f"{base}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            ]
    return found


def test_private_imports_finds_an_underscored_name_of_ours_only(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from pipelines.core.errors import _hidden, shown\nfrom os import _exit\n"
        "def f():\n    from .sibling import _helper\n"
    )
    assert private_imports(source, "pipelines.x.m") == [
        "pipelines.core.errors._hidden",
        "pipelines.x.sibling._helper",
    ]


def test_no_module_imports_another_modules_private_names() -> None:
    offenders = sorted(
        f"{m} imports {name}"
        for package in ("pipelines", "features", "models")
        for m, path in _sources(package).items()
        for name in private_imports(path, m)
    )
    assert offenders == []
