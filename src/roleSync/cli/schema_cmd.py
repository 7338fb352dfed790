"""`rolesync schema`: the JSON Schema of rule files, or their Markdown reference."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from roleSync.cli.common import Subparsers
from roleSync.errors import ExitCode


def register(sub: Subparsers) -> None:
    schema = sub.add_parser(
        "schema", help="write the JSON Schema of rule files (or, --markdown, their reference)"
    )
    schema.add_argument("--markdown", action="store_true", help="the Markdown reference instead")
    schema.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write here (default: stdout)"
    )
    schema.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if --output differs from what would be written",
    )
    schema.set_defaults(handler=run_schema)


def run_schema(args: argparse.Namespace) -> ExitCode:
    from roleSync.rules.reference import json_schema_text, markdown_reference
    from roleSync.sync.state import write_atomically

    text = markdown_reference() if args.markdown else json_schema_text()
    if args.check:
        if args.output is None:
            print("rolesync: error: --check needs --output FILE", file=sys.stderr)
            return ExitCode.USAGE
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(
                f"{args.output} is stale: run `rolesync schema"
                f"{' --markdown' if args.markdown else ''} -o {args.output}`",
                file=sys.stderr,
            )
            return ExitCode.INVALID
        return ExitCode.OK
    if args.output is None:
        sys.stdout.write(text)
    else:
        write_atomically(args.output, text)
    return ExitCode.OK
