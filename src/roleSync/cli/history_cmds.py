"""Run history and unattended operation: `runs`, `runs show`, `runs abandon` (`rollback`
is in rollback_cmd), and what every writing command shares (`--allow-large`,
`--log-format`, stopping on SIGTERM and SIGINT at a batch boundary)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from roleSync.cli.common import (
    CommandUsageError,
    Subparsers,
    add_profile_option,
    out,
    out_document,
)
from roleSync.errors import ExitCode, InputError, RoleSyncError, Severity, UsageError
from roleSync.report.progress import Progress, progress_for
from roleSync.sync import interrupt, logs
from roleSync.sync.store import AuditRow, Outcome, RunRow, RunStatus, StateStore
from roleSync.terminal_text import printable

if TYPE_CHECKING:
    from roleSync.report.related import FollowerCounts

Handler = Callable[[argparse.Namespace], ExitCode]
# A logged handler may also end with 128 + a signal's number (143 SIGTERM, 130 SIGINT).
LoggedHandler = Callable[[argparse.Namespace], int]
# Runs whose message the `runs` table shows: why they are stuck, or why given up.
NOTED = (RunStatus.INTERRUPTED, RunStatus.ABANDONED)
NOTE_WIDTH = 72
TABLE_HEAD: tuple[str, ...] = (
    "RUN",
    "PROFILE",
    "MODE",
    "STATUS",
    "STARTED",
    "PLANNED",
    "APPLIED",
    "CONFL",
    "FAILED",
    "NOTE",
)
DEFAULT_STATE = Path(".rolesync") / "state.db"


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options of the commands that write to the CRM: sync, apply, rollback."""
    parser.add_argument(
        "--allow-large",
        action="store_true",
        help="apply even above the profile's guardrails (max_changes, max_share, "
        "max_role_changes, max_metric_writes, max_related_changes, max_handoff_tasks)",
    )
    parser.add_argument(
        "--log-format",
        choices=logs.FORMATS,
        default="text",
        help="stderr events: text (warnings, for people) or json (one object per line, "
        "for log collectors; default: %(default)s)",
    )


def add_fail_on_option(parser: argparse.ArgumentParser) -> None:
    """`--fail-on CODES` of sync and apply: exit 5 when handoffs are stuck."""
    parser.add_argument(
        "--fail-on",
        type=_fail_on_codes,
        metavar="CODES",
        help="exit 5 (stuck handoffs) when any handoff of the run is skipped for one of "
        "these comma-separated skip codes, e.g. no-eligible-farmer,no-route; everything "
        "else is still written (default: the profile's alerts.fail_on; '' for none)",
    )


def _fail_on_codes(text: str) -> tuple[str, ...]:
    from roleSync.sync.stuck import parse_fail_on

    try:
        return parse_fail_on(text)
    except UsageError as exc:  # argparse turns this one into its usage line, exit 2
        raise argparse.ArgumentTypeError(str(exc)) from None


def progress_of(args: argparse.Namespace) -> Progress:
    """Progress lines on stderr, or events in json mode (stderr stays pure JSON lines)."""
    if args.log_format == "json":
        return logs.EventProgress()
    return progress_for(sys.stderr)


def logged(handler: Handler) -> LoggedHandler:
    """Run `handler` with the chosen log format, stopping on SIGTERM or SIGINT at a batch
    boundary (sync.interrupt) with a last event and exit 143 or 130. In json mode an
    error is a JSON event too, so a log collector never has to parse a plain-text line."""

    def run(args: argparse.Namespace) -> int:
        logs.configure(args.log_format)
        try:
            with interrupt.stopping_gracefully() as stop:
                code = handler(args)
            if stop.signum is not None:  # came while the run was closing: it finished
                return _stopped(interrupt.Interrupted(stop.signum, at_once=False), done=True)
            return code
        except interrupt.Interrupted as exc:
            return _stopped(exc)
        except RoleSyncError as exc:
            if args.log_format != "json":
                raise
            code = exc.exit_code
            if isinstance(exc, InputError):
                failing = any(d.severity is Severity.ERROR for d in exc.diagnostics)
                code = ExitCode.INVALID if failing else ExitCode.GUARDRAIL
            for line in str(exc).splitlines():
                logs.event("error", line, level=logging.ERROR, exit_code=int(code))
            return code
        finally:
            logs.reset()

    return run


