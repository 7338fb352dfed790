"""The SQLite file behind the local book: schema, opening, transactions, whole-book writes.

Kept apart from the adapter so that CSV import and the demo share one definition of
the file, and the adapter reads as the CRM-like behaviour it is.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from roleSync.errors import RoleSyncError
from roleSync.model import Account, Deal, Owner

SCHEMA_VERSION = 1
# Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT = 10.0

_TABLES = (
    """CREATE TABLE owners (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        email TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL DEFAULT '',
        active INTEGER NOT NULL DEFAULT 1
    )""",
    """CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        owner_id TEXT,
        lifecycle TEXT NOT NULL DEFAULT '',   -- raw CRM value; the profile maps it
        segment TEXT NOT NULL DEFAULT '',
        region TEXT NOT NULL DEFAULT '',
        tier TEXT NOT NULL DEFAULT '',
        locked INTEGER NOT NULL DEFAULT 0,
        fields TEXT NOT NULL DEFAULT '{}',    -- JSON object of extra fields
        created TEXT,                         -- ISO datetime
        updated TEXT                          -- ISO datetime
    )""",
    """CREATE TABLE deals (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        owner_id TEXT,
        kind TEXT,                            -- raw CRM value or NULL; the profile maps it
        stage TEXT NOT NULL DEFAULT '',
        closed INTEGER NOT NULL DEFAULT 0,
        won INTEGER NOT NULL DEFAULT 0,
        amount REAL,
        created TEXT NOT NULL,                -- ISO date
        close_date TEXT                       -- ISO date
    )""",
    """CREATE TABLE owner_fields (
        owner_id TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,                  -- JSON scalar
        PRIMARY KEY (owner_id, name)
    ) WITHOUT ROWID""",
)
_INDEXES = (
    # Pull reads whole tables (no index helps a full scan); these serve the lookups
    # by owner and by account that rollback, explain and apply's diagnosis make.
    "CREATE INDEX accounts_by_owner ON accounts (owner_id)",
    "CREATE INDEX deals_by_account ON deals (account_id)",
    "CREATE INDEX deals_by_owner ON deals (owner_id)",
)
_SCHEMA = _TABLES + _INDEXES
# The same statements, for benchmarks/import_scale.py's like-for-like sqlite3 reference.
BOOK_TABLES, BOOK_INDEXES = _TABLES, _INDEXES


class BookError(RoleSyncError):
    """The local book file is missing, unreadable, or not a book this version understands."""


# -- opening -----------------------------------------------------------------------


def open_book(path: Path, *, create: bool) -> sqlite3.Connection:
    """Open (and with `create`, create) the book at `path`, schema checked and ready.

    The connection is in autocommit mode: callers group statements with `transaction`
    or `snapshot`, so that every transaction boundary is explicit.
    """
    path = path.resolve()
    if not create and not path.is_file():
        raise BookError(
            f"no local book at {path}; create one with `rolesync import` or `rolesync demo`"
        )
    # mode=rw never creates the file, even if it vanished since the check above.
    uri = f"{path.as_uri()}?mode={'rwc' if create else 'rw'}"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None)
    except sqlite3.Error as exc:
        raise BookError(f"cannot open local book {path}: {exc}") from None
    try:
        _ensure_schema(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def _ensure_schema(conn: sqlite3.Connection, path: Path) -> None:
    try:
        # Checked outside a write transaction first, so that opening an existing book
        # (every pull) neither waits for nor blocks another writer.
        if _checked_version(conn, path) == SCHEMA_VERSION:
            return
        with transaction(conn):
            # Re-checked under the write lock: another process may have just created it.
            if _checked_version(conn, path) == SCHEMA_VERSION:
                return
            if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise BookError(f"{path} is an SQLite database but not a roleSync book")
            for statement in _SCHEMA:
                conn.execute(statement)
            # PRAGMA takes no placeholders; the value is a constant of this module.
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
    except sqlite3.DatabaseError as exc:
        raise BookError(f"{path} is not a roleSync book: {exc}") from None


def _checked_version(conn: sqlite3.Connection, path: Path) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise BookError(
            f"{path}: book schema version {version} is newer than this "
            f"roleSync understands ({SCHEMA_VERSION}); upgrade roleSync"
        )
    return version


def create_tables(conn: sqlite3.Connection) -> None:
    """The book's tables without their indexes, in a new file that is not yet a book
    (user_version 0): a bulk load fills them, then `finish_schema` indexes them, which
    is several times faster than keeping indexes up to date row by row."""
    for statement in _TABLES:
        conn.execute(statement)


def finish_schema(conn: sqlite3.Connection) -> None:
    """Index the tables `create_tables` made and mark the file as a book."""
    for statement in _INDEXES:
        conn.execute(statement)
    # PRAGMA takes no placeholders; the value is a constant of this module.
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction: BEGIN IMMEDIATE takes the write lock up front, so the reads
    that decide what to write see what will be overwritten; any exception rolls back."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        # After BUSY_TIMEOUT seconds of another process holding the write lock.
        raise BookError(
            f"the local book is busy ({exc}); try again when the other writer is done"
        ) from None
    try:
        yield conn
    except BaseException:
        # SQLite may already have rolled back on its own (disk full, I/O error).
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction, so that several SELECTs see one consistent book."""
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


