"""`rolesync check`: validate rule files and connector profiles."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from roleSync.cli.common import Subparsers, out
from roleSync.diagnostic_formats import (
    FORMATS,
    exit_code_for,
    render,
    render_step_summary,
    render_text,
    summary_line,
)
from roleSync.errors import ExitCode

FORMAT_HELP = (
    "text (default): diagnostics on stderr, a summary on stdout; "
    "json, github (workflow commands), junit (XML), sarif (2.1.0): a document on stdout"
)


def register(sub: Subparsers) -> None:
    check = sub.add_parser("check", help="validate rule files and connector profiles")
    check.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="rule files, rule tests, profiles or folders (default with -c: the profile)",
    )
    check.add_argument("--format", choices=FORMATS, default="text", help=FORMAT_HELP)
    check.add_argument(
        "--strict", action="store_true", help="warnings count as errors (exit 1, not 3)"
    )
    check.add_argument(
        "-c",
        "--connector",
        type=Path,
        metavar="PROFILE",
        help="also check field names against this profile's mapping, owner names against "
        "its book, and the health of its book (the local book, or a CRM profile's mirror)",
    )
    check.set_defaults(handler=run_check)


def _project_url() -> str | None:
    """The project's home page from the installed metadata, if it declares one."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        meta = metadata("rolesync")
    except PackageNotFoundError:
        return None
    for entry in meta.get_all("Project-URL") or []:
        label, _, url = str(entry).partition(",")
        if label.strip().lower() in {"homepage", "repository", "source"} and url.strip():
            return url.strip()
    home = meta.get_all("Home-page") or []
    return str(home[0]) if home else None


def _append_step_summary(markdown: str) -> None:
    # Set by GitHub Actions to a file the step may append Markdown to; absent elsewhere.
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    try:
        with Path(target).open("a", encoding="utf-8") as summary:
            summary.write(markdown)
    except OSError as exc:
        # The annotations and the exit code already carry the verdict; a summary we
        # cannot write is worth a note, not a different result.
        print(f"rolesync: warning: cannot write the step summary: {exc}", file=sys.stderr)


def run_check(args: argparse.Namespace) -> ExitCode:
    from roleSync.check import book_health_problems, check_paths, context_from_profile
    from roleSync.cli.common import CommandUsageError
    from roleSync.rules.ruleset import rule_file_paths

    if not args.paths and not args.connector:
        raise CommandUsageError("check needs a PATH, or a profile with -c")
    context = context_from_profile(args.connector) if args.connector else None
    # Expanding folders here as check_paths does gives JUnit the names of the clean files.
    files = rule_file_paths(args.paths or [args.connector])
    count, problems = check_paths(files, context)
    if args.connector:
        problems = sorted([*problems, *book_health_problems(args.connector)])
    strict: bool = args.strict
    summary = summary_line(problems, count, strict)
    if args.format == "text":
        sys.stderr.write(render_text(problems))
        sys.stderr.flush()
        out(summary)
    else:
        root = str(Path.cwd())
        sys.stdout.write(
            render(
                args.format,
                problems,
                count,
                strict=strict,
                root=root,
                files=[str(f) for f in files],
                information_uri=_project_url(),
            )
        )
        sys.stdout.flush()
        # stdout holds only the document (it is often redirected to a file); the human
        # summary goes to the log.
        print(summary, file=sys.stderr)
        if args.format == "github":
            _append_step_summary(render_step_summary(problems, count, strict=strict, root=root))
    return exit_code_for(problems, strict)
