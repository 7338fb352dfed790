"""The state store's schema, as an ordered list of migrations.

`PRAGMA user_version` holds the number of migrations applied. Opening a store applies
the missing ones in order, each in its own transaction together with the version bump,
so a crash mid-migration leaves the previous version intact. A store whose version is
newer than this roleSync knows is refused rather than guessed at: an older roleSync
writing into a newer schema could lose what the newer one relies on.

Migrations are append-only: never edit one that has shipped, add the next.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

# 5 (issue 19): finishing a run looks journal rows up by (run, account) and related
# journal rows by (run, entry), which the primary keys (run, batch, ...) cannot answer
# without scanning the run's whole journal: quadratic in the run's changes. Kept as its
# own entry so that renumbering it against another branch's migration is one line.
FINISH_INDEXES: Sequence[str] = (
    # With the outcome: the lookups filter on it, and without it in the index SQLite
    # prefers the primary key's (run_id) prefix, a scan of the run's journal.
    "CREATE INDEX journal_by_account ON journal (run_id, account_id, outcome)",
    "CREATE INDEX related_journal_by_entry ON related_journal (run_id, entry, outcome)",
)

# Index i holds the statements that take the schema from version i to version i + 1.
MIGRATIONS: Sequence[Sequence[str]] = (
    (
        """CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
        # One row per run: sync, apply or rollback. Counts are filled when it finishes.
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            profile TEXT NOT NULL,
            mode TEXT NOT NULL,                -- sync | apply | rollback
            started TEXT NOT NULL,             -- ISO datetime, UTC
            finished TEXT,
            status TEXT NOT NULL,              -- applying | ok | failed | interrupted
                                               -- | stopped-by-guardrail
            rules_digest TEXT NOT NULL DEFAULT '',
            planned INTEGER NOT NULL DEFAULT 0,
            applied INTEGER NOT NULL DEFAULT 0,
            already_applied INTEGER NOT NULL DEFAULT 0,
            conflicts INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            plan_path TEXT NOT NULL DEFAULT '',
            report_path TEXT NOT NULL DEFAULT '',
            parent_run TEXT,                   -- rollback: the run it undoes
            message TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX runs_by_profile ON runs (profile, started)",
        # The apply journal: a row per account per batch, written before the batch is
        # sent (outcome NULL) and completed after it. NULL after a crash means "we
        # may or may not have written this": the next run reads the CRM to find out.
        """CREATE TABLE journal (
            run_id TEXT NOT NULL,
            batch_no INTEGER NOT NULL,
            account_id TEXT NOT NULL,
            from_owner TEXT,
            to_owner TEXT NOT NULL,
            intent_at TEXT NOT NULL,
            outcome TEXT,                      -- NULL | applied | already-applied
                                               -- | conflict | failed | pending
            result_at TEXT,
            PRIMARY KEY (run_id, batch_no, account_id)
        ) WITHOUT ROWID""",
        # The audit log: the final outcome of every planned change, once per run and
        # account (the primary key makes a second final outcome impossible).
        """CREATE TABLE audit (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL,
            account_id TEXT NOT NULL,
            account_name TEXT NOT NULL DEFAULT '',
            from_owner TEXT,
            to_owner TEXT NOT NULL,
            rule_id TEXT NOT NULL,
            rules_digest TEXT NOT NULL,
            reason TEXT NOT NULL,
            at TEXT NOT NULL,
            result TEXT NOT NULL,              -- applied | already-applied | conflict | failed
            found_owner TEXT,                  -- conflict: the owner found in the CRM
            error TEXT NOT NULL DEFAULT '',
            UNIQUE (run_id, account_id)
        )""",
        "CREATE INDEX audit_by_account ON audit (account_id, seq)",
        # Where each round-robin route left off, per profile (was rotation.json).
        """CREATE TABLE rotation (
            profile TEXT NOT NULL,
            route_id TEXT NOT NULL,
            owner_id TEXT NOT NULL,
            PRIMARY KEY (profile, route_id)
        ) WITHOUT ROWID""",
    ),
    # 2: what a handoff carries (routing.yaml `carry`) and the tasks it creates (`tasks`).
    (
        # Like `journal`, keyed by entry: "deal:006...", "contact:...", "task:...", or
        # "handoff-task:<key>". Its own batch numbers: a run's record and task batches come
        # after its account batches.
        """CREATE TABLE related_journal (
            run_id TEXT NOT NULL,
            batch_no INTEGER NOT NULL,
            entry TEXT NOT NULL,
            intent_at TEXT NOT NULL,
            outcome TEXT,                      -- NULL | applied | created | ... | pending
            result_at TEXT,
            PRIMARY KEY (run_id, batch_no, entry)
        ) WITHOUT ROWID""",
        # The final outcome of every carried record and handoff task, once per run.
        """CREATE TABLE related_audit (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL,
            entry TEXT NOT NULL,
            object TEXT NOT NULL,              -- deal | contact | task | handoff-task
            record_id TEXT NOT NULL,           -- a handoff task: its key
            account_id TEXT NOT NULL,
            from_owner TEXT,                   -- a handoff task: NULL
            to_owner TEXT NOT NULL,            -- a handoff task: its assignee
            handoff_id TEXT NOT NULL DEFAULT '',
            trigger TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL DEFAULT '',   -- a handoff task: its subject
            at TEXT NOT NULL,
            result TEXT NOT NULL,              -- applied | already-applied | conflict | failed
                                               -- | skipped | created | already-created
            found_owner TEXT,
            error TEXT NOT NULL DEFAULT '',
            UNIQUE (run_id, entry)
        )""",
        "CREATE INDEX related_audit_by_record ON related_audit (record_id, seq)",
    ),
    # 3: the rule files each run used, once per digest (`explain --run` reads them back).
    (
        """CREATE TABLE rules_archive (
            digest TEXT PRIMARY KEY,           -- runs.rules_digest
            files TEXT NOT NULL,               -- JSON: [{"name": ..., "text": ...}], digest order
            stored_at TEXT NOT NULL            -- ISO datetime, UTC: the first run that used them
        )""",
    ),
    # 4: each run's plan, beside its plan.json: a host without the run folder (a pod with
    # no volume, its state in PostgreSQL) can still finish an interrupted run.
    (
        """CREATE TABLE run_plans (
            run_id TEXT PRIMARY KEY,           -- runs.id
            plan TEXT NOT NULL                 -- the plan document, as in plan.json
        ) WITHOUT ROWID""",
    ),
    # 5: indexes for finishing a run (issue 19; see FINISH_INDEXES).
    FINISH_INDEXES,
)

SCHEMA_VERSION = len(MIGRATIONS)


class NewerSchemaError(Exception):
    def __init__(self, found: int) -> None:
        super().__init__(
            f"state schema version {found} is newer than this roleSync understands "
            f"({SCHEMA_VERSION}); upgrade roleSync"
        )
        self.found = found


def schema_version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def migrate(conn: sqlite3.Connection, migrations: Sequence[Sequence[str]] = MIGRATIONS) -> int:
    """Bring the schema up to `len(migrations)`; the version found before. `conn` must be
    in autocommit mode (isolation_level=None): each step is one explicit transaction."""
    target = len(migrations)
    start = schema_version(conn)
    if start > target:
        raise NewerSchemaError(start)
    while (version := schema_version(conn)) < target:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            if schema_version(conn) != version:
                conn.execute("ROLLBACK")
                continue
            for statement in migrations[version]:
                conn.execute(statement)
            # user_version lives in the database header and is part of the transaction.
            conn.execute(f"PRAGMA user_version = {version + 1:d}")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return start