# -- value encoding ---------------------------------------------------------------


def encode_json(value: Any) -> str:
    # allow_nan=False: NaN is not JSON, and a NaN metric is a bug to surface, not store.
    return json.dumps(value, allow_nan=False, sort_keys=True, ensure_ascii=False)


def encode_datetime(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# -- writing a whole book ---------------------------------------------------------


def write_book(
    path: Path, owners: Iterable[Owner], accounts: Iterable[Account], deals: Iterable[Deal]
) -> None:
    """Create the book at `path`, or replace the contents of the book there, atomically.

    Deal kinds are stored as their canonical value (NULL when None), which every
    profile maps back to itself; `Owner.recorded` goes to owner_fields. Accounts and
    deals are written as they are iterated, so a generator of millions costs no memory.
    """
    owners = list(owners)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = open_book(path, create=True)
    try:
        with transaction(conn):
            conn.execute("DELETE FROM owner_fields")
            conn.execute("DELETE FROM deals")
            conn.execute("DELETE FROM accounts")
            conn.execute("DELETE FROM owners")
            conn.executemany(
                "INSERT INTO owners (id, name, email, title, active) VALUES (?, ?, ?, ?, ?)",
                [(o.id, o.name, o.email, o.title, int(o.active)) for o in owners],
            )
            conn.executemany(
                "INSERT INTO owner_fields (owner_id, name, value) VALUES (?, ?, ?)",
                [
                    (o.id, name, encode_json(value))
                    for o in owners
                    for name, value in o.recorded.items()
                ],
            )
            conn.executemany(
                "INSERT INTO accounts (id, name, owner_id, lifecycle, segment, region, tier, "
                "locked, fields, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        a.id,
                        a.name,
                        a.owner_id,
                        a.lifecycle,
                        a.segment,
                        a.region,
                        a.tier,
                        int(a.locked),
                        encode_json(dict(a.fields)),
                        encode_datetime(a.created),
                        encode_datetime(a.updated),
                    )
                    for a in accounts
                ),
            )
            conn.executemany(
                "INSERT INTO deals (id, account_id, owner_id, kind, stage, closed, won, amount, "
                "created, close_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        d.id,
                        d.account_id,
                        d.owner_id,
                        d.kind.value if d.kind else None,
                        d.stage,
                        int(d.closed),
                        int(d.won),
                        d.amount,
                        d.created.isoformat(),
                        d.close_date.isoformat() if d.close_date else None,
                    )
                    for d in deals
                ),
            )
    except sqlite3.IntegrityError as exc:
        raise BookError(f"{path}: cannot write book: {exc}") from None
    finally:
        conn.close()
