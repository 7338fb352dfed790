"""The state store: one SQLite file holding a profile's runs, apply journal, audit log
and round-robin positions (default `<state_dir>/state.db`; `state.path` in the profile).

Why SQLite and not files: the journal must be durable before each batch is written,
and the audit log must never get a change twice. A transaction per journal step and a
UNIQUE (run, account) constraint give both, across crashes, without fsync choreography.

Opened in WAL mode so that `rolesync runs` (a reader) never waits for a running sync,
with synchronous=FULL so a committed journal entry survives a power cut, not just a
killed process. Every write goes through `_write`, one explicit transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

from roleSync.plan import HandedOff, OwnershipChange
from roleSync.sync.store_archive import ArchiveAndHistory, RuleFiles, archive_rules
from roleSync.sync.store_db import SqliteDb, StoreDb, Tx
from roleSync.sync.store_file import StateError as StateError  # callers catch it from here
from roleSync.sync.store_file import open_store_file
from roleSync.sync.store_related import RelatedRecords, close_from_audit

DEFAULT_FILE = "state.db"


class Outcome:
    APPLIED = "applied"
    ALREADY = "already-applied"
    CONFLICT = "conflict"
    FAILED = "failed"
    # Journal only: sent or about to be retried, no final outcome yet.
    PENDING = "pending"


FINAL_OUTCOMES = (Outcome.APPLIED, Outcome.ALREADY, Outcome.CONFLICT, Outcome.FAILED)


class RunStatus:
    APPLYING = "applying"
    OK = "ok"
    FAILED = "failed"
    # Stopped by an exception after writing may have begun: finished by the next run.
    INTERRUPTED = "interrupted"
    STOPPED = "stopped-by-guardrail"
    # Given up by a person (`rolesync runs abandon`): journal and audit kept, never retried.
    ABANDONED = "abandoned"


# Runs the next run of the profile must reconcile and finish before doing its own.
UNFINISHED = (RunStatus.APPLYING, RunStatus.INTERRUPTED)


@dataclass(frozen=True, slots=True)
class RunRow:
    id: str
    profile: str
    mode: str
    started: str
    status: str
    rules_digest: str = ""
    planned: int = 0
    skipped: int = 0
    plan_path: str = ""
    parent_run: str | None = None
    message: str = ""
    finished: str | None = None
    applied: int = 0
    already_applied: int = 0
    conflicts: int = 0
    failed: int = 0
    report_path: str = ""


_RUN_COLUMNS = ", ".join(f.name for f in fields(RunRow))


@dataclass(frozen=True, slots=True)
class ChangeOutcome:
    """The final (or pending) outcome of one planned change."""

    change: OwnershipChange
    result: str
    found_owner: str | None = None
    error: str = ""


@dataclass(frozen=True, slots=True)
class AuditRow:
    seq: int
    run_id: str
    account_id: str
    account_name: str
    from_owner: str | None
    to_owner: str
    rule_id: str
    rules_digest: str
    reason: str
    at: str
    result: str
    found_owner: str | None
    error: str


def by_account(changes: Sequence[OwnershipChange]) -> list[OwnershipChange]:
    """In account order: a batch's rows written in index order dirty each index page
    once, not a random page per row (issue 19: account ids are random)."""
    return sorted(changes, key=lambda c: c.account_id)


def outcomes_by_account(outcomes: Sequence[ChangeOutcome]) -> list[ChangeOutcome]:
    return sorted(outcomes, key=lambda o: o.change.account_id)


_AUDIT_COLUMNS = ", ".join(f.name for f in fields(AuditRow))


class StateStore(RelatedRecords, ArchiveAndHistory):
    """The accounts' journal and audit here; carried records' and tasks' in RelatedRecords;
    the rules archive in ArchiveAndHistory."""

    def __init__(self, db: StoreDb, path: Path | None = None) -> None:
        self._db = db
        # The SQLite file; None for a PostgreSQL store (see `label`).
        self.path = path

    @property
    def db(self) -> StoreDb:
        return self._db

    @property
    def label(self) -> str:
        """What messages name: the file, or the database and schema."""
        return self._db.label

    @classmethod
    def open(cls, path: Path) -> StateStore:
        """Open and migrate the SQLite store at `path`, creating it (and its folder)
        only when no file is there; see `open_store_file`."""
        path = path.resolve()
        return cls(SqliteDb(open_store_file(path), path), path)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self) -> AbstractContextManager[Tx]:
        """One transaction; the store's own failures are a StateError naming it."""
        return self._db.write()

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        return self._db.read(sql, params)

    # -- meta and round-robin positions ----------------------------------------

    def meta(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def rotation(self, profile: str) -> dict[str, str]:
        rows = self._read(
            "SELECT route_id, owner_id FROM rotation WHERE profile = ? ORDER BY route_id",
            (profile,),
        )
        return {str(r): str(o) for r, o in rows}

    def save_rotation(self, profile: str, rotation: Mapping[str, str]) -> None:
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO rotation (profile, route_id, owner_id) VALUES (?, ?, ?) "
                "ON CONFLICT (profile, route_id) DO UPDATE SET owner_id = excluded.owner_id",
                [(profile, route, owner) for route, owner in sorted(rotation.items())],
            )

    def import_rotation(self, profile: str, rotation: Mapping[str, str], marker: str) -> bool:
        """Import positions from the old rotation.json once (`marker` names the import);
        positions the store already holds win. False if this import happened before."""
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM meta WHERE key = ?", (marker,)).fetchone():
                return False
            conn.executemany(
                "INSERT INTO rotation (profile, route_id, owner_id) VALUES (?, ?, ?) "
                "ON CONFLICT (profile, route_id) DO NOTHING",
                [(profile, route, owner) for route, owner in sorted(rotation.items())],
            )
            # DO NOTHING: PostgreSQL does not serialise writers as BEGIN IMMEDIATE does,
            # so two runs opening the store at once may both get here.
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (marker, profile),
            )
        return True

    # -- runs ------------------------------------------------------------------

    def begin_run(
        self, run: RunRow, rule_files: RuleFiles = (), plan_text: str | None = None
    ) -> None:
        """Record the run and archive `rule_files` (those of `run.rules_digest`) and its
        plan document `plan_text` with it (as sync.plan_pack stores it)."""
        with self._write() as conn:
            values = astuple(run)
            conn.execute(
                f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({', '.join('?' * len(values))})",
                values,
            )
            archive_rules(conn, run.rules_digest, rule_files, run.started)
            if plan_text is not None:
                conn.execute(
                    "INSERT INTO run_plans (run_id, plan) VALUES (?, ?)", (run.id, plan_text)
                )

    def run_plan(self, run_id: str) -> str | None:
        """The plan document stored with the run; None for a run without one."""
        rows = self._read("SELECT plan FROM run_plans WHERE run_id = ?", (run_id,))
        return str(rows[0][0]) if rows else None

    def set_status(self, run_id: str, status: str, *, message: str = "") -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, message = ? WHERE id = ?", (status, message, run_id)
            )

    def finish_run(
        self, run_id: str, *, status: str, finished: str, report_path: str, message: str = ""
    ) -> RunRow:
        """Close the run with counts taken from its audit rows, so they always agree."""
        with self._write() as conn:
            counts = dict(
                conn.execute(
                    "SELECT result, count(*) FROM audit WHERE run_id = ? GROUP BY result",
                    (run_id,),
                ).fetchall()
            )
            conn.execute(
                "UPDATE runs SET status = ?, finished = ?, report_path = ?, message = ?, "
                "applied = ?, already_applied = ?, conflicts = ?, failed = ? WHERE id = ?",
                (
                    status,
                    finished,
                    report_path,
                    message,
                    counts.get(Outcome.APPLIED, 0),
                    counts.get(Outcome.ALREADY, 0),
                    counts.get(Outcome.CONFLICT, 0),
                    counts.get(Outcome.FAILED, 0),
                    run_id,
                ),
            )
        run = self.run(run_id)
        assert run is not None
        return run

    def run(self, run_id: str) -> RunRow | None:
        rows = self._read(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        return RunRow(*rows[0]) if rows else None

    def runs(self, profile: str | None = None, limit: int | None = None) -> list[RunRow]:
        """Newest first; every profile's when `profile` is None."""
        where, params = ("WHERE profile = ?", [profile]) if profile else ("", [])
        # Started to the second: runs of one second (a script's sync, then its rollback)
        # keep the order they began in (rowid), not their ids' random suffixes.
        sql = f"SELECT {_RUN_COLUMNS} FROM runs {where} ORDER BY started DESC, rowid DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit):d}"
        return [RunRow(*row) for row in self._read(sql, params)]

    def unfinished_runs(self, profile: str) -> list[RunRow]:
        rows = self._read(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE profile = ? AND status IN (?, ?) "
            "ORDER BY started, rowid",
            (profile, *UNFINISHED),
        )
        return [RunRow(*row) for row in rows]

    # -- the apply journal -----------------------------------------------------

    def next_batch_no(self, run_id: str) -> int:
        rows = self._read(
            "SELECT coalesce(max(batch_no) + 1, 0) FROM journal WHERE run_id = ?", (run_id,)
        )
        return int(rows[0][0])

    def journal_intent(
        self, run_id: str, batch_no: int, changes: Sequence[OwnershipChange], at: str
    ) -> None:
        """Committed before the batch is written: after a crash, these accounts are the
        ones whose write may or may not have happened."""
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO journal (run_id, batch_no, account_id, from_owner, to_owner, "
                "intent_at) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (run_id, batch_no, c.account_id, c.from_owner_id, c.to_owner_id, at)
                    for c in by_account(changes)
                ],
            )

    def journal_result(
        self,
        run_id: str,
        batch_no: int,
        outcomes: Sequence[ChangeOutcome],
        *,
        rules_digest: str,
        at: str,
    ) -> None:
        """Complete a batch: its journal rows and the audit rows of its final outcomes in
        one transaction. Intended accounts without an outcome stay open as `pending`."""
        with self._write() as conn:
            conn.executemany(
                "UPDATE journal SET outcome = ?, result_at = ? "
                "WHERE run_id = ? AND batch_no = ? AND account_id = ?",
                [
                    (o.result, at, run_id, batch_no, o.change.account_id)
                    for o in outcomes_by_account(outcomes)
                ],
            )
            conn.execute(
                "UPDATE journal SET outcome = ?, result_at = ? "
                "WHERE run_id = ? AND batch_no = ? AND outcome IS NULL",
                (Outcome.PENDING, at, run_id, batch_no),
            )
            self._audit(conn, run_id, outcomes, rules_digest, at)

    def record_outcomes(
        self, run_id: str, outcomes: Sequence[ChangeOutcome], *, rules_digest: str, at: str
    ) -> None:
        """Audit final outcomes decided outside a journaled batch (a compare-and-set read
        that found a conflict, a reconciliation after a crash). First outcome wins."""
        with self._write() as conn:
            conn.executemany(
                "UPDATE journal SET outcome = ?, result_at = ? WHERE run_id = ? "
                "AND account_id = ? AND (outcome IS NULL OR outcome = ?)",
                [
                    (o.result, at, run_id, o.change.account_id, Outcome.PENDING)
                    for o in outcomes_by_account(outcomes)
                    if o.result in FINAL_OUTCOMES
                ],
            )
            self._audit(conn, run_id, outcomes, rules_digest, at)

    @staticmethod
    def _audit(
        conn: Tx,
        run_id: str,
        outcomes: Sequence[ChangeOutcome],
        rules_digest: str,
        at: str,
    ) -> None:
        # DO NOTHING on (run, account): a change already audited keeps its first outcome,
        # so re-reporting it (batch result, then the run's final result) cannot double it.
        conn.executemany(
            "INSERT INTO audit (run_id, account_id, account_name, from_owner, to_owner, "
            "rule_id, rules_digest, reason, at, result, found_owner, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, account_id) DO NOTHING",
            [
                (
                    run_id,
                    o.change.account_id,
                    o.change.account_name,
                    o.change.from_owner_id,
                    o.change.to_owner_id,
                    o.change.rule_id,
                    rules_digest,
                    o.change.reason,
                    at,
                    o.result,
                    o.found_owner,
                    o.error,
                )
                for o in outcomes_by_account(outcomes)
                if o.result in FINAL_OUTCOMES
            ],
        )

    def audit_outcomes(self, run_id: str) -> list[tuple[str, str, str | None, str]]:
        """The run's audited outcomes as (account, result, found owner, error), oldest
        first: the four columns finishing needs, not the whole row (issue 19)."""
        rows = self._read(
            "SELECT account_id, result, found_owner, error FROM audit WHERE run_id = ? "
            "ORDER BY seq",
            (run_id,),
        )
        return [(str(r[0]), str(r[1]), r[2], str(r[3])) for r in rows]

    def audited_accounts(self, run_id: str) -> set[str]:
        """Accounts of the run with a final outcome in the audit log."""
        rows = self._read("SELECT account_id FROM audit WHERE run_id = ?", (run_id,))
        return {str(r[0]) for r in rows}

    def close_audited(self, run_id: str, at: str) -> None:
        """Journal rows of the run left open (no outcome, or pending: a write retried in
        a later batch) whose account has its final outcome: closed with that outcome.
        One pass over the run's journal, instead of re-recording every outcome."""
        with self._write() as conn:
            close_from_audit(conn, "journal", "audit", "account_id", run_id, at)

    def intended_accounts(self, run_id: str) -> set[str]:
        """Accounts of the run that had a write journaled (sent or about to be)."""
        rows = self._read("SELECT DISTINCT account_id FROM journal WHERE run_id = ?", (run_id,))
        return {str(r[0]) for r in rows}

    # -- the audit log ---------------------------------------------------------

    def audit(self, run_id: str) -> list[AuditRow]:
        rows = self._read(
            f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE run_id = ? ORDER BY seq", (run_id,)
        )
        return [AuditRow(*row) for row in rows]

    def handed_off(self, profile: str) -> dict[str, HandedOff]:
        """Account id -> roleSync's last applied ownership write of it, for the planner."""
        last: dict[str, HandedOff] = {}
        for row in self.audit_of_profile(profile, Outcome.APPLIED):
            last[row.account_id] = HandedOff(row.to_owner, row.run_id)
        return last

    def audit_of_profile(self, profile: str, result: str | None = None) -> list[AuditRow]:
        """Every audit row of the profile's runs, oldest first."""
        columns = ", ".join(f"a.{c.strip()}" for c in _AUDIT_COLUMNS.split(","))
        sql = f"SELECT {columns} FROM audit a JOIN runs r ON r.id = a.run_id WHERE r.profile = ?"
        params: list[str] = [profile]
        if result is not None:
            sql += " AND a.result = ?"
            params.append(result)
        return [AuditRow(*row) for row in self._read(sql + " ORDER BY a.seq", params)]
