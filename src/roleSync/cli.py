"""The `rolesync` command: parse arguments, call the library, map errors to exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from roleSync import __version__
from roleSync.errors import ExitCode, InputError, RoleSyncError, Severity
from roleSync.render import (
    handoff_table,
    owner_names,
    role_table,
    run_summary,
    skip_summary,
    titles_that_lie,
)

DEFAULT_RULES = Path("rules")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _today() -> date:
    from roleSync.sync.runner import utc_now

    return utc_now().date()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rolesync",
        description="Keep CRM account ownership in step with how your sellers actually sell.",
    )
    parser.add_argument("--version", action="version", version=f"rolesync {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="build a synthetic book and sync it end to end")
    demo.add_argument(
        "--dir",
        type=Path,
        default=Path("rolesync-demo"),
        help="folder for the demo book, rules and reports (default: %(default)s)",
    )
    demo.add_argument("--as-of", type=_date, help="the day to plan for (default: today, UTC)")
    demo.add_argument("--seed", type=int, default=2026, help="seed of the synthetic book")
    demo.add_argument(
        "--show", type=int, default=15, metavar="N", help="handoffs to list (default: %(default)s)"
    )

    check = sub.add_parser("check", help="validate rule files and connector profiles")
    check.add_argument("paths", nargs="+", type=Path, metavar="PATH")

    def with_profile(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "-c",
            "--connector",
            type=Path,
            required=True,
            metavar="PROFILE",
            help="connector profile (YAML)",
        )

    def with_rules(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "-r",
            "--rules",
            type=Path,
            action="append",
            metavar="PATH",
            help="rule file or folder (repeatable; default: ./rules)",
        )
        p.add_argument("--as-of", type=_date, help="the day to plan for (default: today, UTC)")

    plan = sub.add_parser("plan", help="compute a plan; writes nothing to the CRM")
    with_profile(plan)
    with_rules(plan)
    plan.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write the plan here (default: standard output)",
    )

    apply = sub.add_parser("apply", help="write a plan made by `rolesync plan`")
    apply.add_argument("plan", type=Path, metavar="PLAN")
    with_profile(apply)

    sync = sub.add_parser("sync", help="plan and apply in one go (for schedulers)")
    with_profile(sync)
    with_rules(sync)

    imp = sub.add_parser("import", help="import CSV exports into a local book")
    with_profile(imp)
    imp.add_argument("--owners", type=Path, metavar="CSV")
    imp.add_argument("--accounts", type=Path, metavar="CSV")
    imp.add_argument("--deals", type=Path, metavar="CSV")
    return parser


def _out(text: str = "") -> None:
    print(text, flush=True)


def _cmd_demo(args: argparse.Namespace) -> ExitCode:
    from roleSync.demo import run_demo

    as_of = args.as_of or _today()
    _out(f"Building the demo book in {args.dir}/ (as of {as_of}) and syncing it ...")
    result = run_demo(args.dir, as_of, args.seed)
    plan, report = result.plan, result.report
    _out(
        f"\nRoles: {plan.summary['owners']} owners, classified from their deal mix "
        f"over the last {plan.window_days} days\n"
    )
    _out(role_table(plan.owners))
    _out(f"\nTitles that say otherwise:\n{titles_that_lie(plan.owners)}")
    _out(f"\nHandoffs: {len(report.applied)} post-sale accounts moved from hunters to farmers\n")
    _out(handoff_table(plan, owner_names(plan), args.show))
    _out(f"\n{skip_summary(plan)}")
    _out(run_summary(report))
    _out(f"\nRun report (JSON): {report.report_path}")
    _out(f"Plan (JSON):       {report.plan_path}")
    _out(
        f"Try next:          rolesync plan -c {args.dir / 'demo.yaml'} "
        f"-r {args.dir / 'rules'} --as-of {as_of}"
    )
    return ExitCode.OK if report.ok else ExitCode.INVALID


def _cmd_check(args: argparse.Namespace) -> ExitCode:
    from roleSync.check import check_paths

    count, problems = check_paths(args.paths)
    for diagnostic in problems:
        print(diagnostic, file=sys.stderr)
    if any(d.severity is Severity.ERROR for d in problems):
        return ExitCode.INVALID
    if problems:
        return ExitCode.GUARDRAIL
    _out(f"{count} file(s) OK")
    return ExitCode.OK


def _rule_paths(args: argparse.Namespace) -> list[Path]:
    return list(args.rules or [DEFAULT_RULES])


def _cmd_plan(args: argparse.Namespace) -> ExitCode:
    from roleSync.profile import load_profile
    from roleSync.sync.runner import PlanRequest, make_plan, open_adapter

    profile = load_profile(args.connector)
    request = PlanRequest(profile, _rule_paths(args), args.as_of or _today())
    adapter = open_adapter(profile)
    try:
        plan = make_plan(request, adapter)
    finally:
        adapter.close()
    if args.output:
        from roleSync.sync.state import write_atomically

        write_atomically(args.output, plan.to_json())
        print(
            f"plan: {len(plan.changes)} ownership changes, {len(plan.metric_writes)} metric "
            f"writes, {skip_summary(plan)}; written to {args.output}",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(plan.to_json())
    return ExitCode.OK


def _cmd_apply(args: argparse.Namespace) -> ExitCode:
    from roleSync.plan import Plan
    from roleSync.profile import load_profile
    from roleSync.sync.runner import apply_plan, open_adapter

    plan = Plan.read(args.plan)
    profile = load_profile(args.connector)
    adapter = open_adapter(profile)
    try:
        report = apply_plan(profile, plan, adapter, mode="apply")
    finally:
        adapter.close()
    _out(run_summary(report))
    _out(f"report: {report.report_path}")
    return ExitCode.OK if report.ok else ExitCode.INVALID


def _cmd_sync(args: argparse.Namespace) -> ExitCode:
    from roleSync.profile import load_profile
    from roleSync.sync.runner import PlanRequest, sync

    profile = load_profile(args.connector)
    _, report = sync(PlanRequest(profile, _rule_paths(args), args.as_of or _today()))
    _out(run_summary(report))
    _out(f"report: {report.report_path}")
    return ExitCode.OK if report.ok else ExitCode.INVALID


def _cmd_import(args: argparse.Namespace) -> ExitCode:
    from roleSync.adapters.local_import import import_csv
    from roleSync.profile import load_profile

    if not (args.owners or args.accounts or args.deals):
        raise _UsageError("import needs at least one of --owners, --accounts, --deals")
    profile = load_profile(args.connector)
    report = import_csv(profile, args.owners, args.accounts, args.deals)
    _out(str(report))
    return ExitCode.OK


class _UsageError(RoleSyncError):
    exit_code = ExitCode.USAGE


COMMANDS = {
    "demo": _cmd_demo,
    "check": _cmd_check,
    "plan": _cmd_plan,
    "apply": _cmd_apply,
    "sync": _cmd_sync,
    "import": _cmd_import,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(COMMANDS[args.command](args))
    except InputError as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic, file=sys.stderr)
        errors = any(d.severity is Severity.ERROR for d in exc.diagnostics)
        return int(ExitCode.INVALID if errors else ExitCode.GUARDRAIL)
    except RoleSyncError as exc:
        print(f"rolesync: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("rolesync: interrupted", file=sys.stderr)
        return 130
