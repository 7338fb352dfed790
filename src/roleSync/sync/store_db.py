"""The state store's connection, one small abstraction over its two backends.

StateStore (sync/store.py) speaks SQL in SQLite's dialect through a `StoreDb`: `write()`
gives one transaction, `read()` every row of one query. The SQLite backend is here;
PostgreSQL's (sync/pg_store.py) translates each statement (sync/sql.py) and maps the
server's errors to the same StateError, naming the database instead of a file.

A constraint violation stays an `IntegrityError` of the backend (their cause is the
data, and callers report it); `is_integrity_error` tells both apart from the rest.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol

from roleSync.sync.store_file import store_failure


class Rows(Protocol):
    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Tx(Protocol):
    """One transaction of the store: statements in SQLite's dialect."""

    def execute(self, sql: str, params: Sequence[object] = ()) -> Rows: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...


class StoreDb(Protocol):
    # What messages name: the file, or the database and schema (never a password).
    label: str

    def write(self) -> AbstractContextManager[Tx]: ...

    def read(self, sql: str, params: Sequence[object] = ()) -> list[Any]: ...

    def close(self) -> None: ...


def is_integrity_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return True
    import sys

    # psycopg is imported only with the PostgreSQL backend (start-up, optional extra).
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.IntegrityError)


class SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[object] = ()) -> Rows:
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        self._conn.executemany(sql, rows)


class SqliteDb:
    """The SQLite file: WAL, synchronous=FULL, autocommit with explicit transactions
    (see store_file.open_store_file)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self.label = str(path)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """One transaction. A failure of the store itself (disk full, read-only, locked,
        damaged) is a StateError naming this file, so that it is never reported as a
        fault of the book or the CRM written at the same time."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise store_failure(self.path, "cannot write the state store", exc) from None
        try:
            yield SqliteTx(conn)
            conn.execute("COMMIT")
        except BaseException as exc:
            # SQLite may already have rolled back on its own (disk full, I/O error).
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.IntegrityError):
                raise
            if isinstance(exc, (sqlite3.Error, UnicodeDecodeError)):
                raise store_failure(self.path, "cannot write the state store", exc) from None
            raise

    def read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        """Every row of a query; a damaged store (a bad page, text that is not UTF-8)
        is a StateError naming this file, like a failed write."""
        try:
            return self._conn.execute(sql, params).fetchall()
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            raise store_failure(self.path, "cannot read the state store", exc) from None

    def close(self) -> None:
        self._conn.close()