def _stopped(exc: interrupt.Interrupted, *, done: bool = False) -> int:
    """The last event of a run stopped by a signal (a warning: text mode shows it too)."""
    name = interrupt.signal_name(exc.signum)
    then = "the next sync, apply or rollback of this profile"
    if done:
        message = f"interrupted by {name}: the run had finished; nothing left unfinished"
    elif exc.run_id is None:
        message = f"interrupted by {name}: stopped outside a run; nothing left unfinished"
    elif exc.at_once:
        message = (
            f"interrupted by {name} again: run {exc.run_id} stopped at once, in a batch; "
            f"{then} reads back the writes in flight and finishes it"
        )
    else:
        message = (
            f"interrupted by {name}: run {exc.run_id} stopped after its batch in flight "
            f"was written and journaled; {then} finishes it"
        )
    logs.event(
        "interrupted",
        message,
        level=logging.WARNING,
        signal=name,
        run_id=exc.run_id,
        exit_code=exc.exit_code,
    )
    return exc.exit_code


def register(sub: Subparsers) -> None:
    runs = sub.add_parser("runs", help="history of runs (`runs show ID`: one run)")
    add_profile_option(runs, required=False)
    runs.add_argument("--limit", type=int, default=30, help="runs to list (default: %(default)s)")
    _add_format(runs)
    shows = runs.add_subparsers(dest="runs_command", metavar="show|abandon")
    show = shows.add_parser("show", help="one run: counts, conflicts, failures")
    show.add_argument("run_id", metavar="RUN_ID")
    # Its own dest: argparse lets a subparser's default overwrite the parent's value.
    show.add_argument("-c", "--connector", dest="show_connector", type=Path, metavar="PROFILE")
    _add_format(show, dest="show_format")
    abandon = shows.add_parser(
        "abandon",
        help="give up a run that crashed or was interrupted and cannot be finished "
        "(its journal and audit are kept; the next sync plans afresh)",
    )
    abandon.add_argument("run_id", metavar="RUN_ID")
    abandon.add_argument(
        "-c",
        "--connector",
        dest="abandon_connector",
        type=Path,
        metavar="PROFILE",
        help="the run's connector profile (required)",
    )
    # Required: the run history should say why a run was given up, not only that it was.
    abandon.add_argument(
        "--reason", required=True, metavar="TEXT", help="why it is given up (recorded)"
    )
    runs.set_defaults(handler=run_runs)


def _add_format(parser: argparse.ArgumentParser, dest: str = "format") -> None:
    parser.add_argument(
        "--format", dest=dest, choices=("text", "json"), default=None, help="default: text"
    )


def _stored_state(connector: Path | None) -> tuple[StateStore | None, str]:
    """The store `runs` reads (None if there is none yet) and how messages name it."""

    if connector is None:
        path = DEFAULT_STATE.resolve()
        return (StateStore.open(path) if path.is_file() else None), str(path)
    from roleSync.profile import load_profile
    from roleSync.sync.state_open import state_label, stored_state

    profile = load_profile(connector)
    return stored_state(profile), state_label(profile)


def run_abandon(args: argparse.Namespace) -> ExitCode:
    from roleSync.profile import load_profile
    from roleSync.sync.abandon import abandon
    from roleSync.sync.runner import utc_now

    connector = args.abandon_connector or args.connector
    if connector is None:
        raise CommandUsageError("runs abandon needs the run's profile: -c PROFILE")
    row = abandon(load_profile(connector), args.run_id, args.reason, clock=utc_now)
    out(
        f"run {row.id}: abandoned; its journal and audit are kept ({row.applied} of "
        f"{row.planned} changes applied). The next sync plans afresh."
    )
    return ExitCode.OK


def run_runs(args: argparse.Namespace) -> ExitCode:
    if args.runs_command == "abandon":
        return run_abandon(args)
    show = args.runs_command == "show"
    connector = (args.show_connector or args.connector) if show else args.connector
    fmt = (args.show_format or args.format or "text") if show else (args.format or "text")
    profile = None
    if connector is not None:
        from roleSync.profile import load_profile

        profile = load_profile(connector).name
    opened, path = _stored_state(connector)
    if opened is None:
        if show:
            raise UsageError(f"no runs recorded: no state store at {path}")
        if fmt == "json":
            out_document("[]")
        else:
            out(f"no runs recorded yet (no state store at {path})")
        return ExitCode.OK
    with opened as store:
        if not show:
            runs = store.runs(profile, limit=args.limit)
            if fmt == "json":
                out_document(json.dumps([_run_json(r) for r in runs], indent=2))
            else:
                out(_table(runs))
            return ExitCode.OK
        run = store.run(args.run_id)
        if run is None or (profile is not None and run.profile != profile):
            raise UsageError(f"no run {args.run_id!r} in {path}")
        audit = store.audit(run.id)
        archived = store.archived_rules(run.rules_digest) is not None
    from roleSync.report.related import follower_counts
    from roleSync.report.runs import report_document

    document = report_document(run.report_path)
    metric_conflicts = _from_report(document, "metric_conflicts")
    metric_failures = _from_report(document, "metric_failures")
    followers = follower_counts(document)
    if fmt == "json":
        data = _run_json(run)
        data["rules_archived"] = archived
        data["changes"] = [_audit_json(a) for a in audit]
        data["metric_conflicts"] = metric_conflicts
        data["metric_failures"] = metric_failures
        if followers:  # runs without carry or tasks keep their document as it was
            data.update(followers.as_json())
        out_document(json.dumps(data, indent=2))
    else:
        out(_details(run, audit, metric_conflicts, metric_failures, followers, archived))
    return ExitCode.OK


