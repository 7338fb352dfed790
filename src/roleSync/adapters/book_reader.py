"""Reading a Book out of the local-book SQLite format (the local book and CRM mirrors).

Raw CRM values (deal type, lifecycle) are mapped through the profile here, so a
profile's mappings apply the same way to a local book as to a mirrored CRM.

With a window, deals stream from SQLite one account at a time and are folded into that
window's facts (`Book.folded`): no deal is kept, so a plan of millions of deals needs
memory for the accounts and owners only. Without one, every deal is held.
"""

from __future__ import annotations

import gc
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import cache
from pathlib import Path

from roleSync.adapters.local_store import (
    BookError,
    book_failure,
    owner_columns,
    snapshot,
    tables_of,
)
from roleSync.model import Account, Book, Contact, Deal, DealWindow, FieldValue, Owner, Task
from roleSync.profile import Profile

_DEAL_COLUMNS = "id, account_id, owner_id, kind, stage, closed, won, amount, created, close_date"


def read_book(
    conn: sqlite3.Connection, path: Path, profile: Profile, window: DealWindow | None = None
) -> Book:
    """The Book in one read transaction; unreadable rows are a BookError naming the file."""
    with snapshot(conn), collector_paused():
        try:
            owners = _read_owners(conn)
            accounts = _read_accounts(conn, profile)
            tables = tables_of(conn)
            contacts = _read_contacts(conn) if "contacts" in tables else []
            tasks = _read_tasks(conn) if "tasks" in tables else []
            if window is None:
                deals = _read_deals(conn, profile)
                return Book(owners, accounts, deals, contacts=contacts, tasks=tasks)
            (total,) = conn.execute("SELECT count(*) FROM deals").fetchone()
            groups = _deal_groups(conn, profile, window)
            return Book.folded(
                owners,
                accounts,
                groups,
                window,
                deal_count=total,
                contacts=contacts,
                tasks=tasks,
            )
        except BookError as exc:
            raise BookError(f"{path}: {exc}") from None
        except (ValueError, sqlite3.DatabaseError) as exc:
            raise book_failure(path, "cannot read book", exc) from None


