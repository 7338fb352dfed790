"""`rolesync state copy --from SQLITE_STATE`: move a profile's history into PostgreSQL,
and `rolesync state migrate`: create or upgrade a profile's store.

The copy is one transaction on the target, checked before it commits: every table's
row count and SHA-256 digest (of its rows in key order, as JSON lines) must be the same
on both sides, or nothing is kept. It refuses a target that holds any row already:
merging two histories could give an account two audit trails that disagree.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from roleSync.errors import UsageError
from roleSync.profile import Profile
from roleSync.sync.migrations import SCHEMA_VERSION, NewerSchemaError, schema_version
from roleSync.sync.store import StateError, StateStore
from roleSync.sync.store_db import StoreDb, Tx

# Every table of the store, parents first, each with the key its digest is ordered by
# (its primary key: the same order on both stores, whose text compares by bytes).
TABLES: tuple[tuple[str, str], ...] = (
    ("meta", "key"),
    ("runs", "id"),
    ("journal", "run_id, batch_no, account_id"),
    ("audit", "seq"),
    ("rotation", "profile, route_id"),
    ("related_journal", "run_id, batch_no, entry"),
    ("related_audit", "seq"),
    ("rules_archive", "digest"),
    ("run_plans", "run_id"),
)
# Identity columns whose next value must follow the copied rows.
IDENTITIES = (("audit", "seq"), ("related_audit", "seq"))
# Copied in the order the rows were written (rowid), so that runs of the same second
# keep their order (`rolesync runs` sorts by start, then by the order they began in).
COPY_ORDER = {"runs": "rowid"}
CHUNK = 2000


@dataclass(frozen=True, slots=True)
class TableCheck:
    table: str
    rows: int
    digest: str


@dataclass(frozen=True, slots=True)
class Migrated:
    label: str
    before: int
    after: int


def _digest(rows: Sequence[Sequence[object]]) -> str:
    sha = hashlib.sha256()
    for row in rows:
        sha.update(json.dumps(list(row), ensure_ascii=False).encode() + b"\n")
    return sha.hexdigest()


def open_source(path: Path) -> sqlite3.Connection:
    """The SQLite store at `path`, read-only (the copy never changes its source)."""
    if not path.is_file():
        raise StateError(f"{path}: no SQLite state store there to copy from")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        version = schema_version(conn)
    except sqlite3.Error as exc:
        raise StateError(f"{path}: cannot read the SQLite state store: {exc}") from None
    if version == 0:
        conn.close()
        raise StateError(f"{path} is not a roleSync state store (no schema version)")
    if version > SCHEMA_VERSION:
        conn.close()
        raise StateError(
            f"{path}: state schema version {version} is newer than this roleSync "
            f"understands ({SCHEMA_VERSION}); upgrade roleSync"
        )
    return conn


def _columns(source: sqlite3.Connection, table: str) -> list[str]:
    return [str(r[1]) for r in source.execute(f"PRAGMA table_info({table})").fetchall()]


def _has_table(source: sqlite3.Connection, table: str) -> bool:
    found = source.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return found is not None


def _check(rows_of: list[Sequence[object]], table: str) -> TableCheck:
    return TableCheck(table, len(rows_of), _digest(rows_of))


def _refuse_non_empty(tx: Tx, label: str) -> None:
    for table, _ in TABLES:
        ((count,),) = tx.execute(f"SELECT count(*) FROM {table}").fetchall()
        if count:
            raise StateError(
                f"{label}: not empty (table {table} holds {count} rows); state copy only "
                "fills an empty store (copying into one with history would mix two histories)"
            )


def _refuse_other_profiles(source: sqlite3.Connection, path: Path, profile: str) -> None:
    """One schema holds one profile: a SQLite file shared by several profiles (one
    state_dir) cannot be copied whole into one of them."""
    others = [
        str(r[0])
        for r in source.execute(
            "SELECT DISTINCT profile FROM runs WHERE profile != ? ORDER BY 1", (profile,)
        ).fetchall()
    ]
    if others:
        raise StateError(
            f"{path}: holds runs of profile {', '.join(others)}, not only of {profile}: state "
            "copy moves one profile's store (copy it with a postgresql profile of that name)"
        )


def copy_state(
    source_path: Path, target: StateStore, profile: str, *, postgres: bool
) -> list[TableCheck]:
    """Copy every table of the SQLite store at `source_path` into `target`, all or
    nothing; the per-table checks, equal on both sides (else StateError, nothing kept)."""
    source = open_source(source_path)
    db: StoreDb = target.db
    try:
        _refuse_other_profiles(source, source_path, profile)
        with db.write() as tx:
            _refuse_non_empty(tx, db.label)
            checks = []
            for table, key in TABLES:
                if not _has_table(source, table):
                    checks.append(TableCheck(table, 0, _digest([])))
                    continue
                checks.append(_copy_table(source, tx, table, key))
            if postgres:
                for table, column in IDENTITIES:
                    tx.execute(
                        f"SELECT setval(pg_get_serial_sequence(?, ?), "
                        f"coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)",
                        (table, column),
                    )
            for check in checks:
                _verify(tx, source, check, db.label)
    finally:
        source.close()
    return checks


def _copy_table(source: sqlite3.Connection, tx: Tx, table: str, key: str) -> TableCheck:
    columns = _columns(source, table)
    names = ", ".join(columns)
    marks = ", ".join("?" * len(columns))
    order = COPY_ORDER.get(table, key)
    cursor = source.execute(f"SELECT {names} FROM {table} ORDER BY {order}")
    while chunk := cursor.fetchmany(CHUNK):
        tx.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", chunk)
    rows = source.execute(f"SELECT {names} FROM {table} ORDER BY {key}").fetchall()
    return _check(rows, table)


def _verify(tx: Tx, source: sqlite3.Connection, check: TableCheck, label: str) -> None:
    """The copied table, read back inside the copy's transaction, against its source.
    A table an older source does not have must be empty in the target too."""
    known = _has_table(source, check.table)
    columns = ", ".join(_columns(source, check.table)) if known else "*"
    key = dict(TABLES)[check.table]
    rows = tx.execute(f"SELECT {columns} FROM {check.table} ORDER BY {key}").fetchall()
    copied = _check([tuple(r) for r in rows], check.table)
    if copied != check:
        raise StateError(
            f"{label}: the copy of table {check.table} does not match its source "
            f"({copied.rows} rows, sha256 {copied.digest[:16]}... against {check.rows} rows, "
            f"sha256 {check.digest[:16]}...); nothing was kept"
        )


def require_postgres(profile: Profile, command: str) -> None:
    if profile.state.backend != "postgresql":
        raise UsageError(
            f"rolesync state {command} moves history into PostgreSQL: profile "
            f"{profile.name} keeps its state in SQLite (set state.backend: postgresql)"
        )


def migrate_state(profile: Profile) -> Migrated:
    """Create or upgrade the profile's store; its schema version before and after."""
    if profile.state.backend == "postgresql":
        return _migrate_pg(profile)
    from roleSync.sync.state_open import state_file

    path = state_file(profile)
    before = 0
    if path.is_file():
        conn = open_source(path)
        before = schema_version(conn)
        conn.close()
    StateStore.open(path).close()
    return Migrated(str(path), before, SCHEMA_VERSION)


def _migrate_pg(profile: Profile) -> Migrated:
    from roleSync.sync.pg_store import connect, failure, migrate_pg
    from roleSync.sync.state_open import pg_target

    target = pg_target(profile)
    conn = connect(target)  # a clear line if psycopg is not installed
    import psycopg

    try:
        before = migrate_pg(conn, target)
    except NewerSchemaError as exc:
        raise StateError(f"{target.label}: {exc}") from None
    except psycopg.Error as exc:
        raise failure(target, "cannot create or upgrade the state store", exc) from None
    finally:
        conn.close()
    return Migrated(target.label, before, SCHEMA_VERSION)
