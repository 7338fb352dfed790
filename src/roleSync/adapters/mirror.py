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
finished, with their cursors, and nothing of the one it was on.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from roleSync.adapters.book_reader import read_book
from roleSync.adapters.local_store import (
    BookError,
    add_related_tables,
    book_failure,
    encode_json,
    open_book,
    transaction,
)
from roleSync.file_faults import os_cause
from roleSync.model import Book, DealWindow, FieldValue
from roleSync.profile import Profile

Table = Literal["owners", "accounts", "deals", "contacts", "tasks"]

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


@dataclass(frozen=True, slots=True)
class OwnerRow:
    id: str
    name: str
    email: str
    title: str
    active: bool
    # Role-metric destination fields as the CRM holds them: the plan compares with these.
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    # Extra owner fields the profile maps (Owner.fields: territory), by roleSync's name.
    extra: Mapping[str, FieldValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: str
    name: str
    owner_id: str | None
    lifecycle: str  # raw CRM value
    segment: str
    region: str
    tier: str
    locked: bool
    fields: Mapping[str, FieldValue]
    created: str | None  # ISO datetime
    updated: str | None


@dataclass(frozen=True, slots=True)
class DealRow:
    id: str
    account_id: str
    owner_id: str | None
    kind: str | None  # raw CRM value
    stage: str
    closed: bool
    won: bool
    # A finite number; None when blank; text (see `entry_amount`) when the CRM sent
    # something that is not a finite number: book health reports it, nothing sums it.
    amount: float | str | None
    created: str  # ISO date
    close_date: str | None


@dataclass(frozen=True, slots=True)
class ContactRow:
    id: str
    account_id: str | None  # None: a contact without a company
    owner_id: str | None
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class TaskRow:
    id: str
    account_id: str | None  # the account the task is about
    owner_id: str | None
    subject: str
    closed: bool
    due: str | None  # ISO date


Row = OwnerRow | AccountRow | DealRow | ContactRow | TaskRow

# The account id a deal without an account gets: its own group for deal-kind inference,
# instead of all account-less deals being one pseudo-account. Book health knows these
# point at no account on purpose.
NO_ACCOUNT_PREFIX = "(no account) "


def entry_amount(raw: object) -> float | str | None:
    """A deal amount as a CRM sent it, checked where it enters the mirror.

    A finite number is kept as a float and blank is None. Anything else (text that is no
    number, NaN, an infinity, 1e400 which floats read as infinity) is kept as text that
    SQLite cannot take for a number, so it is never stored as an infinity: book health
    reports it (`absurd_amount`) and stops the run before anything sums it.
    """
    if raw is None or raw == "":
        return None
    if isinstance(raw, (int, float, str)) and not isinstance(raw, bool):
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return value
    return f"not a finite number: {raw}"


def _insert(conn: sqlite3.Connection, table: Table, rows: Iterable[Row]) -> None:
    # Generators: executemany takes rows one at a time, so streamed rows are never all held.
    if table == "owners":
        owners = [r for r in rows if isinstance(r, OwnerRow)]
        conn.executemany(
            "INSERT OR REPLACE INTO owners (id, name, email, title, active, fields) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (o.id, o.name, o.email, o.title, int(o.active), encode_json(dict(o.extra)))
                for o in owners
            ],
        )
        conn.executemany("DELETE FROM owner_fields WHERE owner_id = ?", [(o.id,) for o in owners])
        conn.executemany(
            "INSERT INTO owner_fields (owner_id, name, value) VALUES (?, ?, ?)",
            [(o.id, k, encode_json(v)) for o in owners for k, v in o.fields.items()],
        )
    elif table == "accounts":
        conn.executemany(
            "INSERT OR REPLACE INTO accounts (id, name, owner_id, lifecycle, segment, region, "
            "tier, locked, fields, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    a.created,
                    a.updated,
                )
                for a in rows
                if isinstance(a, AccountRow)
            ),
        )
    elif table == "contacts":
        conn.executemany(
            "INSERT OR REPLACE INTO contacts (id, account_id, owner_id, name, email) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                (c.id, c.account_id, c.owner_id, c.name, c.email)
                for c in rows
                if isinstance(c, ContactRow)
            ),
        )
    elif table == "tasks":
        conn.executemany(
            "INSERT OR REPLACE INTO tasks (id, account_id, owner_id, subject, closed, due) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                (t.id, t.account_id, t.owner_id, t.subject, int(t.closed), t.due)
                for t in rows
                if isinstance(t, TaskRow)
            ),
        )
    else:
        conn.executemany(
            "INSERT OR REPLACE INTO deals (id, account_id, owner_id, kind, stage, closed, won, "
            "amount, created, close_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    d.id,
                    d.account_id,
                    d.owner_id,
                    d.kind,
                    d.stage,
                    int(d.closed),
                    int(d.won),
                    d.amount,
                    d.created,
                    d.close_date,
                )
                for d in rows
                if isinstance(d, DealRow)
            ),
        )


def _delete(conn: sqlite3.Connection, table: Table, ids: Iterable[str]) -> None:
    keys = [(i,) for i in ids]
    if table == "owners":
        conn.executemany("DELETE FROM owner_fields WHERE owner_id = ?", keys)
    # The table name is one of the Table literals, never user input.
    conn.executemany(f"DELETE FROM {table} WHERE id = ?", keys)


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

    def store(
        self,
        name: str,
        table: Table,
        rows: Iterable[Row],
        *,
        deleted: Iterable[str] = (),
        cursor: Cursor | Callable[[], Cursor | None] | None,
        replace: bool,
    ) -> None:
        """One pull of one object, in one transaction: with `replace`, the pulled rows
        are the whole table (a full pull); otherwise they are upserted and `deleted`
        removed. The cursor advances in the same transaction, or not at all."""
        try:
            with transaction(self._conn) as conn:
                if replace:
                    if table == "owners":
                        conn.execute("DELETE FROM owner_fields")
                    conn.execute(f"DELETE FROM {table}")
                _delete(conn, table, deleted)
                _insert(conn, table, rows)
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
            with transaction(self._conn) as conn:
                # The table name is one of the Table literals, never user input.
                conn.execute(f"DELETE FROM {table}")
                conn.execute("DELETE FROM cursors WHERE object = ?", (name,))
        except sqlite3.Error as exc:
            raise book_failure(self.path, "cannot write the mirror", exc) from None

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
            _delete(conn, "accounts", deleted)

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
