"""`rolesync check`: validate rule files and connector profiles, reporting every problem."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from roleSync.errors import Diagnostic, InputError, Severity
from roleSync.profile import load_profile
from roleSync.rules.loader import load_yaml
from roleSync.rules.ruleset import check_rule_file, rule_file_paths

PROFILE_KINDS = frozenset({"local", "salesforce", "hubspot"})


def _profile_problems(path: Path) -> list[Diagnostic]:
    try:
        load_profile(path)
    except InputError as exc:
        return list(exc.diagnostics)
    return []


def _kind(path: Path) -> str | None:
    try:
        data = load_yaml(path).data
    except InputError:
        return None  # check_rule_file reports the YAML problem with its position
    kind = data.get("kind") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) else None


def check_paths(paths: Iterable[Path]) -> tuple[int, list[Diagnostic]]:
    """(files checked, every diagnostic of every file), files dispatched on their `kind`."""
    files = rule_file_paths(paths)
    problems: list[Diagnostic] = []
    for path in files:
        if not path.is_file():
            problems.append(
                Diagnostic(str(path), 0, 0, Severity.ERROR, "no such file", "file-missing")
            )
        elif _kind(path) in PROFILE_KINDS:
            problems.extend(_profile_problems(path))
        else:
            problems.extend(check_rule_file(path)[2])
    return len(files), sorted(problems)
