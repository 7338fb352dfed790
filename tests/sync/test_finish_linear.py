"""Finishing a run stays linear in its changes (issue 19), measured without a clock.

A run of 1,000 and one of 10,000 ownership changes, each carrying one open deal and
creating one handoff task, are applied on a local book through `apply_plan` (apply,
carry, audit, report, run closed) with a state store whose connection counts the
statements it runs (`set_trace_callback`) and the SQLite virtual-machine instructions it
executes (`set_progress_handler`: rows visited by scans show up there, not in the
statement count). Ten times the changes must cost about ten times as much; before the
journal's (run, account) index and the in-memory related journal, the instructions grew
96-fold (a lookup per change scanning the run's whole journal).
"""

from __future__ import annotations

import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

# The book and rules benchmarks/finishing_scale.py times: this test counts the same run.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from finishing_scale import ROUTING, apply_handoffs, book

from builders import inputs
from roleSync.adapters.local import LocalAdapter
from roleSync.plan import build_plan
from roleSync.profile import Profile
from roleSync.sync.migrations import MIGRATIONS, migrate
from roleSync.sync.store import StateStore
from store_cost import Cost, assert_grows_linearly, counted_store

AS_OF_TIME = datetime(2026, 6, 30, 12, tzinfo=UTC)


def _run_cost(folder: Path, changes: int) -> Cost:
    """The state store's cost of applying and finishing a run of `changes` handoffs."""
    folder.mkdir()
    profile = Profile.for_local_book(book(folder, changes), name="test")
    with LocalAdapter(profile, now=lambda: AS_OF_TIME) as adapter:
        plan = build_plan(adapter.pull(), inputs(ROUTING))
        assert len(plan.changes) == changes
        assert len(plan.related_changes) == changes and len(plan.task_creates) == changes
        with counted_store(folder / "state.db") as (store, cost):
            report = apply_handoffs(profile, plan, adapter, store=store)
    assert report.ok
    assert len(report.applied) == changes
    assert sum(r.result == "applied" for r in report.related) == changes
    assert sum(t.result == "created" for t in report.tasks) == changes
    return cost


def test_finishing_a_run_grows_linearly_with_its_changes(tmp_path: Path) -> None:
    # Measured: statements 9.90x, instructions 9.99x (before the fix: 9.98x, 96.37x).
    assert_grows_linearly(_run_cost, tmp_path)


def test_the_journal_lookups_use_an_index(tmp_path: Path) -> None:
    """The statements that find a run's journal rows by account or entry are answered by
    an index search, never by a scan of the run's journal: in a store made before the
    indexes (schema 3) too, once opened."""
    old = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    old.execute("PRAGMA journal_mode = WAL")
    migrate(old, MIGRATIONS[:3])
    old.execute(
        "INSERT INTO journal (run_id, batch_no, account_id, to_owner, intent_at) "
        "VALUES ('r', 0, 'a', 'f', '2026-06-30')"
    )
    old.close()
    with StateStore.open(tmp_path / "state.db") as store:
        assert store.intended_accounts("r") == {"a"}
        conn = sqlite3.connect(tmp_path / "state.db")
        try:
            for sql in (
                "UPDATE journal SET outcome = 'x' WHERE run_id = 'r' AND account_id = 'a' "
                "AND (outcome IS NULL OR outcome = 'pending')",
                "UPDATE related_journal SET outcome = 'x' WHERE run_id = 'r' AND entry = 'e' "
                "AND (outcome IS NULL OR outcome = 'pending')",
            ):
                plan = " / ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
                assert "USING" in plan and "INDEX" in plan and "SCAN" not in plan, plan
                assert "account_id=?" in plan or "entry=?" in plan, plan
        finally:
            conn.close()
