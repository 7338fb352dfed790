"""What a handoff carries, written into the local book: the owners of an account's open
deals, contacts and open tasks, and new handoff tasks (`RelatedWriter.apply_related`).

Carried records are compare-and-set like accounts: decided inside the write
transaction, so a record moved, closed or deleted since the plan was made is reported
and left alone. A handoff task is a `tasks` row holding its key in `rolesync_key`
(unique), so the same handoff never creates it twice, whether it is re-run, recovered
after a crash or planned again.

With a journal, records and tasks go in separate batches of the adapter's batch size,
each journaled like `LocalAdapter._apply_batch`: the intent (only what is about to be
written) before its transaction, the result after its commit, with the same three crash
windows for fault tests.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from roleSync.adapters.base import RelatedJournal, RelatedResult
from roleSync.adapters.local_batch import (
    batch_size_for,
    crash_window,
    owners_active,
    refusal_of,
    rows_by_id,
)
from roleSync.adapters.local_store import (
    add_related_tables,
    book_failure,
    has_task_keys,
    tables_of,
    transaction,
)
from roleSync.plan.types import HandoffTask, RelatedChange, RelatedObject, related_key

# The table of each kind of carried record, and whether its rows can be closed (a
# closed deal or task never moves).
_TABLES = {
    RelatedObject.DEAL: ("deals", True),
    RelatedObject.CONTACT: ("contacts", False),
    RelatedObject.TASK: ("tasks", True),
}


def task_row_id(key: str) -> str:
    """The id of the `tasks` row of a handoff task: derived from its key, so a second
    attempt at the same task collides with the first instead of adding a row. Hashed
    because a key is free text of any length (the key itself is in `rolesync_key`), and
    lower-case without spaces so the health gate's id-collision check passes it by."""
    return "rst-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def owner_refusal(conn: sqlite3.Connection, owner_id: str, who: str = "target owner") -> str | None:
    """Why `owner_id` cannot receive a record (absent or inactive), or None."""
    return refusal_of(owners_active(conn, [owner_id]), owner_id, who)


