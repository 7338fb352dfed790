"""`rolesync state migrate|copy`: create or upgrade a profile's state store, and move
an existing SQLite history into PostgreSQL (docs/state.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from roleSync.cli.common import Subparsers, add_profile_option, out
from roleSync.errors import ExitCode


def register(sub: Subparsers) -> None:
    state = sub.add_parser(
        "state", help="the state store: create or upgrade it, copy SQLite history into PostgreSQL"
    )
    commands = state.add_subparsers(dest="state_command", required=True, metavar="COMMAND")
    migrate = commands.add_parser(
        "migrate", help="create the profile's state store, or upgrade its schema"
    )
    add_profile_option(migrate)
    migrate.set_defaults(handler=run_migrate)
    copy = commands.add_parser(
        "copy",
        help="copy a SQLite state store (runs, journal, audit, rotation, archived rules) "
        "into the profile's empty PostgreSQL store, checked by row counts and SHA-256",
    )
    add_profile_option(copy)
    copy.add_argument(
        "--from",
        dest="source",
        type=Path,
        required=True,
        metavar="SQLITE_STATE",
        help="the SQLite state file (e.g. .rolesync/state.db)",
    )
    copy.set_defaults(handler=run_copy)


def run_migrate(args: argparse.Namespace) -> ExitCode:
    from roleSync.profile import load_profile
    from roleSync.sync.state_copy import migrate_state

    done = migrate_state(load_profile(args.connector))
    if done.before == done.after:
        out(f"{done.label}: schema version {done.after}, up to date")
    elif done.before == 0:
        out(f"{done.label}: created, schema version {done.after}")
    else:
        out(f"{done.label}: upgraded from schema version {done.before} to {done.after}")
    return ExitCode.OK


def run_copy(args: argparse.Namespace) -> ExitCode:
    from roleSync.profile import load_profile
    from roleSync.sync.runner import utc_now
    from roleSync.sync.state_copy import copy_state, require_postgres
    from roleSync.sync.state_open import locked_state

    profile = load_profile(args.connector)
    require_postgres(profile, "copy")
    # Under the profile's run lock: no sync writes into the store while it fills.
    with locked_state(profile, utc_now) as store:
        checks = copy_state(args.source, store, profile.name, postgres=True)
        label = store.label
    width = max(len(c.table) for c in checks)
    lines = [f"copied {args.source} into {label}; rows and SHA-256 equal on both sides:"]
    lines += [f"  {c.table:<{width}}  {c.rows:>8}  sha256 {c.digest}" for c in checks]
    out("\n".join(lines))
    return ExitCode.OK
