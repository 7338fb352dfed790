"""The embedded local book: owners, accounts and deals in one SQLite file.

The local book plays the part of a CRM for the demo, for trying rules on an
exported snapshot (`rolesync import`), and for tests. It stores raw CRM values
(deal type, account lifecycle) exactly as a CRM would and maps them through the
profile on `pull`, so a profile's mapping is exercised the same way as against a
real CRM.

Every write is one SQLite transaction; `apply` is compare-and-set per account,
like the remote adapters: an account whose owner changed since the plan was made
is reported as a conflict and left alone.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from roleSync.adapters.base import ApplyResult, MetricWrite, OwnershipChange
from roleSync.errors import RoleSyncError
from roleSync.model import Account, Book, Deal, FieldValue, Owner
from roleSync.profile import Profile

SCHEMA_VERSION = 1
# Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT = 10.0

_SCHEMA = (
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
    # Pull reads whole tables (no index helps a full scan); these serve the lookups
    # by owner and by account that rollback, explain and apply's diagnosis make.
    "CREATE INDEX accounts_by_owner ON accounts (owner_id)",
    "CREATE INDEX deals_by_account ON deals (account_id)",
    "CREATE INDEX deals_by_owner ON deals (owner_id)",
)


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


def _datetime(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None


def _date(raw: str | None) -> date | None:
    return date.fromisoformat(raw) if raw else None


# -- reading ----------------------------------------------------------------------


def _read_owners(conn: sqlite3.Connection) -> list[Owner]:
    recorded: dict[str, dict[str, FieldValue]] = {}
    for owner_id, name, value in conn.execute("SELECT owner_id, name, value FROM owner_fields"):
        recorded.setdefault(owner_id, {})[name] = json.loads(value)
    return [
        Owner(
            id=row[0],
            name=row[1],
            email=row[2],
            title=row[3],
            active=bool(row[4]),
            recorded=recorded.get(row[0], {}),
        )
        for row in conn.execute("SELECT id, name, email, title, active FROM owners")
    ]


def _read_accounts(conn: sqlite3.Connection, profile: Profile) -> list[Account]:
    rows = conn.execute(
        "SELECT id, name, owner_id, lifecycle, segment, region, tier, locked, "
        "fields, created, updated FROM accounts"
    )
    accounts = []
    for row in rows:
        try:
            accounts.append(
                Account(
                    id=row[0],
                    name=row[1],
                    owner_id=row[2],
                    lifecycle=profile.lifecycle_of(row[3]),
                    segment=row[4],
                    region=row[5],
                    tier=row[6],
                    locked=bool(row[7]),
                    fields=json.loads(row[8]),
                    created=_datetime(row[9]),
                    updated=_datetime(row[10]),
                )
            )
        except ValueError as exc:
            raise BookError(f"account {row[0]!r}: {exc}") from None
    return accounts


def _read_deals(conn: sqlite3.Connection, profile: Profile) -> list[Deal]:
    rows = conn.execute(
        "SELECT id, account_id, owner_id, kind, stage, closed, won, amount, "
        "created, close_date FROM deals"
    )
    deals = []
    for row in rows:
        try:
            created = _date(row[8])
            if created is None:
                raise ValueError("no creation date")
            deals.append(
                Deal(
                    id=row[0],
                    account_id=row[1],
                    owner_id=row[2],
                    kind=profile.deal_kind(row[3]),
                    stage=row[4],
                    closed=bool(row[5]),
                    won=bool(row[6]),
                    amount=float(row[7]) if row[7] is not None else None,
                    created=created,
                    close_date=_date(row[9]),
                )
            )
        except ValueError as exc:
            raise BookError(f"deal {row[0]!r}: {exc}") from None
    return deals


# -- the adapter ------------------------------------------------------------------


class LocalAdapter:
    """The Adapter protocol over the profile's SQLite book.

    `now` stamps `accounts.updated` on apply: a fixed datetime, or a clock called at
    apply time; None reads the system clock (UTC) at apply time.
    """

    def __init__(
        self, profile: Profile, *, now: datetime | Callable[[], datetime] | None = None
    ) -> None:
        self.profile = profile
        self.path = profile.book_path
        self._now = now
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = open_book(self.path, create=False)
        return self._conn

    def pull(self) -> Book:
        conn = self._connection()
        with snapshot(conn):
            try:
                owners = _read_owners(conn)
                accounts = _read_accounts(conn, self.profile)
                deals = _read_deals(conn, self.profile)
            except BookError as exc:
                raise BookError(f"{self.path}: {exc}") from None
            except (ValueError, sqlite3.DatabaseError) as exc:
                raise BookError(f"{self.path}: cannot read book: {exc}") from None
        return Book(owners, accounts, deals)

    def apply(
        self, changes: Sequence[OwnershipChange], metric_writes: Sequence[MetricWrite]
    ) -> ApplyResult:
        """Write everything in one transaction; per-entry outcomes in the result.

        Refusals (conflict, deleted or locked account, unusable target owner) are
        reported and the rest is written. An exception rolls back every write.
        """
        if self._now is None:
            stamp = datetime.now(UTC).isoformat()
        elif isinstance(self._now, datetime):
            stamp = self._now.isoformat()
        else:
            stamp = self._now().isoformat()
        result = ApplyResult()
        conn = self._connection()
        try:
            with transaction(conn):
                for change in changes:
                    self._apply_change(conn, change, stamp, result)
                for write in metric_writes:
                    self._write_metrics(conn, write, result)
        except sqlite3.Error as exc:  # disk full, I/O error: rolled back, nothing written
            raise BookError(f"{self.path}: cannot write: {exc}") from None
        return result

    def _apply_change(
        self, conn: sqlite3.Connection, change: OwnershipChange, stamp: str, result: ApplyResult
    ) -> None:
        if not isinstance(change.to_owner_id, str) or not change.to_owner_id:
            # A plan never holds this; raising rolls the whole apply back.
            raise ValueError(f"change of account {change.account_id!r} has no target owner")
        refusal = _target_refusal(conn, change.to_owner_id)
        if refusal:
            result.failed[change.account_id] = refusal
            return
        # Compare-and-set: only an account still owned by from_owner_id and not locked.
        cursor = conn.execute(
            "UPDATE accounts SET owner_id = ?, updated = ? "
            "WHERE id = ? AND owner_id IS ? AND locked = 0",
            (change.to_owner_id, stamp, change.account_id, change.from_owner_id),
        )
        if cursor.rowcount == 1:
            result.applied.append(change.account_id)
            return
        row = conn.execute(
            "SELECT owner_id, locked FROM accounts WHERE id = ?", (change.account_id,)
        ).fetchone()
        if row is None:
            result.failed[change.account_id] = "account no longer exists"
        elif row[0] == change.to_owner_id:
            result.already_applied.append(change.account_id)
        elif row[1]:
            result.failed[change.account_id] = "account was locked after the plan was made"
        else:
            result.conflicts[change.account_id] = row[0]

    def _write_metrics(
        self, conn: sqlite3.Connection, write: MetricWrite, result: ApplyResult
    ) -> None:
        if not self.profile.metrics.write:
            result.metrics_failed[write.owner_id] = "the profile has metrics.write: false"
            return
        # Only the profile's destination fields: a plan made under another profile must
        # not scatter fields into this book.
        allowed = set(self.profile.metrics.fields.values())
        unknown = sorted(set(write.values) - allowed)
        if unknown:
            result.metrics_failed[write.owner_id] = (
                "not a destination field of this profile: " + ", ".join(unknown)
            )
            return
        if conn.execute("SELECT 1 FROM owners WHERE id = ?", (write.owner_id,)).fetchone() is None:
            result.metrics_failed[write.owner_id] = "owner no longer exists"
            return
        conn.executemany(
            "INSERT INTO owner_fields (owner_id, name, value) VALUES (?, ?, ?) "
            "ON CONFLICT (owner_id, name) DO UPDATE SET value = excluded.value",
            [(write.owner_id, name, encode_json(value)) for name, value in write.values.items()],
        )
        result.metrics_written.append(write.owner_id)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> LocalAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _target_refusal(conn: sqlite3.Connection, owner_id: str) -> str | None:
    row = conn.execute("SELECT active FROM owners WHERE id = ?", (owner_id,)).fetchone()
    if row is None:
        return f"target owner {owner_id} no longer exists"
    if not row[0]:
        return f"target owner {owner_id} is inactive"
    return None


# -- writing a whole book ---------------------------------------------------------


def write_book(
    path: Path, owners: Iterable[Owner], accounts: Iterable[Account], deals: Iterable[Deal]
) -> None:
    """Create the book at `path`, or replace the contents of the book there, atomically.

    Deal kinds are stored as their canonical value (NULL when None), which every
    profile maps back to itself; `Owner.recorded` goes to owner_fields.
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
                [
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
                ],
            )
            conn.executemany(
                "INSERT INTO deals (id, account_id, owner_id, kind, stage, closed, won, amount, "
                "created, close_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
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
                ],
            )
    except sqlite3.IntegrityError as exc:
        raise BookError(f"{path}: cannot write book: {exc}") from None
    finally:
        conn.close()
