"""Diagnostics and the error tree the CLI maps to exit codes.

A user mistake is never a traceback: it is one or more Diagnostics, each printed as
`path:line:col: severity: message [code]`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from roleSync.terminal_text import printable


class ExitCode(IntEnum):
    OK = 0
    INVALID = 1  # invalid input, failing rule tests, failed run
    USAGE = 2
    GUARDRAIL = 3  # a guardrail stopped the run (or: warnings only, for `check`)
    LOCKED = 4  # another run holds the lock
    STUCK = 5  # the run finished, but handoffs were skipped for a `--fail-on` reason
    CHANGES = 6  # `diff`: the rule change changes roles or handoffs, within the guardrails


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    path: str
    line: int  # 1-based; 0 when the problem is about the whole file
    col: int  # 1-based; 0 when unknown
    severity: Severity
    message: str
    code: str

    def __str__(self) -> str:
        # Messages quote CSV and CRM values: one line, nothing in it a terminal obeys.
        where = printable(self.path) + position_suffix(self.line, self.col)
        return f"{where}: {self.severity}: {printable(self.message)} [{self.code}]"


def position_suffix(line: int, col: int) -> str:
    """`:line:col`, or less: 0 means "the whole file" (or an unknown column), and a
    position of 0 points nowhere an editor can jump to (GNU style: `file: message`)."""
    if line <= 0:
        return ""
    return f":{line}:{col}" if col > 0 else f":{line}"


class RoleSyncError(Exception):
    """Base of every error roleSync reports to users without a traceback.

    The tree (docs/python-api.md): ConfigError (bad input: rule, profile, plan and CSV
    files, arguments), CRMError (the CRM or its adapter failed), StorageError (the state
    store or a file roleSync keeps), LockHeldError (another run holds the profile's
    lock), GuardrailError (a guardrail stopped the run before any write), ConflictError (the
    book changed under a plan). Each carries the CLI's exit code for it."""

    exit_code: ExitCode = ExitCode.INVALID


class ConfigError(RoleSyncError):
    """Bad input: a rule file, a connector profile, a plan or CSV file, an argument."""


class InputError(ConfigError):
    """Invalid rule files, profiles, plans or imports: one or more positioned diagnostics."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class UsageError(ConfigError):
    exit_code = ExitCode.USAGE


class CRMError(RoleSyncError):
    """The CRM refused, failed or could not be reached, or its adapter gave up (request
    budget, daily limit, authentication)."""


class StorageError(RoleSyncError):
    """A file roleSync keeps could not be read or written: disk full, read-only,
    permission denied, locked or damaged. The message names the file and the cause."""


class ConflictError(RoleSyncError):
    """The book changed in a way that makes a plan unsafe to apply."""


class LockHeldError(RoleSyncError):
    """Another run holds the profile's lock; `holder` says who (pid, host, started),
    as far as the holder wrote it (may be empty)."""

    exit_code = ExitCode.LOCKED

    def __init__(self, message: str, *, holder: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        self.holder: dict[str, object] = dict(holder or {})


class GuardrailError(RoleSyncError):
    """A guardrail stopped the run before any write: `run_id` is the stopped run,
    `plan_path` the plan it saved."""

    exit_code = ExitCode.GUARDRAIL

    def __init__(self, message: str, *, run_id: str, plan_path: str) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.plan_path = plan_path
