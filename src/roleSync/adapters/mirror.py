"""A remote CRM's local mirror: the local-book SQLite format plus pull cursors.

Remote adapters pull into the mirror and read their Book out of it with the local
book's own reading code, so a profile's value mappings (deal kinds, lifecycle) apply
exactly as they do to a local book, and an incremental pull only has to fetch what
changed. The mirror stores raw CRM values, like the local book.

Two tables of its own beside the book's:
- `cursors`: per CRM object, the last modification stamp pulled and the ids seen at
  exactly that stamp (the next pull asks for `>=` the stamp: ties on the timestamp are
  real, and those ids are the ones already seen);
- `mirror_meta`: what the mirror was pulled from (instance, selected fields): when that
  changes, the cursors are dropped so the next pull is a full one.

Every write is one transaction: a pull interrupted half way keeps the objects it
finished, with their cursors, and nothing of the one it was on. `together()` makes
several stores one transaction (an export pull replaces companies and deals together,
or neither). The rows and their INSERTs are in mirror_rows.py; links staged in SQL
(deal to company, resolved inside the deals' transaction) in mirror_links.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from roleSync.adapters.book_reader import read_book
from roleSync.adapters.local_store import (
    BookError,
    add_related_tables,
    book_failure,
    encode_json,
    open_book,
    transaction,
)
from roleSync.adapters.mirror_links import LinkStage
from roleSync.adapters.mirror_rows import (
    NO_ACCOUNT_PREFIX,
    AccountRow,
    ContactRow,
    DealRow,
    OwnerRow,
    Row,
    Table,
    TaskRow,
    delete_rows,
    entry_amount,
    insert_rows,
)
from roleSync.file_faults import os_cause
from roleSync.model import Book, DealWindow, FieldValue
from roleSync.profile import Profile

__all__ = [
    "NO_ACCOUNT_PREFIX",
    "AccountRow",
    "ContactRow",
    "Cursor",
    "DealRow",
    "LinkStage",
    "Mirror",
    "OwnerRow",
    "Row",
    "Table",
    "TaskRow",
    "entry_amount",
]
# Ids read back out of a table this many at a time (keyset pages: no cursor is left
# open across the writes made between two pages).
ID_PAGE = 1000

_MIRROR_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS cursors (
        object TEXT PRIMARY KEY,
        stamp TEXT NOT NULL,                  -- the CRM's modification stamp, as sent
        ids TEXT NOT NULL DEFAULT '[]'        -- JSON array: ids seen at exactly `stamp`
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS mirror_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID""",
)


@dataclass(frozen=True, slots=True)
class Cursor:
    stamp: str
    ids: frozenset[str] = frozenset()


