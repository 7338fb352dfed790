"""`rolesync explain ACCOUNT|OWNER`: why this role, why this route, in plain words."""

from __future__ import annotations

import argparse
import sys

from roleSync.cli.common import (
    CommandUsageError,
    Subparsers,
    add_profile_option,
    add_rules_options,
    out,
    rule_paths,
    today,
)
from roleSync.errors import ExitCode


def register(sub: Subparsers) -> None:
    explain = sub.add_parser(
        "explain", help="why an owner has their role; why an account moves or stays"
    )
    explain.add_argument(
        "subject",
        metavar="ACCOUNT|OWNER",
        help="an account id (or unique name), or an owner id, email or full name",
    )
    add_profile_option(explain)
    add_rules_options(explain)
    explain.add_argument(
        "--run",
        metavar="RUN_ID",
        help="explain from a past run's plan instead of the book ('latest': the latest run)",
    )
    explain.set_defaults(handler=run_explain)


def run_explain(args: argparse.Namespace) -> ExitCode:
    from roleSync.profile import load_profile
    from roleSync.report.explain_subject import explain_from_book, explain_from_run
    from roleSync.report.progress import progress_for

    profile = load_profile(args.connector)
    if args.run:
        if args.as_of:
            raise CommandUsageError("--as-of does not go with --run: a run has its own date")
        out(explain_from_run(profile, args.subject, args.run, args.rules))
    else:
        as_of = args.as_of or today()
        out(
            explain_from_book(
                profile, args.subject, rule_paths(args), as_of, progress_for(sys.stderr)
            )
        )
    return ExitCode.OK
