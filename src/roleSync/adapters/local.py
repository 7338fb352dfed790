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
import os
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from roleSync.adapters.base import ApplyJournal, ApplyResult, RelatedJournal, RelatedResult
from roleSync.adapters.book_reader import read_book, read_owners
from roleSync.adapters.local_batch import (
    batch_size_for,
    crash_window,
    owners_active,
    refusal_of,
    rows_by_id,
)
from roleSync.adapters.local_related import RelatedWrites, owner_refusal
from roleSync.adapters.local_store import (
    book_failure,
    encode_json,
    open_book,
    snapshot,
    transaction,
)
from roleSync.model import Book, DealWindow, Owner
from roleSync.plan import MetricWrite, OwnershipChange
from roleSync.plan.types import HandoffTask, RelatedChange
from roleSync.profile import Profile

# -- the adapter ------------------------------------------------------------------

# A debug knob for fault tests, never needed in production: milliseconds to sleep at
# each of the three crash windows of a journaled batch (after its intent is journaled,
# inside its book transaction, after its commit), so a test can kill -9 the process
# inside each of them.
BATCH_DELAY_ENV = "ROLESYNC_TEST_BATCH_DELAY_MS"


def _batch_delay() -> float:
    raw = os.environ.get(BATCH_DELAY_ENV, "")
    try:
        return max(0.0, float(raw) / 1000.0 / 3) if raw else 0.0
    except ValueError:
        return 0.0


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
        self._progress: Callable[[int], None] | None = None
        # None: batches grow with the run (local_batch.batch_size_for); tests set a size.
        self.batch_size: int | None = None
        self._pause = _batch_delay()

    def set_progress(self, callback: Callable[[int], None] | None) -> None:
        """Called with 1 after each change and metric write (drives progress bars)."""
        self._progress = callback

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = open_book(self.path, create=False)
        return self._conn

    def pull(self, window: DealWindow | None = None) -> Book:
        return read_book(self._connection(), self.path, self.profile, window)

    def apply(
        self,
        changes: Sequence[OwnershipChange],
        metric_writes: Sequence[MetricWrite],
        journal: ApplyJournal | None = None,
    ) -> ApplyResult:
        """Write everything in one transaction; per-entry outcomes in the result.

        Refusals (conflict, deleted or locked account, unusable target owner) are
        reported and the rest is written. An exception rolls back every write.
        With a journal: one transaction per batch of `batch_size` changes (journaled
        before and after), then one for the metric writes.
        """
        if journal is not None:
            return self._apply_journaled(changes, metric_writes, journal)
        stamp = self._stamp()
        result = ApplyResult()
        conn = self._connection()
        try:
            with transaction(conn):
                for change in changes:
                    self._apply_change(conn, change, stamp, result)
                    if self._progress is not None:
                        self._progress(1)
                for write in metric_writes:
                    self._write_metrics(conn, write, result)
                    if self._progress is not None:
                        self._progress(1)
        except sqlite3.Error as exc:  # disk full, I/O error: rolled back, nothing written
            raise book_failure(self.path, "cannot write", exc) from None
        return result

    def _stamp(self) -> str:
        if self._now is None:
            return datetime.now(UTC).isoformat()
        if isinstance(self._now, datetime):
            return self._now.isoformat()
        return self._now().isoformat()

    def _apply_journaled(
        self,
        changes: Sequence[OwnershipChange],
        metric_writes: Sequence[MetricWrite],
        journal: ApplyJournal,
    ) -> ApplyResult:
        result = ApplyResult()
        conn = self._connection()
        size = batch_size_for(len(changes), self.batch_size)
        try:
            for batch_no, start in enumerate(range(0, len(changes), size)):
                batch = changes[start : start + size]
                done = self._apply_batch(conn, batch_no, batch, journal)
                _merge(result, done)
            if metric_writes:
                with transaction(conn):
                    for write in metric_writes:
                        self._write_metrics(conn, write, result)
                        if self._progress is not None:
                            self._progress(1)
        except sqlite3.Error as exc:  # the batch in flight is rolled back; earlier ones stay
            raise book_failure(self.path, "cannot write", exc) from None
        return result

    def _apply_batch(
        self,
        conn: sqlite3.Connection,
        batch_no: int,
        batch: Sequence[OwnershipChange],
        journal: ApplyJournal,
    ) -> ApplyResult:
        """Compare first (decided without a write: already applied, conflicts, refusals),
        journal the intent of the rest, write them in one transaction, journal the result.
        The intent names only writes about to happen, so after a crash an account found
        at its target owner with an intent is surely this run's write."""
        done = ApplyResult()
        to_write = self._compare(conn, batch, done)
        journal.intent(batch_no, to_write)
        crash_window(self._pause)
        stamp = self._stamp()
        with transaction(conn):
            # Compare-and-set again inside the transaction (its write lock held from
            # BEGIN IMMEDIATE): a human may have been quicker than the journal write.
            self._write_owners(conn, self._compare(conn, to_write, done), stamp, done)
            crash_window(self._pause)
        crash_window(self._pause)
        journal.result(batch_no, done)
        if self._progress is not None:
            self._progress(len(batch))
        return done

    def _compare(
        self, conn: sqlite3.Connection, changes: Sequence[OwnershipChange], done: ApplyResult
    ) -> list[OwnershipChange]:
        """The changes to write, read in one go; the outcome of each of the others (gone,
        already applied, unusable target, locked, conflict) goes into `done`."""
        found = rows_by_id(
            conn,
            "SELECT id, owner_id, locked FROM accounts WHERE id IN",
            (c.account_id for c in changes),
        )
        owners = owners_active(conn, (c.to_owner_id for c in changes))
        to_write: list[OwnershipChange] = []
        for change in changes:
            row = found.get(change.account_id)
            refusal = refusal_of(owners, change.to_owner_id)
            if row is None:
                done.failed[change.account_id] = "account no longer exists"
            elif row[0] == change.to_owner_id:
                done.already_applied.append(change.account_id)
            elif refusal:
                done.failed[change.account_id] = refusal
            elif row[1]:
                done.failed[change.account_id] = "account was locked after the plan was made"
            elif row[0] != change.from_owner_id:
                done.conflicts[change.account_id] = row[0]
            else:
                to_write.append(change)
        return to_write

    @staticmethod
    def _write_owners(
        conn: sqlite3.Connection,
        changes: Sequence[OwnershipChange],
        stamp: str,
        done: ApplyResult,
    ) -> None:
        """Write the changes `_compare` passed in this same transaction."""
        for change in changes:
            if not isinstance(change.to_owner_id, str) or not change.to_owner_id:
                # A plan never holds this; raising rolls the batch back.
                raise ValueError(f"change of account {change.account_id!r} has no target owner")
        if not changes:
            return
        # Still compare-and-set in the statement: it costs nothing and states the rule.
        cursor = conn.executemany(
            "UPDATE accounts SET owner_id = ?, updated = ? "
            "WHERE id = ? AND owner_id IS ? AND locked = 0",
            # In id order: neighbouring rows share a page (ids are random; issue 19).
            [
                (c.to_owner_id, stamp, c.account_id, c.from_owner_id)
                for c in sorted(changes, key=lambda c: c.account_id)
            ],
        )
        if cursor.rowcount != len(changes):
            # Under the write lock nothing can change between the read and the write.
            raise sqlite3.OperationalError("the book changed under its write lock")
        done.applied.extend(c.account_id for c in changes)

    def apply_related(
        self,
        changes: Sequence[RelatedChange],
        tasks: Sequence[HandoffTask],
        journal: RelatedJournal | None = None,
    ) -> RelatedResult:
        """Move carried deals, contacts and tasks (compare-and-set) and create handoff
        tasks once each (by key), in one transaction; with a journal, in journaled
        batches of `batch_size`, records before tasks (`roleSync.adapters.local_related`)."""
        writes = RelatedWrites(
            self._connection(),
            self.path,
            batch_size=self.batch_size,
            pause=self._pause,
            progress=self._progress,
        )
        return writes.apply(changes, tasks, journal)

    def owners(self) -> list[Owner]:
        """The book's owners alone: for checks that need no account or deal."""
        return read_owners(self._connection(), self.path)

    def current_owners(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        """The compare-and-set read, for reconciling a journal after a crash."""
        conn = self._connection()
        found: dict[str, str | None] = {}
        with snapshot(conn):
            for start in range(0, len(account_ids), 500):
                chunk = list(account_ids[start : start + 500])
                marks = ", ".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT id, owner_id FROM accounts WHERE id IN ({marks})", chunk
                )
                found.update({str(i): o for i, o in rows})
        return found

    def _apply_change(
        self, conn: sqlite3.Connection, change: OwnershipChange, stamp: str, result: ApplyResult
    ) -> None:
        if not isinstance(change.to_owner_id, str) or not change.to_owner_id:
            # A plan never holds this; raising rolls the whole apply back.
            raise ValueError(f"change of account {change.account_id!r} has no target owner")
        refusal = owner_refusal(conn, change.to_owner_id)
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
        # Compare-and-set, inside the write transaction: the values held now against
        # those the plan was made from.
        current = {
            str(name): json.loads(value)
            for name, value in conn.execute(
                "SELECT name, value FROM owner_fields WHERE owner_id = ?", (write.owner_id,)
            )
        }
        conflict = write.conflict_with(current)
        if conflict is not None:
            result.metric_conflicts[write.owner_id] = conflict
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


def _merge(into: ApplyResult, part: ApplyResult) -> None:
    into.applied += part.applied
    into.already_applied += part.already_applied
    into.conflicts.update(part.conflicts)
    into.failed.update(part.failed)