class Mirror:
    """The mirror file of one profile. `source` describes what it is pulled from; a
    different source than last time drops the cursors (next pull is full)."""

    def __init__(self, path: Path, profile: Profile, source: str) -> None:
        self.path = path
        self.profile = profile
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BookError(f"cannot create the mirror {path}: {os_cause(exc)}") from None
        # A mirror that is there is opened as a book, never re-created (an empty or
        # damaged one is an error naming it); only a missing one is made afresh.
        self._conn = open_book(path, create=not path.exists())
        self._shared = False  # inside together(): stores join its transaction
        try:
            with transaction(self._conn) as conn:
                for statement in _MIRROR_SCHEMA:
                    conn.execute(statement)
                # A mirror made before contacts and tasks were pulled gets their tables.
                add_related_tables(conn)
                row = conn.execute("SELECT value FROM mirror_meta WHERE key = 'source'").fetchone()
                if row is None or row[0] != source:
                    conn.execute("DELETE FROM cursors")
                    conn.execute(
                        "INSERT OR REPLACE INTO mirror_meta (key, value) VALUES ('source', ?)",
                        (source,),
                    )
        except sqlite3.Error as exc:
            self._conn.close()
            raise book_failure(path, "cannot prepare the mirror", exc) from None

    # -- cursors ---------------------------------------------------------------

    def cursor(self, name: str) -> Cursor | None:
        row = self._conn.execute(
            "SELECT stamp, ids FROM cursors WHERE object = ?", (name,)
        ).fetchone()
        return Cursor(row[0], frozenset(json.loads(row[1]))) if row else None

    def meta(self, key: str) -> str | None:
        """A value remembered with the mirror (e.g. when the last full pull was)."""
        row = self._conn.execute("SELECT value FROM mirror_meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with transaction(self._conn) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO mirror_meta (key, value) VALUES (?, ?)", (key, value)
            )

    def forget_cursors(self) -> None:
        """The next pull of every object is a full one."""
        with transaction(self._conn) as conn:
            conn.execute("DELETE FROM cursors")

    # -- pulls -----------------------------------------------------------------

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        """A transaction of its own, or the one together() holds open."""
        return nullcontext(self._conn) if self._shared else transaction(self._conn)

    @contextmanager
    def together(self) -> Iterator[None]:
        """The stores (and drops) inside are one transaction: all of them, or none
        when anything raises (the mirror stays as the previous run left it)."""
        if self._shared:
            yield
            return
        try:
            with transaction(self._conn):
                self._shared = True
                try:
                    yield
                finally:
                    self._shared = False
        except sqlite3.Error as exc:
            raise book_failure(self.path, "cannot write the mirror", exc) from None

    def store(
        self,
        name: str,
        table: Table,
        rows: Iterable[Row],
        *,
        deleted: Iterable[str] = (),
        cursor: Cursor | Callable[[], Cursor | None] | None,
        replace: bool,
        after_rows: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:
        """One pull of one object, in one transaction: with `replace`, the pulled rows
        are the whole table (a full pull); otherwise they are upserted and `deleted`
        removed. `after_rows` runs in the same transaction once the rows are in (e.g.
        resolving staged links in SQL); if it raises, nothing is stored. The cursor
        advances in the same transaction, or not at all."""
        try:
            with self._write() as conn:
                if replace:
                    if table == "owners":
                        conn.execute("DELETE FROM owner_fields")
                    conn.execute(f"DELETE FROM {table}")
                delete_rows(conn, table, deleted)
                insert_rows(conn, table, rows)
                if after_rows is not None:
                    after_rows(conn)
                # A callable cursor is read after the rows: streamed rows advance it.
                if callable(cursor):
                    cursor = cursor()
                if cursor is not None:
                    conn.execute(
                        "INSERT OR REPLACE INTO cursors (object, stamp, ids) VALUES (?, ?, ?)",
                        (name, cursor.stamp, json.dumps(sorted(cursor.ids))),
                    )
        except sqlite3.Error as exc:
            raise book_failure(self.path, "cannot write the mirror", exc) from None

    def drop(self, name: str, table: Table) -> None:
        """Empty a table and forget its cursor: an object the profile no longer pulls
        must not linger in the Book as it was the last time it was pulled."""
        try:
            with self._write() as conn:
                # The table name is one of the Table literals, never user input.
                conn.execute(f"DELETE FROM {table}")
                conn.execute("DELETE FROM cursors WHERE object = ?", (name,))
        except sqlite3.Error as exc:
            raise book_failure(self.path, "cannot write the mirror", exc) from None

    def ids(self, table: Table) -> Iterator[str]:
        """Every id of `table`, in id order, a page at a time (inside together() or
        an after_rows hook: the rows written so far, not yet committed)."""
        last = ""
        while True:
            # The table name is one of the Table literals, never user input.
            page = self._conn.execute(
                f"SELECT id FROM {table} WHERE id > ? ORDER BY id LIMIT ?", (last, ID_PAGE)
            ).fetchall()
            yield from (str(row[0]) for row in page)
            if len(page) < ID_PAGE:
                return
            last = str(page[-1][0])

    def count(self, table: Table) -> int:
        # The table name is one of the Table literals, never user input.
        return int(self._conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def links(self) -> LinkStage:
        """An empty stage for record-to-company links (TEMP tables of this mirror's
        connection: never in the file, gone when it closes)."""
        return LinkStage(self._conn)

    # -- what apply wrote ------------------------------------------------------

    def record_accounts(
        self,
        owners: Mapping[str, str | None],
        *,
        locked: Iterable[str] = (),
        deleted: Iterable[str] = (),
        stamp: str | None = None,
    ) -> None:
        """Owners written or found by apply, accounts found locked or deleted."""
        with transaction(self._conn) as conn:
            conn.executemany(
                "UPDATE accounts SET owner_id = ?, updated = coalesce(?, updated) WHERE id = ?",
                [(owner, stamp, account) for account, owner in owners.items()],
            )
            conn.executemany("UPDATE accounts SET locked = 1 WHERE id = ?", [(a,) for a in locked])
            delete_rows(conn, "accounts", deleted)

    def record_account_fields(self, values: Mapping[str, Mapping[str, FieldValue]]) -> None:
        """Fields written by apply onto accounts (merged into what the mirror holds)."""
        with transaction(self._conn) as conn:
            for account, written in values.items():
                row = conn.execute(
                    "SELECT fields FROM accounts WHERE id = ?", (account,)
                ).fetchone()
                if row is not None:
                    merged = {**json.loads(row[0]), **written}
                    conn.execute(
                        "UPDATE accounts SET fields = ? WHERE id = ?",
                        (encode_json(merged), account),
                    )

    def record_owner_fields(self, values: Mapping[str, Mapping[str, FieldValue]]) -> None:
        """Metric fields written by apply, per owner id."""
        with transaction(self._conn) as conn:
            conn.executemany(
                "INSERT INTO owner_fields (owner_id, name, value) VALUES (?, ?, ?) "
                "ON CONFLICT (owner_id, name) DO UPDATE SET value = excluded.value",
                [
                    (owner, name, encode_json(value))
                    for owner, fields in values.items()
                    for name, value in fields.items()
                ],
            )

    # -- reading ---------------------------------------------------------------

    def owners_active(self) -> dict[str, bool]:
        return {row[0]: bool(row[1]) for row in self._conn.execute("SELECT id, active FROM owners")}

    def read_book(self, window: DealWindow | None = None) -> Book:
        """The Book, through the local book's reading and the profile's mappings."""
        return read_book(self._conn, self.path, self.profile, window)

    def close(self) -> None:
        self._conn.close()
