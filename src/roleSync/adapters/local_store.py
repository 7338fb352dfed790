"""The SQLite file behind the local book: schema, opening, transactions, whole-book writes.

Kept apart from the adapter so that CSV import and the demo share one definition of
the file, and the adapter reads as the CRM-like behaviour it is.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roleSync.adapters.book_schema import (
    BOOK_INDEXES,
    BOOK_TABLES,
    INDEXES,
    OWNER_COLUMNS_ADDED,
    RELATED_INDEXES,
    RELATED_TABLES,
    RELATED_TABLES_SQL,
    SCHEMA,
    SCHEMA_VERSION,
    TABLES,
    TASK_COLUMNS_ADDED,
)
from roleSync.errors import StorageError
from roleSync.file_faults import DAMAGED, is_damaged, is_not_utf8, os_cause, sqlite_cause
from roleSync.model import Account, Contact, Deal, Owner, Task

if TYPE_CHECKING:
    from roleSync.adapters.mirror_rows import AccountRow

# Re-exported: the import benchmark, the census and tests take them from here.
__all__ = ["BOOK_INDEXES", "BOOK_TABLES", "RELATED_TABLES", "SCHEMA_VERSION"]

# Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT = 10.0


class BookError(StorageError):
    """The local book file is missing, unreadable, or not a book this version understands."""


# -- opening -----------------------------------------------------------------------


def open_book(path: Path, *, create: bool) -> sqlite3.Connection:
    """Open (and with `create`, create) the book at `path`, schema checked and ready.

    Without `create` the file must already be a book: an empty (zero-byte), damaged or
    schema-less file there is a BookError, never a new book made in its place, since
    that would silently drop everything the book held. With `create` (import's staging
    file, a new mirror, the demo writing its book afresh) a missing or empty file gets
    the schema.

    The connection is in autocommit mode: callers group statements with `transaction`
    or `snapshot`, so that every transaction boundary is explicit.
    """
    path = path.resolve()
    if not create:
        _check_existing(path)
    # mode=rw never creates the file, even if it vanished since the check above.
    uri = f"{path.as_uri()}?mode={'rwc' if create else 'rw'}"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None)
    except sqlite3.Error as exc:
        raise book_failure(path, "cannot open the book", exc) from None
    try:
        _ensure_schema(conn, path, create)
        # 256 MiB of page cache at most (the default is 2 MiB; pages are taken as
        # needed): a large run's batches dirty random pages of the accounts, deals and
        # tasks indexes, and a batch larger than the cache spills to the file before
        # its commit (issue 19). A damaged file may refuse even this: the first read
        # says so, naming the book.
        with suppress(sqlite3.Error):
            conn.execute("PRAGMA cache_size = -262144")
    except BaseException:
        conn.close()
        raise
    return conn


def _check_existing(path: Path) -> None:
    if not path.is_file():
        raise BookError(
            f"no local book at {path}; create one with `rolesync import` or `rolesync demo`"
        )
    try:
        empty = path.stat().st_size == 0
    except OSError as exc:
        raise BookError(f"cannot open the book {path}: {os_cause(exc)}") from None
    if empty:
        raise BookError(
            f"{path} is empty (0 bytes), not a roleSync book; restore it from a backup, or "
            "move it aside and import again"
        )


def book_failure(path: Path, doing: str, exc: BaseException) -> BookError:
    """One line naming the book (or mirror) at `path` and the real cause of `exc`."""
    if is_not_utf8(exc):
        return BookError(
            f"{path}: {doing}: it holds text that is not UTF-8 ({exc}): the file is "
            f"{DAMAGED} or was written by another program; restore it from a backup"
        )
    if not isinstance(exc, sqlite3.Error):
        return BookError(f"{path}: {doing}: {exc}")
    if is_damaged(exc):
        return BookError(
            f"{path} is not a roleSync book: the file is {DAMAGED} or not an SQLite "
            f"file ({exc}); restore it from a backup, or move it aside and import again"
        )
    return BookError(f"{path}: {doing}: {sqlite_cause(exc, path)}")


def _ensure_schema(conn: sqlite3.Connection, path: Path, create: bool) -> None:
    try:
        # Checked outside a write transaction first, so that opening an existing book
        # (every pull) neither waits for nor blocks another writer.
        if _checked_version(conn, path) == SCHEMA_VERSION:
            return
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables:
            raise BookError(f"{path} is an SQLite database but not a roleSync book")
        if not create:
            raise BookError(
                f"{path} is not a roleSync book (an SQLite file without tables); restore "
                "it from a backup, or move it aside and import again"
            )
        with transaction(conn):
            # Re-checked under the write lock: another process may have just created it.
            if _checked_version(conn, path) == SCHEMA_VERSION:
                return
            if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise BookError(f"{path} is an SQLite database but not a roleSync book")
            for statement in SCHEMA:
                conn.execute(statement)
            # PRAGMA takes no placeholders; the value is a constant of this module.
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        raise book_failure(path, "cannot open the book", exc) from None


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
    for statement in TABLES:
        conn.execute(statement)


def finish_schema(conn: sqlite3.Connection) -> None:
    """Index the tables `create_tables` made and mark the file as a book."""
    for statement in INDEXES:
        conn.execute(statement)
    # PRAGMA takes no placeholders; the value is a constant of this module.
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")


def tables_of(conn: sqlite3.Connection) -> frozenset[str]:
    """The tables the book open on `conn` has: a book written before contacts and tasks
    existed has neither."""
    rows = conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")
    return frozenset(str(name) for (name,) in rows)


def add_related_tables(conn: sqlite3.Connection) -> None:
    """Give a book written before contacts and tasks existed their tables and indexes,
    and a tasks table written before handoff tasks its `body` and `rolesync_key`
    columns, inside the caller's write transaction; a no-op on a book that has them.
    Nothing else of the book is touched: its owners, accounts and deals stay as they are."""
    for statement in RELATED_TABLES_SQL:
        # Constants of this module, made idempotent.
        conn.execute(statement.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS main.", 1))
    have = {str(row[1]) for row in conn.execute("PRAGMA main.table_info(tasks)")}
    for name, definition in TASK_COLUMNS_ADDED:
        if name not in have:
            # Constants of book_schema: ALTER TABLE takes no placeholders.
            conn.execute(f"ALTER TABLE main.tasks ADD COLUMN {name} {definition}")
    add_owner_columns(conn)
    for statement in RELATED_INDEXES:
        conn.execute(
            statement.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS main.", 1).replace(
                "CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX IF NOT EXISTS main.", 1
            )
        )


def add_owner_columns(conn: sqlite3.Connection) -> None:
    """Give an owners table written before extra owner fields its `fields` column,
    inside the caller's write transaction; a no-op on a book that has it."""
    have = owner_columns(conn)
    for name, definition in OWNER_COLUMNS_ADDED:
        if name not in have:
            # Constants of book_schema: ALTER TABLE takes no placeholders.
            conn.execute(f"ALTER TABLE main.owners ADD COLUMN {name} {definition}")


