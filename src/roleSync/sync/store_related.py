"""The state store's part for what a handoff carries: the journal and audit log of the
carried records (routing.yaml `carry`) and of the handoff tasks (`tasks`).

Kept like the accounts' (sync.store): a journal row per entry per batch, written before
the batch is sent and completed after it; an audit row per entry per run, its first
final outcome winning (UNIQUE (run, entry)), so a run finished in two goes (killed, then
completed by the next run) audits each record and each task exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from operator import itemgetter
from typing import Any

from roleSync.plan.types import HandoffTask, RelatedChange, related_key, task_key
from roleSync.sync.store_db import Tx

HANDOFF_TASK = "handoff-task"
# Journal only: sent, no final outcome yet.
PENDING = "pending"

# Statements' rows are sent in entry order (the key's place in each tuple): entries are
# random record ids, and a batch written in key order dirties neighbouring index pages
# once each instead of a random page per row (issue 19: 1M book, 930k entries).
_SECOND = itemgetter(1)
_FOURTH = itemgetter(3)
_LAST = itemgetter(4)


@dataclass(frozen=True, slots=True)
class RelatedRow:
    """One audit row: a carried record's or a handoff task's final outcome in a run."""

    seq: int
    run_id: str
    entry: str
    object: str
    record_id: str
    account_id: str
    from_owner: str | None
    to_owner: str
    handoff_id: str
    trigger: str
    reason: str
    at: str
    result: str
    found_owner: str | None
    error: str


_COLUMNS = ", ".join(f.name for f in fields(RelatedRow))


@dataclass(frozen=True, slots=True)
class RelatedOutcomeRow:
    """A final outcome to audit for one planned record or task (see report codes)."""

    entry: RelatedChange | HandoffTask
    result: str
    found_owner: str | None = None
    error: str = ""


def close_from_audit(conn: Tx, journal: str, audit: str, key: str, run_id: str, at: str) -> None:
    """Close the run's `journal` rows left open (no outcome, or pending) whose `key` has
    its final outcome in `audit`, with that outcome: one pass over the run's journal,
    for the accounts' journal and the related one alike (names: the store's constants)."""
    audited = (
        f"SELECT result FROM {audit} a "
        f"WHERE a.run_id = {journal}.run_id AND a.{key} = {journal}.{key}"
    )
    conn.execute(
        f"UPDATE {journal} SET outcome = ({audited}), result_at = ? "
        f"WHERE run_id = ? AND (outcome IS NULL OR outcome = ?) AND EXISTS ({audited})",
        (at, run_id, PENDING),
    )


def entry_key(entry: RelatedChange | HandoffTask) -> str:
    return task_key(entry) if isinstance(entry, HandoffTask) else related_key(entry)


def _audit_values(run_id: str, outcome: RelatedOutcomeRow, at: str) -> tuple[Any, ...]:
    entry = outcome.entry
    if isinstance(entry, HandoffTask):
        return (
            run_id,
            entry_key(entry),
            HANDOFF_TASK,
            entry.key,
            entry.account_id,
            None,
            entry.owner_id,
            entry.handoff_id,
            entry.trigger,
            entry.subject,
            at,
            outcome.result,
            None,
            outcome.error,
        )
    return (
        run_id,
        entry_key(entry),
        entry.object.value,
        entry.record_id,
        entry.account_id,
        entry.from_owner_id,
        entry.to_owner_id,
        entry.handoff_id,
        entry.trigger,
        entry.reason,
        at,
        outcome.result,
        outcome.found_owner,
        outcome.error,
    )


class RelatedRecords:
    """Mixed into StateStore, which supplies `_write` and `_read`."""

    def _write(self) -> AbstractContextManager[Tx]:
        raise NotImplementedError

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        raise NotImplementedError

    def next_related_batch_no(self, run_id: str) -> int:
        rows = self._read(
            "SELECT coalesce(max(batch_no) + 1, 0) FROM related_journal WHERE run_id = ?",
            (run_id,),
        )
        return int(rows[0][0])

    def related_intent(
        self,
        run_id: str,
        batch_no: int,
        entries: Sequence[RelatedChange | HandoffTask],
        at: str,
    ) -> None:
        """Committed before the batch is written: after a crash, these entries are the
        ones whose write (or creation) may or may not have happened."""
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO related_journal (run_id, batch_no, entry, intent_at) "
                "VALUES (?, ?, ?, ?)",
                sorted((run_id, batch_no, entry_key(e), at) for e in entries),
            )

    def related_result(
        self, run_id: str, batch_no: int, outcomes: Sequence[RelatedOutcomeRow], at: str
    ) -> None:
        """Complete a batch: its journal rows and the audit rows of its final outcomes in
        one transaction. Entries of the intent without an outcome stay `pending`."""
        with self._write() as conn:
            conn.executemany(
                "UPDATE related_journal SET outcome = ?, result_at = ? "
                "WHERE run_id = ? AND batch_no = ? AND entry = ?",
                sorted(
                    ((o.result, at, run_id, batch_no, entry_key(o.entry)) for o in outcomes),
                    key=_LAST,
                ),
            )
            conn.execute(
                "UPDATE related_journal SET outcome = ?, result_at = ? "
                "WHERE run_id = ? AND batch_no = ? AND outcome IS NULL",
                (PENDING, at, run_id, batch_no),
            )
            self._related_audit(conn, run_id, outcomes, at)

    def record_related(self, run_id: str, outcomes: Sequence[RelatedOutcomeRow], at: str) -> None:
        """Audit final outcomes decided outside a journaled batch (a compare-and-set
        read, a reconciliation after a crash), closing the journal rows they left open.
        First outcome wins."""
        with self._write() as conn:
            conn.executemany(
                "UPDATE related_journal SET outcome = ?, result_at = ? WHERE run_id = ? "
                "AND entry = ? AND (outcome IS NULL OR outcome = ?)",
                sorted(
                    ((o.result, at, run_id, entry_key(o.entry), PENDING) for o in outcomes),
                    key=_FOURTH,
                ),
            )
            self._related_audit(conn, run_id, outcomes, at)

    @staticmethod
    def _related_audit(
        conn: Tx, run_id: str, outcomes: Sequence[RelatedOutcomeRow], at: str
    ) -> None:
        conn.executemany(
            "INSERT INTO related_audit (run_id, entry, object, record_id, account_id, "
            "from_owner, to_owner, handoff_id, trigger, reason, at, result, found_owner, "
            "error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, entry) DO NOTHING",
            sorted((_audit_values(run_id, o, at) for o in outcomes), key=_SECOND),
        )

    def close_related_audited(self, run_id: str, at: str) -> None:
        """Journal rows of the run left open (no outcome, or pending) whose entry has its
        final outcome: closed with that outcome, in one pass over the run's journal."""
        with self._write() as conn:
            close_from_audit(conn, "related_journal", "related_audit", "entry", run_id, at)

    def related_intended(self, run_id: str) -> set[str]:
        """Entries of the run that had a write (or a creation) journaled."""
        rows = self._read("SELECT DISTINCT entry FROM related_journal WHERE run_id = ?", (run_id,))
        return {str(r[0]) for r in rows}

    def related_audited(self, run_id: str) -> set[str]:
        """Entries of the run with an audited outcome (their keys alone: cheaper than
        `related_audit` on a run of hundreds of thousands)."""
        rows = self._read("SELECT entry FROM related_audit WHERE run_id = ?", (run_id,))
        return {str(r[0]) for r in rows}

    def related_outcomes(self, run_id: str) -> dict[str, tuple[str, str | None, str]]:
        """Entry -> (result, found owner, error) of the run's audited outcomes: what the
        report needs of each, not the whole row (a 1M book's run: 645k rows; issue 19)."""
        rows = self._read(
            "SELECT entry, result, found_owner, error FROM related_audit WHERE run_id = ?",
            (run_id,),
        )
        return {str(r[0]): (str(r[1]), r[2], str(r[3])) for r in rows}

    def related_audit(self, run_id: str) -> list[RelatedRow]:
        rows = self._read(
            f"SELECT {_COLUMNS} FROM related_audit WHERE run_id = ? ORDER BY seq", (run_id,)
        )
        return [RelatedRow(*row) for row in rows]