class RelatedWrites:
    """One `apply_related` call on an open book connection."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        batch_size: int | None,
        pause: float = 0.0,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.conn = conn
        self.path = path
        self.batch_size = batch_size  # None: grows with the write (batch_size_for)
        self.pause = pause  # seconds at each crash window (ROLESYNC_TEST_BATCH_DELAY_MS)
        self.progress = progress
        self.tables: frozenset[str] = frozenset()

    def apply(
        self,
        changes: Sequence[RelatedChange],
        tasks: Sequence[HandoffTask],
        journal: RelatedJournal | None,
    ) -> RelatedResult:
        """Per-entry outcomes in the result; a book error is one line naming the book,
        with the batch in flight rolled back (earlier batches stay, as journaled)."""
        try:
            # Read before any upgrade: a book without a contacts or tasks table has no
            # such record to carry, and adding the table must not pretend it had.
            self.tables = tables_of(self.conn)
            if journal is None:
                return self._all_at_once(changes, tasks)
            return self._journaled(changes, tasks, journal)
        except (sqlite3.Error, UnicodeDecodeError) as exc:  # a damaged owner id, say
            raise book_failure(self.path, "cannot write", exc) from None

    def _all_at_once(
        self, changes: Sequence[RelatedChange], tasks: Sequence[HandoffTask]
    ) -> RelatedResult:
        result = RelatedResult()
        with transaction(self.conn):
            self._move(self._decide_records(changes, result), result)
            if tasks and not has_task_keys(self.conn):
                add_related_tables(self.conn)
            self._create(self._decide_tasks(tasks, result), result)
            self._tick(len(changes) + len(tasks))
        return result

    def _journaled(
        self,
        changes: Sequence[RelatedChange],
        tasks: Sequence[HandoffTask],
        journal: RelatedJournal,
    ) -> RelatedResult:
        result = RelatedResult()
        batch_no = 0
        size = batch_size_for(len(changes), self.batch_size)
        for start in range(0, len(changes), size):
            batch = changes[start : start + size]
            _merge(result, self._record_batch(batch_no, batch, journal))
            batch_no += 1
        if tasks and not has_task_keys(self.conn):
            # Before the first task batch, so that its compare reads can find keys. A
            # schema change only: nothing to journal, and harmless if the run dies here.
            with transaction(self.conn):
                add_related_tables(self.conn)
        size = batch_size_for(len(tasks), self.batch_size)
        for start in range(0, len(tasks), size):
            task_batch = tasks[start : start + size]
            _merge(result, self._task_batch(batch_no, task_batch, journal))
            batch_no += 1
        return result

    def _record_batch(
        self, batch_no: int, batch: Sequence[RelatedChange], journal: RelatedJournal
    ) -> RelatedResult:
        """Compare first, journal the intent of the writes left, write them in one
        transaction (compare-and-set again inside it), journal the result."""
        done = RelatedResult()
        to_write = self._decide_records(batch, done)
        journal.intent(batch_no, to_write)
        crash_window(self.pause)
        with transaction(self.conn):
            # A human may have been quicker than the journal write.
            self._move(self._decide_records(to_write, done), done)
            crash_window(self.pause)
        crash_window(self.pause)
        journal.result(batch_no, done)
        self._tick(len(batch))
        return done

    def _task_batch(
        self, batch_no: int, batch: Sequence[HandoffTask], journal: RelatedJournal
    ) -> RelatedResult:
        """As `_record_batch`: a task whose key is in the book is not in the intent; one
        created by this batch before a crash is found by its key on the next attempt."""
        done = RelatedResult()
        to_create = self._decide_tasks(batch, done)
        journal.intent(batch_no, to_create)
        crash_window(self.pause)
        with transaction(self.conn):
            self._create(self._decide_tasks(to_create, done), done)
            crash_window(self.pause)
        crash_window(self.pause)
        journal.result(batch_no, done)
        self._tick(len(batch))
        return done

    # -- carried records ----------------------------------------------------------------

    def _decide_records(
        self, changes: Sequence[RelatedChange], done: RelatedResult
    ) -> list[RelatedChange]:
        """The records to write, read a table at a time; the outcome of each of the
        others goes into `done`. Inside the write transaction this is the compare of
        compare-and-set."""
        found: dict[RelatedObject, dict[str, Any]] = {}
        for kind, (table, closable) in _TABLES.items():
            ids = [c.record_id for c in changes if c.object is kind]
            if ids and table in self.tables:
                closed = "closed" if closable else "0"
                # Table and column names are constants of this module.
                select = f"SELECT id, owner_id, {closed} FROM {table} WHERE id IN"
                found[kind] = rows_by_id(self.conn, select, ids)
        owners = owners_active(self.conn, (c.to_owner_id for c in changes))
        to_write: list[RelatedChange] = []
        for change in changes:
            key = related_key(change)
            table, _ = _TABLES[change.object]
            if table not in self.tables:
                done.failed[key] = (
                    f"the book has no {table} table (written before {table} existed); "
                    f"import {table} first"
                )
                continue
            row = found.get(change.object, {}).get(change.record_id)
            if row is None:
                done.failed[key] = f"{change.object.value} no longer exists"
            elif row[0] == change.to_owner_id:
                done.already_applied.append(key)
            elif refusal := refusal_of(owners, change.to_owner_id):
                done.failed[key] = refusal
            elif row[1] or row[0] != change.from_owner_id:
                # Closed since the plan was made (a closed record never moves), or moved.
                done.conflicts[key] = row[0]
            else:
                to_write.append(change)
        return to_write

    def _move(self, changes: Sequence[RelatedChange], done: RelatedResult) -> None:
        """Write the records `_decide_records` passed in this same write transaction:
        the write lock held since BEGIN IMMEDIATE means nothing changed them in between."""
        for kind, (table, _) in _TABLES.items():
            # In id order: neighbouring rows share a page (ids are random; issue 19).
            rows = sorted(
                ((c.to_owner_id, c.record_id) for c in changes if c.object is kind),
                key=lambda row: row[1],
            )
            if rows:  # a book may have no such table, and then no such record to move
                self.conn.executemany(f"UPDATE {table} SET owner_id = ? WHERE id = ?", rows)
        done.applied.extend(related_key(c) for c in changes)

    # -- handoff tasks --------------------------------------------------------------------

    def _decide_tasks(self, tasks: Sequence[HandoffTask], done: RelatedResult) -> list[HandoffTask]:
        """The tasks to create, read in one go; the outcome of the others into `done`."""
        existing = rows_by_id(
            self.conn,
            "SELECT rolesync_key FROM tasks WHERE rolesync_key IN",
            (t.key for t in tasks),
        )
        accounts = rows_by_id(
            self.conn, "SELECT id FROM accounts WHERE id IN", (t.account_id for t in tasks)
        )
        owners = owners_active(self.conn, (t.owner_id for t in tasks))
        to_create: list[HandoffTask] = []
        for task in tasks:
            if task.key in existing:
                done.tasks_existing.append(task.key)
            elif task.account_id not in accounts:
                done.tasks_failed[task.key] = f"account {task.account_id} no longer exists"
            elif refusal := refusal_of(owners, task.owner_id, "assignee"):
                done.tasks_failed[task.key] = refusal
            else:
                to_create.append(task)
        return to_create

    def _create(self, tasks: Sequence[HandoffTask], done: RelatedResult) -> None:
        """Insert the tasks `_decide_tasks` passed, in this same write transaction. A task
        whose row id is taken (by a row without its key: imported, or hand-made) fails."""
        taken = set(
            rows_by_id(
                self.conn, "SELECT id FROM tasks WHERE id IN", (task_row_id(t.key) for t in tasks)
            )
        )
        rows = []
        for task in tasks:
            row_id = task_row_id(task.key)
            if row_id in taken:
                done.tasks_failed[task.key] = (
                    f"the book already holds a task {row_id} that is not this handoff's"
                )
                continue
            taken.add(row_id)
            done.tasks_created.append(task.key)
            rows.append(
                (
                    row_id,
                    task.account_id,
                    task.owner_id,
                    task.subject,
                    task.body,
                    task.due_date.isoformat(),
                    task.key,
                )
            )
        if not rows:
            return
        rows.sort()  # by row id: inserted in key order (see _move)
        self.conn.executemany(
            "INSERT INTO tasks (id, account_id, owner_id, subject, body, closed, due, "
            "rolesync_key) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
            rows,
        )

    def _tick(self, count: int) -> None:
        if self.progress is not None:
            self.progress(count)


def _merge(into: RelatedResult, part: RelatedResult) -> None:
    into.applied += part.applied
    into.already_applied += part.already_applied
    into.conflicts.update(part.conflicts)
    into.failed.update(part.failed)
    into.tasks_created += part.tasks_created
    into.tasks_existing += part.tasks_existing
    into.tasks_failed.update(part.tasks_failed)
