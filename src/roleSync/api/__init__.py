"""roleSync's Python API, for orchestrators and scripts (docs/python-api.md).

    from roleSync import api
    result = api.sync("connectors/local.yaml", "rules/")
    if not result.ok: ...

Functions return frozen results and raise roleSync.errors.RoleSyncError subclasses; they
never print (unless `echo=True`) and never exit.
"""

from roleSync.api.calls import apply, diff, explain, plan, report, sync
from roleSync.api.results import (
    DiffOutcome,
    DiffResult,
    Explanation,
    PlanCounts,
    PlanResult,
    ReportResult,
    RunCounts,
    RunOutcome,
    RunResult,
)
from roleSync.errors import (
    ConfigError,
    ConflictError,
    CRMError,
    ExitCode,
    GuardrailError,
    InputError,
    LockHeldError,
    RoleSyncError,
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
    "apply",
    "diff",
    "explain",
    "plan",
    "report",
    "sync",
]
