"""The `rolesync` command: parse arguments, call the library, map errors to exit codes.

Each command lives in its own module with a `register(subparsers)` function that adds
its parser and sets `handler`; this module only assembles them and maps errors.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
from collections.abc import Sequence

from roleSync import __version__
from roleSync.cli import (
    audit_cmd,
    check_cmd,
    diff_cmd,
    emulate_cmd,
    explain_cmd,
    fmt_cmd,
    history_cmds,
    pr_comment_cmd,
    report_cmd,
    rollback_cmd,
    run_cmds,
    schema_cmd,
    setup_cmd,
    test_cmd,
)
from roleSync.errors import ExitCode, InputError, RoleSyncError, Severity
from roleSync.file_faults import os_cause
from roleSync.terminal_text import printable

# Order here is the order `rolesync --help` lists the commands in.
COMMAND_MODULES = (
    run_cmds,
    diff_cmd,
    history_cmds,
    rollback_cmd,
    audit_cmd,
    report_cmd,
    explain_cmd,
    check_cmd,
    test_cmd,
    schema_cmd,
    fmt_cmd,
    setup_cmd,
    emulate_cmd,
    pr_comment_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rolesync",
        description="Keep CRM account ownership in step with how your sellers actually sell.",
    )
    parser.add_argument("--version", action="version", version=f"rolesync {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = int(args.handler(args))
        sys.stdout.flush()  # here, so that a reader gone away is seen below, not at exit
        return code
    except BrokenPipeError:
        # `rolesync runs | head`: the reader stopped reading. Stop quietly, as a tool
        # killed by SIGPIPE does; point stdout at /dev/null so the flush at exit is quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + int(signal.SIGPIPE)
    except InputError as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic, file=sys.stderr)
        errors = any(d.severity is Severity.ERROR for d in exc.diagnostics)
        return int(ExitCode.INVALID if errors else ExitCode.GUARDRAIL)
    except RoleSyncError as exc:
        # Some errors quote data (a name, a CRM's answer); a few span lines on purpose.
        print(f"rolesync: error: {printable(str(exc), keep=chr(10))}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("rolesync: interrupted", file=sys.stderr)
        return 130
    # Last line of defence: the disk and SQLite files are expected to fail (full,
    # read-only, locked, damaged). Their causes are reported where they happen, naming
    # the right file; one that escapes still gets one line, not a traceback.
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename is not None else ""
        print(f"rolesync: error: {printable(where + os_cause(exc))}", file=sys.stderr)
        return int(ExitCode.INVALID)
    except sqlite3.Error as exc:
        print(f"rolesync: error: SQLite: {printable(str(exc))}", file=sys.stderr)
        return int(ExitCode.INVALID)
