"""`rolesync diff`: what a rule change does to the same book on the same date.

Only the standard library and cli.common at import: the rest loads when diff runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from roleSync.cli.common import (
    Subparsers,
    add_profile_option,
    add_rules_options,
    out,
    out_document,
    rule_paths,
    today,
)

FORMATS = ("text", "json", "markdown")


def register(sub: Subparsers) -> None:
    diff = sub.add_parser(
        "diff",
        help="what a rule change does: roles, handoffs and guardrails, base vs new rules",
        description="Plan the same book on the same date under the base rules and the new "
        "ones, and show what changes. Exit 0: nothing changes; 3: the guardrails would "
        "stop a run under the new rules; 6: changes within the guardrails; 1: bad input.",
    )
    add_profile_option(diff)
    add_rules_options(diff)
    base = diff.add_mutually_exclusive_group(required=True)
    base.add_argument(
        "--base-rules",
        type=Path,
        action="append",
        metavar="PATH",
        help="the rules to compare with: rule file or folder (repeatable)",
    )
    base.add_argument(
        "--base-ref",
        metavar="GIT_REF",
        help="compare with the rules at this git ref (same paths as -r), read with git; "
        "the work tree is not touched",
    )
    diff.add_argument("--format", choices=FORMATS, default="text", help="default: text")
    diff.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write the diff here (default: stdout)"
    )
    diff.set_defaults(handler=run_diff)


def run_diff(args: argparse.Namespace) -> int:
    from roleSync.cli.run_cmds import health_printer
    from roleSync.diff import diff_exit_code, to_json
    from roleSync.diff.markdown import render_markdown
    from roleSync.diff.text import render_text
    from roleSync.profile import load_profile
    from roleSync.report.progress import progress_for
    from roleSync.sync.diff_run import DiffRequest
    from roleSync.sync.state import write_atomically
    from roleSync.sync.work import diff_book

    profile = load_profile(args.connector)
    request = DiffRequest(
        profile,
        rule_paths(args),
        args.as_of or today(),
        base_rules=args.base_rules or (),
        base_ref=args.base_ref,
    )
    diff = diff_book(request, progress=progress_for(sys.stderr), on_health=health_printer(profile))
    if args.format == "json":
        text = to_json(diff)
    elif args.format == "markdown":
        text = render_markdown(diff)
    else:
        text = render_text(diff) + "\n"
    code = diff_exit_code(diff)
    if args.output is not None:
        write_atomically(args.output, text)
        print(f"diff written to {args.output} (exit {int(code)})", file=sys.stderr)
    elif args.format == "text":
        out(text.rstrip("\n"))
    else:
        out_document(text.rstrip("\n"))
    return int(code)