def _run_json(run: RunRow) -> dict[str, object]:
    return {
        "id": run.id,
        "profile": run.profile,
        "mode": run.mode,
        "status": run.status,
        "started": run.started,
        "finished": run.finished,
        "rules_digest": run.rules_digest,
        "planned": run.planned,
        "applied": run.applied,
        "already_applied": run.already_applied,
        "conflicts": run.conflicts,
        "failed": run.failed,
        "skipped": run.skipped,
        "plan_path": run.plan_path,
        "report_path": run.report_path,
        "rollback_of": run.parent_run,
        "message": run.message,
    }


def _audit_json(row: AuditRow) -> dict[str, object]:
    return {
        "account_id": row.account_id,
        "account_name": row.account_name,
        "from": row.from_owner,
        "to": row.to_owner,
        "rule_id": row.rule_id,
        "result": row.result,
        "found": row.found_owner,
        "error": row.error,
        "at": row.at,
    }


def _table(runs: list[RunRow]) -> str:
    if not runs:
        return "no runs recorded yet"
    head = TABLE_HEAD
    # Cells escaped before measuring (a run's profile or status is read back from a file).
    rows: list[tuple[str, ...]] = [
        tuple(
            printable(cell)
            for cell in (
                r.id,
                r.profile,
                r.mode,
                r.status,
                r.started,
                str(r.planned),
                str(r.applied),
                str(r.conflicts),
                str(r.failed),
                _note(r),
            )
        )
        for r in runs
    ]
    widths = [max(len(row[i]) for row in (head, *rows)) for i in range(len(head))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (head, *rows)
    )


def _note(run: RunRow) -> str:
    """Why a run is stuck or was given up, cut to fit a line."""
    if run.status not in NOTED or not run.message:
        return ""
    text = " ".join(printable(run.message).split())  # a reason is typed by a person
    return text if len(text) <= NOTE_WIDTH else text[: NOTE_WIDTH - 3] + "..."


def _from_report(document: dict[str, object], key: str) -> dict[str, str]:
    """Owner id -> why, from the run's report (`metric_conflicts`, `metric_failures`):
    metric writes are not in the audit log."""
    found = document.get(key)
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _details(
    run: RunRow,
    audit: list[AuditRow],
    metric_conflicts: dict[str, str],
    metric_failures: dict[str, str],
    followers: FollowerCounts,
    archived: bool = False,
) -> str:
    kept = " (rule files archived)" if archived else ""
    lines = [
        f"run {run.id} ({run.mode}, profile {run.profile}): {run.status}",
        f"  started  {run.started}",
        f"  finished {run.finished or '-'}",
        f"  rules    {run.rules_digest or '-'}{kept}",
        f"  planned {run.planned}, applied {run.applied}, already applied "
        f"{run.already_applied}, conflicts {run.conflicts}, failed {run.failed}, "
        f"skipped {run.skipped}",
        f"  plan     {run.plan_path or '-'}",
        f"  report   {run.report_path or '-'}",
    ]
    if run.parent_run:
        lines.append(f"  rollback of run {run.parent_run}")
    if run.message:
        lines.append(f"  note     {printable(run.message)}")
    lines += [printable(line) for line in followers.lines(run.parent_run)]
    conflicts = [a for a in audit if a.result == Outcome.CONFLICT]
    if conflicts:
        lines.append(f"conflicts ({len(conflicts)}): changed in the CRM after the plan, left alone")
        lines += [
            f"  {a.account_id}  planned {a.from_owner or '-'} -> {a.to_owner}, "
            f"found {a.found_owner or '-'}"
            for a in conflicts
        ]
    if metric_conflicts:
        lines.append(
            f"metric conflicts ({len(metric_conflicts)}): fields changed in the CRM after "
            "the plan, nothing written for these owners"
        )
        lines += [
            f"  {printable(owner)}  {printable(why)}"
            for owner, why in sorted(metric_conflicts.items())
        ]
    if metric_failures:
        lines.append(f"metric write failures ({len(metric_failures)}):")
        lines += [
            f"  {printable(owner)}  {printable(why)}"
            for owner, why in sorted(metric_failures.items())
        ]
    failures = [a for a in audit if a.result == Outcome.FAILED]
    if failures:
        lines.append(f"failures ({len(failures)}):")
        # A CRM's error text: one line each, whatever it holds.
        lines += [f"  {printable(a.account_id)}  {printable(a.error or '')}" for a in failures]
    return "\n".join(lines)