def owner_columns(conn: sqlite3.Connection) -> frozenset[str]:
    """The columns of the book's owners table (an old book's has no `fields`)."""
    return frozenset(str(row[1]) for row in conn.execute("PRAGMA main.table_info(owners)"))


def has_task_keys(conn: sqlite3.Connection) -> bool:
    """Whether the book's tasks table can hold handoff tasks (has `rolesync_key`); False
    for a book without a tasks table or with one written before handoff tasks."""
    return any(row[1] == "rolesync_key" for row in conn.execute("PRAGMA main.table_info(tasks)"))


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction: BEGIN IMMEDIATE takes the write lock up front, so the reads
    that decide what to write see what will be overwritten; any exception rolls back."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        # After BUSY_TIMEOUT seconds of another process holding the write lock.
        path = _file_of(conn)
        raise book_failure(path, "cannot write", exc) from None
    try:
        yield conn
    except BaseException:
        # SQLite may already have rolled back on its own (disk full, I/O error); a
        # failing rollback must not hide the error that caused it.
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction, so that several SELECTs see one consistent book."""
    conn.execute("BEGIN")
    try:
        yield conn
    except BaseException:
        # Ending the read must not hide why it failed (a damaged page fails both).
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    if conn.in_transaction:
        conn.execute("COMMIT")


def _file_of(conn: sqlite3.Connection) -> Path:
    """The file of the connection's main database, for messages."""
    with suppress(sqlite3.Error):
        for _, name, file in conn.execute("PRAGMA database_list"):
            if name == "main" and file:
                return Path(file)
    return Path("the local book")


