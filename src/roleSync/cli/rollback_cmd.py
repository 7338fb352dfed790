"""`rolesync rollback RUN_ID [--dry-run]`: undo one run's ownership changes, or show what
undoing them would restore and skip, in the same words, with nothing written."""

from __future__ import annotations

import argparse

from roleSync.cli.common import Subparsers, add_profile_option, out
from roleSync.errors import ExitCode


def register(sub: Subparsers) -> None:
    # The options every writing command shares, and its logging and signal handling.
    from roleSync.cli.history_cmds import add_run_options, logged

    rollback = sub.add_parser(
        "rollback", help="undo one run's ownership changes (skipping accounts changed since)"
    )
    rollback.add_argument("run_id", metavar="RUN_ID")
    add_profile_option(rollback)
    add_run_options(rollback)
    rollback.add_argument(
        "--dry-run",
        action="store_true",
        help="print what the rollback would restore and skip, and why; write nothing "
        "(exit 3 when the guardrails would stop it)",
    )
    rollback.set_defaults(handler=logged(run_rollback))


def run_rollback(args: argparse.Namespace) -> ExitCode:
    from roleSync.profile import load_profile
    from roleSync.terminal_text import printable

    profile = load_profile(args.connector)
    if args.dry_run:
        from roleSync.sync.rollback_preview import preview_rollback, preview_text

        preview = preview_rollback(profile, args.run_id, allow_large=args.allow_large)
        out(preview_text(preview))
        # As the real rollback would end: 3 when the guardrails would stop it.
        return ExitCode.GUARDRAIL if preview.stops else ExitCode.OK
    from roleSync.render import run_summary
    from roleSync.sync.rollback import not_rolled_back, rollback

    report = rollback(profile, args.run_id, allow_large=args.allow_large)
    out(run_summary(report))
    for skip in report.skipped:
        out(printable(not_rolled_back(skip)))
    out(f"report: {report.report_path}")
    return ExitCode.OK if report.ok else ExitCode.INVALID
