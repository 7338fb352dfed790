"""`rolesync check`: validate rule files and connector profiles."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from roleSync.cli.common import Subparsers, out
from roleSync.errors import ExitCode, Severity


def register(sub: Subparsers) -> None:
    check = sub.add_parser("check", help="validate rule files and connector profiles")
    check.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> ExitCode:
    from roleSync.check import check_paths

    count, problems = check_paths(args.paths)
    for diagnostic in problems:
        print(diagnostic, file=sys.stderr)
    if any(d.severity is Severity.ERROR for d in problems):
        return ExitCode.INVALID
    if problems:
        return ExitCode.GUARDRAIL
    out(f"{count} file(s) OK")
    return ExitCode.OK
