"""Where runs live, and making a report from one: the I/O around the pure report.

A run is `<state_path>/runs/<run id>/` holding `plan.json` and `report.json` (written by
`sync.runner.apply_plan`). Run ids start with the run's UTC time, so they sort by time
and the last one is the latest run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from roleSync.errors import ConfigError, Diagnostic, InputError, RoleSyncError, Severity
from roleSync.metrics import account_revenue
from roleSync.model import DealWindow
from roleSync.plan import OwnershipChange, Plan
from roleSync.profile import Profile
from roleSync.report.data import ReportData, build_report_data, csv_tables, to_json
from roleSync.report.html import render_html
from roleSync.report.progress import NO_PROGRESS, Progress
from roleSync.sync.report import RunReport
from roleSync.sync.runner import open_adapter
from roleSync.sync.state import write_atomically

FORMATS = ("html", "json", "csv")
# Default outputs, inside the run's folder beside plan.json and report.json.
DEFAULT_NAMES = {"html": "report.html", "json": "report-data.json", "csv": "report-csv"}

_RUN_REPORT: TypeAdapter[RunReport] = TypeAdapter(RunReport)


class RunNotFoundError(ConfigError):
    """No such run (or no run yet) under the profile's state folder."""


@dataclass(frozen=True, slots=True)
class RunFiles:
    run_id: str
    folder: Path
    plan: Plan
    report: RunReport


def runs_dir(profile: Profile) -> Path:
    return profile.state_path / "runs"


def run_ids(profile: Profile) -> list[str]:
    """Finished runs (those with a report), oldest first."""
    folder = runs_dir(profile)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / "report.json").is_file())


def find_run(profile: Profile, run_id: str | None) -> Path:
    """The run's folder; the latest run when `run_id` is None. Only names listed in the
    runs folder are accepted, so a run id can never point outside it."""
    known = run_ids(profile)
    if not known:
        raise RunNotFoundError(
            f"no runs yet under {runs_dir(profile)}: `rolesync sync -c PROFILE` makes one"
        )
    if run_id is None:
        return runs_dir(profile) / known[-1]
    if run_id not in known:
        latest = ", ".join(known[-3:])
        raise RunNotFoundError(f"no run {run_id!r} under {runs_dir(profile)} (latest: {latest})")
    return runs_dir(profile) / run_id


def read_run_report(path: Path) -> RunReport:
    try:
        return _RUN_REPORT.validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        message = str(exc).splitlines()[0]
        raise InputError(
            [
                Diagnostic(
                    str(path),
                    1,
                    1,
                    Severity.ERROR,
                    f"not a roleSync run report: {message}",
                    "invalid-report",
                )
            ]
        ) from None


def load_run(profile: Profile, run_id: str | None = None) -> RunFiles:
    folder = find_run(profile, run_id)
    return RunFiles(
        folder.name,
        folder,
        Plan.read(folder / "plan.json", history=True),
        read_run_report(folder / "report.json"),
    )


def moved_account_revenue(
    profile: Profile, run: RunFiles, progress: Progress = NO_PROGRESS
) -> dict[str, float]:
    """Revenue of the accounts the run moved, recomputed from the book's deals over the
    plan's window: plans record owners' totals, not each account's. Deals do not move
    with an account, so today's book gives the run's figures unless deals were edited."""
    adapter = open_adapter(profile)
    try:
        with progress.stage("pull") as stage:
            book = adapter.pull(DealWindow(run.plan.as_of, run.plan.window_days))
            stage.done(f"pulled {len(book.accounts)} accounts for the revenue balance")
    finally:
        adapter.close()
    revenue = account_revenue(book, run.plan.as_of, run.plan.window_days)
    # Applied or already applied: both leave the account with its new owner (data.MOVED).
    moved = {c.account_id for c in run.report.applied} | set(run.report.already_applied)
    return {a: revenue.get(a, 0.0) for a in sorted(moved)}


def report_data(
    profile: Profile,
    run_id: str | None = None,
    *,
    pull: bool | None = None,
    progress: Progress = NO_PROGRESS,
) -> tuple[RunFiles, ReportData]:
    """`pull`: read the book for the revenue side of the balance. None: only for local
    books, where it is a file read; a remote CRM is pulled only when asked (API calls)."""
    run = load_run(profile, run_id)
    if pull is None:
        pull = profile.kind == "local"
    revenue = moved_account_revenue(profile, run, progress) if pull else None
    return run, build_report_data(run.plan, run.report, revenue)


def write_report(data: ReportData, folder: Path, fmt: str, output: Path | None) -> Path:
    """Write one format; `output` defaults to the run's folder. CSV is a folder of files,
    one per table (see report.data.CSV_FILES)."""
    target = output or folder / DEFAULT_NAMES[fmt]
    if fmt == "html":
        write_atomically(target, render_html(data))
    elif fmt == "json":
        write_atomically(target, to_json(data))
    elif fmt == "csv":
        if target.exists() and not target.is_dir():
            raise RoleSyncError(f"{target} is a file; CSV output is a folder of tables")
        for name, text in csv_tables(data).items():
            write_atomically(target / name, text)
    else:
        raise ValueError(f"unknown report format {fmt!r}")
    return target


def last_handoff(
    profile: Profile, account_id: str, limit: int = 30
) -> tuple[str, OwnershipChange] | None:
    """The newest of the last `limit` runs that moved the account, with its change: so
    `explain` can say how an account already with a farmer got there."""
    for run_id in reversed(run_ids(profile)[-limit:]):
        try:
            report = read_run_report(runs_dir(profile) / run_id / "report.json")
        except InputError:
            continue  # history is a courtesy; one unreadable report must not stop explain
        for change in report.applied:
            if change.account_id == account_id:
                return run_id, change
    return None


def report_document(path: str) -> dict[str, object]:
    """A run's report.json as plain JSON, or {} when there is none or it does not parse:
    `runs show` adds what the state store does not hold (metric writes, carried records,
    tasks) and must show the store's row whatever became of the file."""
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # RecursionError: nested without end
        return {}
    return data if isinstance(data, dict) else {}
