"""roleSync: CRM account ownership that follows how your people actually sell.

The Python API (docs/python-api.md): `from roleSync import api` and call `api.sync(...)`;
its result types and the error tree are exported here too (`from roleSync import
RoleSyncError`). The functions themselves are not: `roleSync.plan`, `.sync`, `.report`
and `.diff` are the library's packages, and a function of the same name here would be
replaced by the package as soon as it is imported. Names load on first use, so that
`rolesync --version`, which imports this package, stays as fast as Python itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from roleSync import api as api
    from roleSync.api import (
        ConfigError,
        ConflictError,
        CRMError,
        DiffOutcome,
        DiffResult,
        ExitCode,
        Explanation,
        GuardrailError,
        InputError,
        LockHeldError,
        PlanCounts,
        PlanResult,
        ReportResult,
        RoleSyncError,
        RunCounts,
        RunOutcome,
        RunResult,
        StorageError,
        UsageError,
    )

__all__ = [
    "CRMError",
    "ConfigError",
    "ConflictError",
    "DiffOutcome",
    "DiffResult",
    "ExitCode",
    "Explanation",
    "GuardrailError",
    "InputError",
    "LockHeldError",
    "PlanCounts",
    "PlanResult",
    "ReportResult",
    "RoleSyncError",
    "RunCounts",
    "RunOutcome",
    "RunResult",
    "StorageError",
    "UsageError",
    "__version__",
    "api",
]


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        import importlib

        api = importlib.import_module("roleSync.api")
        return api if name == "api" else getattr(api, name)
    raise AttributeError(f"module 'roleSync' has no attribute {name!r}")
