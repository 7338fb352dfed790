"""The `rolesync` command: parse arguments, call the library, map errors to exit codes.

Each command lives in its own module with a `register(subparsers)` function that adds
its parser and sets `handler`; this module only assembles them and maps errors.

Start-up: the command modules are imported only when needed. A run names its command
first (`rolesync check rules/`), so only the module registering that command is
imported; `--help`, a mistyped command and `completion` import them all, and
`rolesync --version` none. A command module keeps its library imports (pydantic
models, rules, sync, adapters) inside its handlers, as check_cmd does, so that a
command pays only for what it uses.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from roleSync import __version__

if TYPE_CHECKING:
    import argparse
    from types import ModuleType

# (module in roleSync.cli, the commands its `register` adds). Order here is the order
# `rolesync --help` lists the commands in; a new command is one line here.
COMMAND_MODULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("run_cmds", ("demo", "import", "plan", "apply", "sync")),
    ("diff_cmd", ("diff",)),
    ("history_cmds", ("runs",)),
    ("rollback_cmd", ("rollback",)),
    ("audit_cmd", ("audit",)),
    ("state_cmd", ("state",)),
    ("report_cmd", ("report",)),
    ("explain_cmd", ("explain",)),
    ("check_cmd", ("check",)),
    ("test_cmd", ("test",)),
    ("schema_cmd", ("schema",)),
    ("fmt_cmd", ("fmt",)),
    ("setup_cmd", ("setup",)),
    ("emulate_cmd", ("emulate",)),
    ("pr_comment_cmd", ("pr-comment",)),
    ("completion_cmd", ("completion",)),
)


def command_module(name: str) -> ModuleType:
    import importlib

    return importlib.import_module(f"roleSync.cli.{name}")


def _modules_for(command: str | None) -> list[str]:
    """The modules to register for a run whose first word is `command` (None: no word)."""
    for module, commands in COMMAND_MODULES:
        if command in commands:
            return [module]
    # --help, no command or a mistyped one: argparse lists (or suggests from) them all.
    return [module for module, _ in COMMAND_MODULES]


def command_word(argv: Sequence[str]) -> str | None:
    """The command a run names: its first word that is not an option (the top-level
    parser's options, -h and --version, take no value). None after `-h` (`rolesync -h
    check` shows the top-level help, which lists every command)."""
    for arg in argv:
        if arg in ("--", "-h", "--help"):
            return None
        if not arg.startswith("-"):
            return arg
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with the command modules `command` needs (every command by default)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="rolesync",
        description="Keep CRM account ownership in step with how your sellers actually sell.",
    )
    parser.add_argument("--version", action="version", version=f"rolesync {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _modules_for(command):
        command_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words == ["--version"]:
        # Answered before any command module is imported: scripts and hooks ask often.
        print(f"rolesync {__version__}")
        return 0
    # Imported here, not at the top, so that the answer above costs no more than Python.
    import os
    import signal

    from roleSync.errors import ExitCode, InputError, RoleSyncError, Severity
    from roleSync.file_faults import os_cause
    from roleSync.terminal_text import printable

    args = build_parser(command_word(words)).parse_args(words)
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
    except Exception as exc:
        # sqlite3 is imported by the commands that keep state, not here (start-up): an
        # SQLite error can only come from a run that imported it.
        # Likewise psycopg (the PostgreSQL state store), whose own failures the store
        # reports naming the database; one that escapes is still one line.
        postgres = sys.modules.get("psycopg")
        if postgres is not None and isinstance(exc, postgres.Error):
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            print(f"rolesync: error: PostgreSQL: {printable(first)}", file=sys.stderr)
            return int(ExitCode.INVALID)
        loaded = sys.modules.get("sqlite3")
        if loaded is None or not isinstance(exc, loaded.Error):
            raise
        print(f"rolesync: error: SQLite: {printable(str(exc))}", file=sys.stderr)
        return int(ExitCode.INVALID)
