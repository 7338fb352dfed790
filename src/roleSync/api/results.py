"""What the Python API's functions return: frozen values, each with the outcome the CLI
would have turned into an exit code, so an orchestrator decides on a field, not a number
parsed from a process.

Importing this module is cheap (the run's own types are imported for type checking only).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from roleSync.errors import ExitCode

if TYPE_CHECKING:
    from roleSync.diff import RuleDiff
    from roleSync.plan import Plan
    from roleSync.report.data import ReportData
    from roleSync.sync.report import RunReport


class RunOutcome(StrEnum):
    """How a finished sync or apply ended (errors that stop a run are exceptions)."""

    OK = "ok"  # everything planned was written, or decided (conflicts are not failures)
    FAILED = "failed"  # some change, metric write, carried record or task failed
    STUCK = "stuck"  # written, but handoffs were skipped for a `fail_on` code

    @property
    def exit_code(self) -> ExitCode:
        return _RUN_CODES[self]


_RUN_CODES = {
    RunOutcome.OK: ExitCode.OK,
    RunOutcome.FAILED: ExitCode.INVALID,
    RunOutcome.STUCK: ExitCode.STUCK,
}


class DiffOutcome(StrEnum):
    """What a rule change does to the book (`rolesync diff`'s exit 0, 6 or 3)."""

    UNCHANGED = "unchanged"  # no role and no handoff changes
    CHANGES = "changes"  # roles or handoffs change, within the guardrails
    GUARDRAIL = "guardrail"  # the guardrails would stop a run under the new rules

    @property
    def exit_code(self) -> ExitCode:
        return _DIFF_CODES[self]


_DIFF_CODES = {
    DiffOutcome.UNCHANGED: ExitCode.OK,
    DiffOutcome.CHANGES: ExitCode.CHANGES,
    DiffOutcome.GUARDRAIL: ExitCode.GUARDRAIL,
}


@dataclass(frozen=True, slots=True)
class PlanCounts:
    changes: int  # ownership changes
    related_changes: int  # carried records (open deals, contacts, tasks)
    task_creates: int  # handoff tasks
    metric_writes: int
    skipped: int  # accounts due for a handoff that stay, with why (plan.skipped)


@dataclass(frozen=True, slots=True)
class PlanResult:
    """A plan made by `roleSync.api.plan`: nothing was written to the CRM or the state."""

    plan: Plan
    counts: PlanCounts
    summary: str  # the one line `rolesync plan -o` prints
    path: Path | None  # where the plan was written (`output=`), else None


@dataclass(frozen=True, slots=True)
class RunCounts:
    planned: int
    applied: int
    already_applied: int
    conflicts: int
    failed: int
    skipped: int
    metrics_planned: int
    metrics_written: int
    metric_failures: int
    metric_conflicts: int


@dataclass(frozen=True, slots=True)
class RunResult:
    """A finished sync or apply. `report` is the full run report (as report.json)."""

    run_id: str
    profile: str
    mode: str  # "sync" | "apply"
    outcome: RunOutcome
    counts: RunCounts
    stuck: str | None  # the stuck-handoffs line when outcome is STUCK, e.g. "stuck ..."
    report_path: Path
    plan_path: Path
    report: RunReport
    plan: Plan | None  # the plan the run made (sync); None for apply of a saved plan

    @property
    def ok(self) -> bool:
        return self.outcome is RunOutcome.OK

    @property
    def exit_code(self) -> ExitCode:
        """The code `rolesync sync` / `apply` would have exited with."""
        return self.outcome.exit_code


@dataclass(frozen=True, slots=True)
class Explanation:
    subject: str
    text: str  # what `rolesync explain` prints
    run_id: str | None  # the run explained from (`run=`), None: the book as it stands


@dataclass(frozen=True, slots=True)
class ReportResult:
    run_id: str
    format: str  # html | json | csv
    path: Path  # the file written (csv: the folder of tables)
    data: ReportData  # the report's tables, as the files hold them


@dataclass(frozen=True, slots=True)
class DiffResult:
    diff: RuleDiff
    outcome: DiffOutcome
    path: Path | None  # where the diff was written (`output=`), else None

    @property
    def exit_code(self) -> ExitCode:
        return self.outcome.exit_code

    def as_text(self) -> str:
        from roleSync.diff.text import render_text

        return render_text(self.diff)

    def as_markdown(self) -> str:
        from roleSync.diff.markdown import render_markdown

        return render_markdown(self.diff)

    def as_json(self) -> str:
        from roleSync.diff import to_json

        return to_json(self.diff)
