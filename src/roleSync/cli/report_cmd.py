"""`rolesync report [RUN_ID]`: a run's report as one HTML page, or JSON / CSV for BI tools."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from roleSync.cli.common import CommandUsageError, Subparsers, add_profile_option, out
from roleSync.errors import ExitCode

STDOUT = Path("-")


def register(sub: Subparsers) -> None:
    report = sub.add_parser(
        "report", help="a run's report: HTML with charts, or JSON / CSV for BI tools"
    )
    report.add_argument(
        "run_id", nargs="?", metavar="RUN_ID", help="the run (default: the profile's latest)"
    )
    add_profile_option(report)
    report.add_argument(
        "--format", choices=("html", "json", "csv"), default="html", help="default: %(default)s"
    )
    report.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="where to write (default: in the run's folder; csv: a folder of one file per "
        "table; '-': stdout, html and json only)",
    )
    report.add_argument(
        "--pull",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="read the book for the revenue of moved accounts (default: local books only, "
        "a remote CRM costs API calls)",
    )
    report.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> ExitCode:
    from roleSync.profile import load_profile
    from roleSync.report.data import to_json
    from roleSync.report.html import render_html
    from roleSync.report.progress import progress_for
    from roleSync.report.runs import report_data, write_report

    if args.output == STDOUT and args.format == "csv":
        raise CommandUsageError("csv is a folder of tables: give -o FOLDER, not '-'")
    profile = load_profile(args.connector)
    run, data = report_data(profile, args.run_id, pull=args.pull, progress=progress_for(sys.stderr))
    if args.output == STDOUT:
        sys.stdout.write(render_html(data) if args.format == "html" else to_json(data))
        return ExitCode.OK
    path = write_report(data, run.folder, args.format, args.output)
    out(f"report of run {run.run_id} ({args.format}): {path}")
    return ExitCode.OK
