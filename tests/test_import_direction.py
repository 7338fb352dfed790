"""The pure core (plan, metrics, rules, model) never imports an adapter, the sync layer
or anything with I/O: checked by parsing every core module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import roleSync

SRC = Path(roleSync.__file__).parent
CORE = ["plan", "metrics.py", "metrics_retention.py", "rules", "model", "diff"]
FORBIDDEN = ("roleSync.adapters", "roleSync.sync", "roleSync.cli", "roleSync.emulators")


def _core_modules() -> list[Path]:
    found: list[Path] = []
    for name in CORE:
        path = SRC / name
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return found


def _imported(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append((node.lineno, node.module))
    return names


def test_the_core_imports_no_adapter() -> None:
    modules = _core_modules()
    assert any(p.parent.name == "plan" for p in modules)  # the walk found the plan package
    offending = [
        f"{path.relative_to(SRC)}:{line}: imports {name}"
        for path in modules
        for line, name in _imported(path)
        if name.startswith(FORBIDDEN)
    ]
    assert offending == []


def test_adapters_take_the_plan_types_from_the_core() -> None:
    imported = {name for _, name in _imported(SRC / "adapters" / "base.py")}
    assert "roleSync.plan.types" in imported
    # No adapter defines a plan type of its own.
    defined = {
        f"{path.relative_to(SRC)}: {node.name}"
        for path in sorted((SRC / "adapters").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name in ("OwnershipChange", "MetricWrite")
    }
    assert defined == set()


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from roleSync.adapters.base import ApplyResult\nimport os\n")
    assert (1, "roleSync.adapters.base") in _imported(module)