def read_owners(conn: sqlite3.Connection, path: Path) -> list[Owner]:
    """The owners alone, for callers that need no account or deal."""
    try:
        return _read_owners(conn)
    except BookError as exc:
        raise BookError(f"{path}: {exc}") from None
    except (ValueError, sqlite3.DatabaseError) as exc:
        raise book_failure(path, "cannot read book", exc) from None


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a book is read.

    Reading builds millions of records that all stay alive and hold no reference
    cycles; every collection the allocations trigger would walk all of them again and
    find nothing (about 3 s of a 1M-account pull). Reference counting still frees
    everything as usual; the collector resumes, if it was on, when reading is done.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _datetime(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None


def _read_owners(conn: sqlite3.Connection) -> list[Owner]:
    recorded: dict[str, dict[str, FieldValue]] = {}
    for owner_id, name, value in conn.execute("SELECT owner_id, name, value FROM owner_fields"):
        recorded.setdefault(owner_id, {})[name] = json.loads(value)
    # A book written before extra owner fields has no such column: no owner has any.
    extra = ", fields" if "fields" in owner_columns(conn) else ", '{}'"
    owners = []
    for row in conn.execute(f"SELECT id, name, email, title, active{extra} FROM owners"):
        fields = {} if row[5] == "{}" else json.loads(row[5])
        if not isinstance(fields, dict):
            raise BookError(f"owner {row[0]!r}: fields are not a JSON object")
        owners.append(
            Owner(
                id=row[0],
                name=row[1],
                email=row[2],
                title=row[3],
                active=bool(row[4]),
                recorded=recorded.get(row[0], {}),
                fields=fields,
            )
        )
    return owners


def _read_accounts(conn: sqlite3.Connection, profile: Profile) -> list[Account]:
    rows = conn.execute(
        "SELECT id, name, owner_id, lifecycle, segment, region, tier, locked, "
        "fields, created, updated FROM accounts"
    )
    lifecycle = cache(profile.lifecycle_of)  # a handful of values for a million rows
    accounts = []
    for row in rows:
        try:
            accounts.append(
                Account(
                    id=row[0],
                    name=row[1],
                    owner_id=row[2],
                    lifecycle=lifecycle(row[3]),
                    segment=row[4],
                    region=row[5],
                    tier=row[6],
                    locked=bool(row[7]),
                    # Most accounts carry no extra field: skip the JSON parser for them.
                    fields={} if row[8] == "{}" else json.loads(row[8]),
                    created=_datetime(row[9]),
                    updated=_datetime(row[10]),
                )
            )
        except ValueError as exc:
            raise BookError(f"account {row[0]!r}: {exc}") from None
    return accounts


def _read_contacts(conn: sqlite3.Connection) -> list[Contact]:
    """Every contact; a book written before contacts existed has none (no table)."""
    rows = conn.execute("SELECT id, account_id, owner_id, name, email FROM contacts")
    return [Contact(*row) for row in rows]


def _read_tasks(conn: sqlite3.Connection) -> list[Task]:
    day = cache(_date)
    tasks = []
    for row in conn.execute("SELECT id, account_id, owner_id, subject, closed, due FROM tasks"):
        try:
            due = day(row[5])
        except (ValueError, TypeError) as exc:
            raise BookError(f"task {row[0]!r}: due date {row[5]!r}: {exc}") from None
        tasks.append(Task(row[0], row[1], row[2], row[3], bool(row[4]), due))
    return tasks


def _read_deals(
    conn: sqlite3.Connection, profile: Profile, tail: str = "", params: tuple[str, ...] = ()
) -> Iterator[Deal]:
    """Deals of `SELECT ... FROM deals{tail}`, raw values mapped through the profile."""
    # A few hundred distinct dates and deal types cover millions of deals: each is
    # parsed once and the objects shared. Deal is built positionally: a keyword call
    # costs twice as much, and this runs once per deal of books with millions.
    kind_of = cache(profile.deal_kind)
    day = cache(_date)
    for row in conn.execute(f"SELECT {_DEAL_COLUMNS} FROM deals{tail}", params):
        try:
            created, close = day(row[8]), day(row[9])
            if created is None:
                raise ValueError("no creation date")
        except ValueError as exc:
            raise BookError(f"deal {row[0]!r}: {exc}") from None
        yield Deal(
            row[0],
            row[1],
            row[2],
            kind_of(row[3]),
            row[4],
            bool(row[5]),
            bool(row[6]),
            row[7] if row[7].__class__ is float else _amount(row[7]),
            created,
            close,
        )


def _amount(raw: object) -> float | None:
    """An amount that SQLite did not give as a float. Text is what a CRM sent that is no
    finite number (`mirror.entry_amount`) or a hand-edited book: book health reports it
    and stops any plan before a Book is used, so other readers (explain, reports) see
    no amount rather than fail."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    return None


def _date(raw: str | None) -> date | None:
    return date.fromisoformat(raw) if raw else None


def _deal_groups(
    conn: sqlite3.Connection, profile: Profile, window: DealWindow
) -> Iterator[list[Deal]]:
    """Each account's deals that can change a fact of `window`, accounts in id order.

    Left in SQLite: open deals and deals lost before the window. No fact depends on them
    (tallies count deals closed in the window; triggers, customers, blank-kind inference
    and the starting revenue of retention, won in the window before, need won deals
    only), and they are about half of a typical book. The date
    filter compares ISO text: a row it keeps needlessly is re-checked by the fold, and
    it cannot drop one whose date is in the window. `+account_id` keeps SQLite from
    walking the account index, which reads the table in random order: on a 4M-deal book
    sorting is about 4x faster.
    """
    tail = " WHERE won = 1 OR (closed = 1 AND close_date >= ?) ORDER BY +account_id"
    if window.stages:
        # A stage_reached handoff watches deals at stages, open ones too: read them all
        # (the fold keeps only those at a watched stage).
        tail = " WHERE ? IS NOT NULL ORDER BY +account_id"
    group: list[Deal] = []
    for deal in _read_deals(conn, profile, tail, (window.start.isoformat(),)):
        if group and deal.account_id != group[0].account_id:
            yield group
            group = []
        group.append(deal)
    if group:
        yield group
