"""The commands of a run: demo, import, plan, apply, sync."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from roleSync.cli.common import (
    CommandUsageError,
    Subparsers,
    add_profile_option,
    add_rules_options,
    byte_size,
    iso_date,
    out,
    rule_paths,
    today,
)
from roleSync.cli.history_cmds import add_fail_on_option, add_run_options, logged, progress_of
from roleSync.errors import ExitCode
from roleSync.render import (
    handoff_table,
    owner_names,
    role_table,
    run_summary,
    skip_summary,
    titles_that_lie,
)
from roleSync.sync import logs
from roleSync.terminal_text import printable

if TYPE_CHECKING:
    from roleSync.health import BookHealth
    from roleSync.profile import Profile
    from roleSync.sync.report import RunReport


def register(sub: Subparsers) -> None:
    demo = sub.add_parser("demo", help="build a synthetic book and sync it end to end")
    demo.add_argument(
        "--dir",
        type=Path,
        default=Path("rolesync-demo"),
        help="folder for the demo book, rules and reports (default: %(default)s)",
    )
    demo.add_argument("--as-of", type=iso_date, help="the day to plan for (default: today, UTC)")
    demo.add_argument("--seed", type=int, default=2026, help="seed of the synthetic book")
    demo.add_argument(
        "--show", type=int, default=15, metavar="N", help="handoffs to list (default: %(default)s)"
    )
    demo.set_defaults(handler=run_demo)

    imp = sub.add_parser("import", help="import CSV exports into a local book")
    add_profile_option(imp)
    imp.add_argument("--owners", type=Path, metavar="CSV")
    imp.add_argument("--accounts", type=Path, metavar="CSV")
    imp.add_argument("--deals", type=Path, metavar="CSV")
    imp.add_argument("--contacts", type=Path, metavar="CSV")
    imp.add_argument("--tasks", type=Path, metavar="CSV")
    imp.set_defaults(handler=run_import)

    plan = sub.add_parser("plan", help="compute a plan; writes nothing to the CRM")
    add_profile_option(plan)
    add_rules_options(plan)
    plan.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write the plan here (default: stdout)"
    )
    plan.set_defaults(handler=run_plan)

    apply = sub.add_parser("apply", help="write a plan made by `rolesync plan`")
    apply.add_argument("plan", type=Path, metavar="PLAN")
    add_profile_option(apply)
    apply.add_argument(
        "-r",
        "--rules",
        type=Path,
        action="append",
        metavar="PATH",
        help="the rules to re-check the plan under: rule file or folder (repeatable; "
        "default: ./rules); must be those the plan was made with",
    )
    apply.add_argument(
        "--allow-stale-rules",
        action="store_true",
        help="apply a plan made under other rules (its changes are still re-checked "
        "under the rules given)",
    )
    apply.add_argument(
        "--max-plan-size",
        type=byte_size,
        metavar="SIZE",
        help="refuse a larger plan file before reading it, e.g. 512MiB or 2GiB (default: 256MiB)",
    )
    add_run_options(apply)
    add_fail_on_option(apply)
    apply.set_defaults(handler=logged(run_apply))

    sync = sub.add_parser("sync", help="plan and apply in one go (for schedulers)")
    add_profile_option(sync)
    add_rules_options(sync)
    add_run_options(sync)
    add_fail_on_option(sync)
    sync.set_defaults(handler=logged(run_sync))


def health_printer(profile: Profile, *, as_events: bool = False) -> Callable[[BookHealth], None]:
    """Shows a book's health warnings on stderr: one diagnostic a line, or one JSON event
    each with `as_events` (--log-format json). Errors stop the run and are shown with it."""

    def show(health: BookHealth) -> None:
        for finding in health.findings:
            line = str(finding.diagnostic(profile))
            if as_events:
                logs.event(
                    "book-health",
                    line,
                    level=logging.WARNING,
                    code=finding.code,
                    count=finding.count,
                    rows=finding.rows,
                )
            else:
                print(line, file=sys.stderr)

    return show


def run_demo(args: argparse.Namespace) -> ExitCode:
    from roleSync.demo import PROFILE_NAME
    from roleSync.demo import run_demo as demo
    from roleSync.profile import load_profile
    from roleSync.report.progress import progress_for
    from roleSync.report.runs import report_data, write_report

    as_of = args.as_of or today()
    out(f"Building the demo book in {args.dir}/ (as of {as_of}) and syncing it ...")
    progress = progress_for(sys.stderr)
    result = demo(args.dir, as_of, args.seed, progress=progress)
    plan, report = result.plan, result.report
    out(
        f"\nRoles: {plan.summary['owners']} owners, classified from their deal mix "
        f"over the last {plan.window_days} days\n"
    )
    out(role_table(plan.owners))
    out(f"\nTitles that say otherwise:\n{titles_that_lie(plan.owners)}")
    out(f"\nHandoffs: {len(report.applied)} post-sale accounts moved from hunters to farmers\n")
    out(handoff_table(plan, owner_names(plan), args.show))
    out(f"\n{skip_summary(plan)}")
    out(run_summary(report))
    out(f"\nRun report (JSON): {report.report_path}")
    out(f"Plan (JSON):       {report.plan_path}")
    profile = args.dir / PROFILE_NAME
    out(f"Try next:          rolesync plan -c {profile} -r {args.dir / 'rules'} --as-of {as_of}")
    if report.applied:
        explain = f"rolesync explain {report.applied[0].account_id} -c {profile} --run latest"
        out(f"{'':19}{explain}")
    run, data = report_data(load_profile(profile), report.run_id, progress=progress)
    out(f"\nRun report (HTML): {write_report(data, run.folder, 'html', None)}")
    return ExitCode.OK if report.ok else ExitCode.INVALID


def run_import(args: argparse.Namespace) -> ExitCode:
    from roleSync.adapters.local_import import import_csv
    from roleSync.health import health_hook
    from roleSync.profile import load_profile

    if not (args.owners or args.accounts or args.deals or args.contacts or args.tasks):
        raise CommandUsageError(
            "import needs at least one of --owners, --accounts, --deals, --contacts, --tasks"
        )
    profile = load_profile(args.connector)
    # The book health gate runs on the book as the import would leave it, before it
    # commits: an error there and nothing is written.
    report = import_csv(
        profile,
        args.owners,
        args.accounts,
        args.deals,
        contacts=args.contacts,
        tasks=args.tasks,
        health=health_hook(profile),
    )
    for warning in report.warnings:
        print(warning, file=sys.stderr)
    out(str(report))
    return ExitCode.OK


def run_plan(args: argparse.Namespace) -> ExitCode:
    from roleSync.profile import load_profile
    from roleSync.report.progress import progress_for
    from roleSync.sync.state import write_atomically
    from roleSync.sync.work import plan_book, plan_summary

    profile = load_profile(args.connector)
    plan = plan_book(
        profile,
        rule_paths(args),
        args.as_of or today(),
        progress=progress_for(sys.stderr),
        on_health=health_printer(profile),
    )
    if not args.output:
        sys.stdout.write(plan.to_json())
        return ExitCode.OK
    write_atomically(args.output, plan.to_json())
    print(printable(plan_summary(plan, args.output)), file=sys.stderr)
    return ExitCode.OK


def run_apply(args: argparse.Namespace) -> ExitCode:
    from roleSync.plan import Plan
    from roleSync.plan.document import MAX_PLAN_BYTES
    from roleSync.profile import load_profile
    from roleSync.sync.runner import apply_saved

    limit = MAX_PLAN_BYTES if args.max_plan_size is None else args.max_plan_size
    plan = Plan.read(args.plan, max_bytes=limit)  # refused before reading when larger
    profile = load_profile(args.connector)
    # Takes the profile's lock and finishes an interrupted run first.
    report = apply_saved(
        profile,
        plan,
        rule_paths(args),
        allow_large=args.allow_large,
        allow_stale_rules=args.allow_stale_rules,
        plan_path=args.plan,
        progress=progress_of(args),
    )
    return _finished(args, profile, report)


def _finished(args: argparse.Namespace, profile: Profile, report: RunReport) -> ExitCode:
    """The run's summary, then its exit code: 1 when something failed, else 5 when a
    handoff was skipped for a `--fail-on` code (the flag, else the profile's
    `alerts.fail_on`), said in one line, else 0."""
    out(run_summary(report))
    out(f"report: {report.report_path}")
    from roleSync.sync.stuck import run_outcome

    fail_on = profile.alerts.fail_on if args.fail_on is None else args.fail_on
    code, line = run_outcome(report, fail_on)
    if line is None:
        return code
    # A warning: shown in text mode too, and a JSON event for log collectors.
    logs.event(
        "stuck-handoffs",
        line,
        level=logging.WARNING,
        run_id=report.run_id,
        exit_code=int(code),
        skipped_by_reason={c: n for c, n in report.skipped_by_reason.items() if c in fail_on},
        full_routes=report.full_routes,
    )
    return code


def run_sync(args: argparse.Namespace) -> ExitCode:
    from roleSync.profile import load_profile
    from roleSync.sync.runner import PlanRequest, sync

    profile = load_profile(args.connector)
    request = PlanRequest(profile, rule_paths(args), args.as_of or today())
    _, report = sync(
        request,
        allow_large=args.allow_large,
        progress=progress_of(args),
        on_health=health_printer(profile, as_events=args.log_format == "json"),
    )
    return _finished(args, profile, report)
