"""plan, apply, sync, explain, report and diff as functions (docs/python-api.md).

Each does what its `rolesync` command does, through the same library functions (the CLI
is a thin layer over them too), and returns a frozen result instead of printing and
exiting: no `sys.exit`, nothing on stdout or stderr unless `echo=True` (then progress
and book-health warnings go to stderr, as the CLI shows them). Run events go through the
`logging` tree "roleSync". Failures raise roleSync.errors.RoleSyncError subclasses.

Heavy modules (rules, adapters, the state store) load on the first call, not on import.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias

from roleSync.api.guard import api_call
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
from roleSync.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from roleSync.health import BookHealth
    from roleSync.plan import Plan
    from roleSync.profile import Profile
    from roleSync.report.progress import Progress
    from roleSync.sync.planning import HealthSink
    from roleSync.sync.report import RunReport

PathLike: TypeAlias = "str | os.PathLike[str]"
# A connector profile: its YAML file, or one loaded with roleSync.profile.load_profile.
ProfileSource: TypeAlias = "str | os.PathLike[str] | Profile"
# Rule files or folders; None: ./rules, as the CLI's default.
RuleSource: TypeAlias = "str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None"
ReportFormat = Literal["html", "json", "csv"]
DiffFormat = Literal["json", "text", "markdown"]

_LOG = logging.getLogger("roleSync.api")
_DIFF_OUTCOMES = {
    ExitCode.OK: DiffOutcome.UNCHANGED,
    ExitCode.CHANGES: DiffOutcome.CHANGES,
    ExitCode.GUARDRAIL: DiffOutcome.GUARDRAIL,
}


@api_call
def plan(
    profile: ProfileSource,
    rules: RuleSource = None,
    *,
    as_of: date | None = None,
    output: PathLike | None = None,
    echo: bool = False,
) -> PlanResult:
    """Pull the book and plan it: writes nothing to the CRM or the state store (the plan
    file only, with `output`). `as_of`: the day to plan for (default: today, UTC)."""
    from roleSync.sync.state import write_atomically
    from roleSync.sync.work import plan_book, plan_summary

    loaded = _profile(profile)
    made = plan_book(
        loaded,
        _rule_paths(rules),
        as_of or _today(),
        progress=_progress(echo),
        on_health=_health_sink(loaded, echo),
    )
    path = None if output is None else Path(output)
    if path is not None:
        write_atomically(path, made.to_json())
    counts = PlanCounts(
        changes=len(made.changes),
        related_changes=len(made.related_changes),
        task_creates=len(made.task_creates),
        metric_writes=len(made.metric_writes),
        skipped=len(made.skipped),
    )
    summary = plan_summary(made, path) if path is not None else _unwritten(made)
    return PlanResult(made, counts, summary, path)


@api_call
def apply(
    plan: Plan | PathLike,
    profile: ProfileSource,
    rules: RuleSource = None,
    *,
    allow_large: bool = False,
    allow_stale_rules: bool = False,
    max_plan_size: int | None = None,
    fail_on: Sequence[str] | None = None,
    echo: bool = False,
) -> RunResult:
    """Write a plan (a Plan, or a plan file from `plan(output=...)` / `rolesync plan`),
    re-checked against the book and the rules, as `rolesync apply` does. `fail_on`: skip
    codes that make the outcome STUCK (default: the profile's alerts.fail_on)."""
    from roleSync.plan import Plan as PlanType
    from roleSync.plan.document import MAX_PLAN_BYTES
    from roleSync.sync.runner import apply_saved

    checked = _fail_on(fail_on)
    source: Path | None = None
    if isinstance(plan, PlanType):
        made = plan
    else:
        source = Path(plan)
        limit = MAX_PLAN_BYTES if max_plan_size is None else max_plan_size
        made = PlanType.read(source, max_bytes=limit)
    loaded = _profile(profile)
    report = apply_saved(
        loaded,
        made,
        _rule_paths(rules),
        allow_large=allow_large,
        allow_stale_rules=allow_stale_rules,
        plan_path=source,
        progress=_progress(echo),
    )
    return _run_result(loaded, report, None, checked)


@api_call
def sync(
    profile: ProfileSource,
    rules: RuleSource = None,
    *,
    as_of: date | None = None,
    allow_large: bool = False,
    fail_on: Sequence[str] | None = None,
    echo: bool = False,
) -> RunResult:
    """Plan and apply in one go under the profile's lock, as `rolesync sync` does: an
    interrupted run is finished first, the book health gates the run, the guardrails
    stop it before any write (GuardrailError) unless `allow_large`."""
    from roleSync.sync.runner import PlanRequest
    from roleSync.sync.runner import sync as sync_run

    checked = _fail_on(fail_on)
    loaded = _profile(profile)
    request = PlanRequest(loaded, _rule_paths(rules), as_of or _today())
    made, report = sync_run(
        request,
        allow_large=allow_large,
        progress=_progress(echo),
        on_health=_health_sink(loaded, echo),
    )
    return _run_result(loaded, report, made, checked)


@api_call
def explain(
    subject: str,
    profile: ProfileSource,
    rules: RuleSource = None,
    *,
    as_of: date | None = None,
    run: str | None = None,
    echo: bool = False,
) -> Explanation:
    """Why an owner has their role, why an account moves or stays: from the book as the
    next plan would see it, or from a past run's plan with `run` (a run id or 'latest').
    `subject`: an account id or unique name, an owner id, email or full name."""
    from roleSync.report.explain_subject import explain_from_book, explain_from_run
    from roleSync.report.runs import find_run

    loaded = _profile(profile)
    if run is not None:
        if as_of is not None:
            raise UsageError("as_of does not go with run: a run has its own date")
        run_id = find_run(loaded, None if run == "latest" else run).name
        given = None if rules is None else _rule_paths(rules)
        return Explanation(subject, explain_from_run(loaded, subject, run_id, given), run_id)
    paths = _rule_paths(rules)
    text = explain_from_book(loaded, subject, paths, as_of or _today(), _progress(echo))
    return Explanation(subject, text, None)


@api_call
def report(
    profile: ProfileSource,
    run_id: str | None = None,
    *,
    format: ReportFormat = "json",
    output: PathLike | None = None,
    pull: bool | None = None,
    echo: bool = False,
) -> ReportResult:
    """A run's report (default: the profile's latest run) written as HTML, JSON or a
    folder of CSV tables, by default in the run's folder; its tables come back as `data`.
    `pull`: read the book for moved accounts' revenue (default: local books only)."""
    from roleSync.report.runs import report_data, write_report

    if format not in ("html", "json", "csv"):
        raise UsageError(f"report format {format!r}: expected html, json or csv")
    loaded = _profile(profile)
    run, data = report_data(loaded, run_id, pull=pull, progress=_progress(echo))
    path = write_report(data, run.folder, format, None if output is None else Path(output))
    return ReportResult(run.run_id, format, path, data)


@api_call
def diff(
    profile: ProfileSource,
    rules: RuleSource = None,
    *,
    base_rules: RuleSource = None,
    base_ref: str | None = None,
    as_of: date | None = None,
    output: PathLike | None = None,
    format: DiffFormat = "json",
    echo: bool = False,
) -> DiffResult:
    """What a rule change does to the same book on the same date: `rules` against
    `base_rules` (files or folders) or the same paths at git ref `base_ref`, one of the
    two. `output`: also write it there in `format`."""
    from roleSync.diff import diff_exit_code
    from roleSync.sync.diff_run import DiffRequest
    from roleSync.sync.state import write_atomically
    from roleSync.sync.work import diff_book

    if (base_rules is None) == (base_ref is None):
        raise UsageError("diff needs one of base_rules and base_ref")
    loaded = _profile(profile)
    request = DiffRequest(
        loaded,
        _rule_paths(rules),
        as_of or _today(),
        base_rules=() if base_rules is None else _rule_paths(base_rules),
        base_ref=base_ref,
    )
    found = diff_book(request, progress=_progress(echo), on_health=_health_sink(loaded, echo))
    result = DiffResult(found, _DIFF_OUTCOMES[diff_exit_code(found)], None)
    if output is None:
        return result
    texts = {"json": result.as_json, "text": result.as_text, "markdown": result.as_markdown}
    if format not in texts:
        raise UsageError(f"diff format {format!r}: expected json, text or markdown")
    text = texts[format]()
    write_atomically(Path(output), text if text.endswith("\n") else text + "\n")
    return DiffResult(found, result.outcome, Path(output))


# -- shared ------------------------------------------------------------------------


def _profile(source: ProfileSource) -> Profile:
    from roleSync.profile import Profile, load_profile

    if isinstance(source, Profile):
        return source
    return load_profile(Path(source))


def _rule_paths(rules: RuleSource) -> list[Path]:
    if rules is None:
        return [Path("rules")]
    if isinstance(rules, str | os.PathLike):
        return [Path(rules)]
    return [Path(r) for r in rules]


def _today() -> date:
    from roleSync.sync.runner import utc_now

    return utc_now().date()


def _fail_on(codes: Sequence[str] | None) -> tuple[str, ...] | None:
    """The codes checked as `--fail-on` checks them (UsageError naming an unknown one)."""
    if codes is None:
        return None
    if isinstance(codes, str):
        raise UsageError("fail_on takes a list of skip codes, not a string")
    from roleSync.sync.stuck import parse_fail_on

    return parse_fail_on(",".join(codes))


def _progress(echo: bool) -> Progress:
    from roleSync.report.progress import NO_PROGRESS, progress_for

    return progress_for(sys.stderr) if echo else NO_PROGRESS


def _health_sink(profile: Profile, echo: bool) -> HealthSink:
    """Book-health warnings: logged as warnings of "roleSync.api"; on stderr too with echo
    (as the CLI prints them)."""

    def sink(health: BookHealth) -> None:
        for finding in health.findings:
            line = str(finding.diagnostic(profile))
            _LOG.warning(line)
            if echo:
                print(line, file=sys.stderr)

    return sink


def _unwritten(made: Plan) -> str:
    from roleSync.render import skip_summary

    return (
        f"plan: {len(made.changes)} ownership changes, {len(made.metric_writes)} metric "
        f"writes, {skip_summary(made)}"
    )


def _run_result(
    profile: Profile, report: RunReport, made: Plan | None, fail_on: tuple[str, ...] | None
) -> RunResult:
    from roleSync.sync.stuck import run_outcome

    code, line = run_outcome(report, profile.alerts.fail_on if fail_on is None else fail_on)
    outcome = {ExitCode.OK: RunOutcome.OK, ExitCode.STUCK: RunOutcome.STUCK}.get(
        code, RunOutcome.FAILED
    )
    counts = RunCounts(
        planned=report.planned,
        applied=len(report.applied),
        already_applied=len(report.already_applied),
        conflicts=len(report.conflicts),
        failed=len(report.failed),
        skipped=len(report.skipped),
        metrics_planned=report.metrics_planned,
        metrics_written=report.metrics_written,
        metric_failures=len(report.metric_failures),
        metric_conflicts=len(report.metric_conflicts),
    )
    return RunResult(
        run_id=report.run_id,
        profile=report.profile,
        mode=report.mode,
        outcome=outcome,
        counts=counts,
        stuck=line,
        report_path=Path(report.report_path),
        plan_path=Path(report.plan_path),
        report=report,
        plan=made,
    )
