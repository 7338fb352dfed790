"""The second phase of a run (the records a handoff carries) is journaled and finished
after a crash like the accounts: a run stopped dead at each crash window of a related
batch is finished exactly by the next one; every record moved once, audited once."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sync_helpers import AS_OF, Fixture, make_fixture

from roleSync.adapters.base import (
    ApplyJournal,
    ApplyResult,
    RelatedJournal,
    RelatedResult,
)
from roleSync.adapters.local import LocalAdapter
from roleSync.model import Book, DealWindow
from roleSync.plan import MetricWrite, OwnershipChange, Plan
from roleSync.plan.types import HandoffTask, RelatedChange
from roleSync.profile import load_profile
from roleSync.sync.recovery import recover
from roleSync.sync.runner import PlanRequest, apply_plan, make_plan
from roleSync.sync.state_open import open_state

# The same tests against both state stores (tests/pg_fixtures.py).
pytestmark = pytest.mark.usefixtures("state_backend")

NOW = datetime(2026, 6, 30, 9, 0, tzinfo=UTC)
CARRY = "  carry:\n    - deals: {kinds: [renewal]}\n    - contacts: all\n"


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs."""


class CrashingRelatedJournal:
    def __init__(self, inner: RelatedJournal, at: tuple[str, int]) -> None:
        self.inner = inner
        self.at = at

    def intent(self, batch_no: int, entries: Sequence[RelatedChange | HandoffTask]) -> None:
        self.inner.intent(batch_no, entries)
        if self.at == ("intent", batch_no):
            raise Crash  # journaled, not written

    def result(self, batch_no: int, result: RelatedResult) -> None:
        if self.at == ("result", batch_no):
            raise Crash  # written and committed, result not journaled
        self.inner.result(batch_no, result)


class CrashInRelated:
    """The local adapter, related records in batches of 4, crashing at `at`."""

    def __init__(self, inner: LocalAdapter, at: tuple[str, int]) -> None:
        self.inner = inner
        self.inner.batch_size = 4
        self.at = at

    def pull(self, window: DealWindow | None = None) -> Book:
        return self.inner.pull(window)

    def apply(
        self,
        changes: Sequence[OwnershipChange],
        metric_writes: Sequence[MetricWrite],
        journal: ApplyJournal | None = None,
    ) -> ApplyResult:
        return self.inner.apply(changes, metric_writes, journal)

    def apply_related(
        self,
        changes: Sequence[RelatedChange],
        tasks: Sequence[HandoffTask],
        journal: RelatedJournal | None = None,
    ) -> RelatedResult:
        assert journal is not None
        return self.inner.apply_related(changes, tasks, CrashingRelatedJournal(journal, self.at))

    def close(self) -> None:
        self.inner.close()


def _fixture(tmp_path: Path) -> Fixture:
    """One hunter's 6 freshly won accounts, each with an open renewal and a contact."""
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=6)
    con = sqlite3.connect(fixture.book)
    with con:
        ids = [r[0] for r in con.execute("SELECT id FROM accounts WHERE owner_id = 'h-0'")]
        con.executemany(
            "INSERT INTO deals (id, account_id, owner_id, kind, stage, closed, won, amount, "
            "created) VALUES (?, ?, 'h-0', 'Renewal', 'Proposal', 0, 0, 10, '2026-06-01')",
            [(f"r-{a}", a) for a in ids],
        )
        con.executemany(
            "INSERT INTO contacts (id, account_id, owner_id) VALUES (?, ?, 'h-0')",
            [(f"c-{a}", a) for a in ids],
        )
    con.close()
    fixture.set_routing(extra=CARRY)
    return fixture


def _record_owners(fixture: Fixture) -> dict[str, str | None]:
    con = sqlite3.connect(fixture.book)
    try:
        rows = con.execute(
            "SELECT id, owner_id FROM deals WHERE id LIKE 'r-%' "
            "UNION ALL SELECT id, owner_id FROM contacts"
        ).fetchall()
        return dict(rows)
    finally:
        con.close()


def _crash(fixture: Fixture, at: tuple[str, int]) -> Plan:
    profile = load_profile(fixture.profile)
    adapter = CrashInRelated(LocalAdapter(profile, now=NOW), at)
    plan = make_plan(PlanRequest(profile, [fixture.rules], AS_OF), adapter)
    assert len(plan.related_changes) == 12
    with pytest.raises(Crash):
        apply_plan(
            profile, plan, adapter, book_accounts=plan.summary["accounts"], mode="sync",
            clock=lambda: NOW,
        )  # fmt: skip
    adapter.close()
    return plan


@pytest.mark.parametrize(
    "at", [("intent", 0), ("intent", 2), ("result", 0), ("result", 2)], ids=str
)
def test_a_run_dead_in_its_related_phase_is_finished_exactly_by_the_next(
    tmp_path: Path, at: tuple[str, int]
) -> None:
    fixture = _fixture(tmp_path)
    plan = _crash(fixture, at)
    moved = sum(o != "h-0" for o in _record_owners(fixture).values())
    assert moved == 4 * (at[1] + (at[0] == "result"))  # batches of 4, committed or not
    ((run_id, status),) = fixture.query("SELECT id, status FROM runs")
    assert status == "interrupted"
    # The accounts were all written and audited before the related phase began.
    assert fixture.query("SELECT count(*) FROM audit WHERE result = 'applied'") == [(6,)]

    profile = load_profile(fixture.profile)
    with open_state(profile) as store, LocalAdapter(profile, now=NOW) as adapter:
        (report,) = recover(store, profile, adapter, clock=lambda: NOW)
        assert recover(store, profile, adapter, clock=lambda: NOW) == []
    assert report.run_id == run_id
    assert [r.result for r in report.related] == ["applied"] * 12
    targets = {r.record_id: r.to_owner_id for r in plan.related_changes}
    assert _record_owners(fixture) == targets
    audited = fixture.query(
        "SELECT entry, count(*) FROM related_audit WHERE result = 'applied' GROUP BY 1"
    )
    assert len(audited) == 12 and {n for _, n in audited} == {1}
    assert fixture.query("SELECT status FROM runs") == [("ok",)]
    assert fixture.query("SELECT count(*) FROM related_journal WHERE outcome IS NULL") == [(0,)]


def test_records_of_an_account_that_did_not_move_stay_and_are_audited_skipped(
    tmp_path: Path,
) -> None:
    fixture = _fixture(tmp_path)
    profile = load_profile(fixture.profile)
    with LocalAdapter(profile, now=NOW) as adapter:
        plan = make_plan(PlanRequest(profile, [fixture.rules], AS_OF), adapter)
        taken = plan.changes[0].account_id
        fixture.reassign("f-3", taken)  # a person was quicker: the account is a conflict
        report = apply_plan(
            profile, plan, adapter, book_accounts=plan.summary["accounts"], mode="sync",
            clock=lambda: NOW,
        )  # fmt: skip
    skipped = {r.record_id: r for r in report.related if r.result == "skipped"}
    assert set(skipped) == {f"r-{taken}", f"c-{taken}"}
    assert all("did not move (conflict)" in r.error for r in skipped.values())
    owners = _record_owners(fixture)
    assert owners[f"r-{taken}"] == owners[f"c-{taken}"] == "h-0"
    assert sum(r.result == "applied" for r in report.related) == 10
    assert report.ok  # a conflict is no failure, and neither are the records it kept
