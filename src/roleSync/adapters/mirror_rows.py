"""The rows a pull writes into the mirror, and how they are written.

Kept apart from mirror.py (the mirror file, its cursors and transactions): these are the
values adapters convert CRM records into, and the INSERTs that take them.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from roleSync.adapters.local_store import ACCOUNTS_INTO, account_values, encode_json
from roleSync.model import FieldValue

Table = Literal["owners", "accounts", "deals", "contacts", "tasks"]


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


def insert_rows(conn: sqlite3.Connection, table: Table, rows: Iterable[Row]) -> None:
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
            "INSERT OR REPLACE INTO " + ACCOUNTS_INTO,
            (account_values(a, a.created, a.updated) for a in rows if isinstance(a, AccountRow)),
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


def delete_rows(conn: sqlite3.Connection, table: Table, ids: Iterable[str]) -> None:
    keys = [(i,) for i in ids]
    if table == "owners":
        conn.executemany("DELETE FROM owner_fields WHERE owner_id = ?", keys)
    # The table name is one of the Table literals, never user input.
    conn.executemany(f"DELETE FROM {table} WHERE id = ?", keys)
