"""No import cycle between our modules: every `import` counts, at the top, inside a function or under
TYPE_CHECKING, so that a module can always be read (and loaded) after the ones it names."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

from tests.support import REPO_ROOT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: tomli, which pytest itself depends on there
    import tomli as tomllib


def our_modules(root: Path) -> dict[str, Path]:
    """Every module of the packages pyproject maps to a folder, by its dotted name."""
    package_dirs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    modules = {}
    for package, folder in package_dirs.items():
        for path in (root / folder).rglob("*.py"):
            parts = list(path.relative_to(root / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([package, *parts])] = path
    return modules


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of ours that `name` imports anywhere in its file."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else node.module or ""
            targets.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names)
    found = set()
    for target in targets:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)
    return found


def test_no_module_of_ours_imports_itself_through_others() -> None:
    modules = our_modules(REPO_ROOT)
    assert "smartdialog_sync.pipelines.operations.status" in modules  # the walk found the packages
    graph = {name: imported_modules(name, path, modules) for name, path in modules.items()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as cycle:
        raise AssertionError(f"import cycle: {' -> '.join(cycle.args[1])}") from None
