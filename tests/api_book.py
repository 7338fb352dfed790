"""The demo book (`rolesync demo`, not synced) in a folder, for the Python API's tests,
its docs' examples and the Dagster example: built once per test session, copied per test."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from roleSync.demo import PROFILE_NAME, prepare

AS_OF = date(2026, 6, 30)
_built: dict[str, Path] = {}


def demo_folder(base: Path, cache: Path) -> Path:
    """A fresh copy of the demo book at `base/demo` (demo.yaml, demo.db, rules/); the
    first call builds it under `cache` (a session temp folder)."""
    key = str(cache)
    if key not in _built:
        source = cache / "demo-source"
        prepare(source, AS_OF, 2026)
        _built[key] = source
    target = base / "demo"
    shutil.copytree(_built[key], target)
    return target


def profile_of(folder: Path) -> Path:
    return folder / PROFILE_NAME