# -- value encoding ---------------------------------------------------------------


def encode_json(value: Any) -> str:
    # allow_nan=False: NaN is not JSON, and a NaN metric is a bug to surface, not store.
    return json.dumps(value, allow_nan=False, sort_keys=True, ensure_ascii=False)


def encode_datetime(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


# The accounts table's columns, in account_values' order: "INSERT [OR REPLACE] INTO " + it.
ACCOUNTS_INTO = (
    "accounts (id, name, owner_id, lifecycle, segment, region, tier, locked, fields, "
    "created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def account_values(
    a: Account | AccountRow, created: str | None, updated: str | None
) -> tuple[str, str, str | None, str, str, str, str, int, str, str | None, str | None]:
    """An accounts row for ACCOUNTS_INTO: a book's Account (written whole by write_book)
    or a pull's AccountRow (written into the mirror), with its times already encoded."""
    return (
        a.id,
        a.name,
        a.owner_id,
        a.lifecycle,
        a.segment,
        a.region,
        a.tier,
        int(a.locked),
        encode_json(dict(a.fields)),
        created,
        updated,
    )


# -- writing a whole book ---------------------------------------------------------


def write_book(
    path: Path,
    owners: Iterable[Owner],
    accounts: Iterable[Account],
    deals: Iterable[Deal],
    *,
    contacts: Iterable[Contact] = (),
    tasks: Iterable[Task] = (),
) -> None:
    """Create the book at `path`, or replace the contents of the book there, atomically.

    Deal kinds are stored as their canonical value (NULL when None), which every
    profile maps back to itself; `Owner.recorded` goes to owner_fields (and
    `Owner.fields` to the owners' `fields` column). Accounts and
    deals are written as they are iterated, so a generator of millions costs no memory.
    """
    owners = list(owners)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = open_book(path, create=True)
    try:
        with transaction(conn):
            add_related_tables(conn)
            conn.execute("DELETE FROM tasks")
            conn.execute("DELETE FROM contacts")
            conn.execute("DELETE FROM owner_fields")
            conn.execute("DELETE FROM deals")
            conn.execute("DELETE FROM accounts")
            conn.execute("DELETE FROM owners")
            conn.executemany(
                "INSERT INTO owners (id, name, email, title, active, fields) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (o.id, o.name, o.email, o.title, int(o.active), encode_json(dict(o.fields)))
                    for o in owners
                ],
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
                "INSERT INTO " + ACCOUNTS_INTO,
                (
                    account_values(a, encode_datetime(a.created), encode_datetime(a.updated))
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
            conn.executemany(
                "INSERT INTO contacts (id, account_id, owner_id, name, email) "
                "VALUES (?, ?, ?, ?, ?)",
                contacts,  # a Contact is a tuple in the table's column order
            )
            conn.executemany(
                "INSERT INTO tasks (id, account_id, owner_id, subject, closed, due) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (t.id, t.account_id, t.owner_id, t.subject, int(t.closed), _iso(t.due))
                    for t in tasks
                ),
            )
    except sqlite3.IntegrityError as exc:
        raise BookError(f"{path}: cannot write book: {exc}") from None
    finally:
        conn.close()
