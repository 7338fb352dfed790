"""The journaled apply of the local book and crash recovery, deterministically: a run is
stopped dead at each crash window of a batch, then the next run reconciles the journal
against the book and finishes the plan. (test_kill9.py does the same with SIGKILL.)"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sync_helpers import AS_OF, Fixture, WrappedJournalAdapter, make_fixture

from roleSync.adapters.base import ApplyJournal, ApplyResult
from roleSync.adapters.local import LocalAdapter
from roleSync.cli import main
from roleSync.plan import OwnershipChange, Plan
from roleSync.profile import load_profile
from roleSync.sync.recovery import reconcile, recover
from roleSync.sync.runner import PlanRequest, apply_plan, make_plan
from roleSync.sync.state_open import open_state
from roleSync.sync.store import Outcome

# The same tests against both state stores (tests/pg_fixtures.py).
pytestmark = pytest.mark.usefixtures("state_backend")

NOW = datetime(2026, 6, 30, 9, 0, tzinfo=UTC)


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs."""


class CrashingJournal:
    def __init__(self, inner: ApplyJournal, at: tuple[str, int]) -> None:
        self.inner = inner
        self.at = at
        self.intents: list[list[str]] = []

    def intent(self, batch_no: int, changes: Sequence[OwnershipChange]) -> None:
        self.inner.intent(batch_no, changes)
        self.intents.append([c.account_id for c in changes])
        if self.at == ("intent", batch_no):
            raise Crash  # journaled, not written

    def result(self, batch_no: int, result: ApplyResult) -> None:
        if self.at == ("result", batch_no):
            raise Crash  # written and committed, result not journaled
        self.inner.result(batch_no, result)


def crash_a_run(fixture: Fixture, at: tuple[str, int]) -> Plan:
    profile = load_profile(fixture.profile)
    adapter = WrappedJournalAdapter(
        LocalAdapter(profile, now=NOW), lambda j: CrashingJournal(j, at)
    )
    plan = make_plan(PlanRequest(profile, [fixture.rules], AS_OF), adapter)
    with pytest.raises(Crash):
        apply_plan(
            profile,
            plan,
            adapter,
            book_accounts=plan.summary["accounts"],
            mode="sync",
            clock=lambda: NOW,
        )
    adapter.close()
    return plan


def applied_once(fixture: Fixture) -> dict[str, int]:
    rows = fixture.query(
        "SELECT account_id, count(*) FROM audit WHERE result = ? GROUP BY 1", "applied"
    )
    return dict(rows)


@pytest.mark.parametrize(
    "at", [("intent", 0), ("intent", 2), ("result", 0), ("result", 3)], ids=str
)
def test_a_run_dead_at_any_window_is_finished_exactly_by_the_next(
    tmp_path: Path, at: tuple[str, int]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=10)
    plan = crash_a_run(fixture, at)
    written = sum(1 for a, o in fixture.owners().items() if a.startswith("a-") and o != "h-0")
    assert written == min(10, 3 * (at[1] + (at[0] == "result")))
    ((run_id, status),) = fixture.query("SELECT id, status FROM runs")
    assert status == "interrupted"

    profile = load_profile(fixture.profile)
    with open_state(profile) as store, LocalAdapter(profile, now=NOW) as adapter:
        (report,) = recover(store, profile, adapter, clock=lambda: NOW)
        assert recover(store, profile, adapter, clock=lambda: NOW) == []  # nothing left
    assert report.run_id == run_id and report.planned == 10
    assert len(report.applied) == 10 and not (report.failed or report.conflicts)
    owners = fixture.owners()
    assert all(owners[c.account_id] == c.to_owner_id for c in plan.changes)
    assert applied_once(fixture) == {c.account_id: 1 for c in plan.changes}
    assert fixture.query("SELECT status FROM runs") == [("ok",)]
    # Every journal row has an outcome; batches continued after the crash's numbering.
    assert fixture.query("SELECT count(*) FROM journal WHERE outcome IS NULL") == [(0,)]


def test_a_human_edit_between_crash_and_recovery_is_a_conflict_never_overwritten(
    tmp_path: Path,
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=10)
    plan = crash_a_run(fixture, ("intent", 1))
    in_flight, later = plan.changes[4], plan.changes[8]  # journaled batch 1; batch 2
    human = {c.account_id: "f-1" if c.to_owner_id != "f-1" else "f-2" for c in (in_flight, later)}
    for account_id, owner in human.items():
        fixture.reassign(owner, account_id)
    profile = load_profile(fixture.profile)
    with open_state(profile) as store, LocalAdapter(profile, now=NOW) as adapter:
        (report,) = recover(store, profile, adapter, clock=lambda: NOW)
    assert {c.account_id: c.found for c in report.conflicts} == human
    assert len(report.applied) == 8
    owners = fixture.owners()
    assert {a: owners[a] for a in human} == human


def test_reapplying_a_finished_plan_and_crashing_counts_nothing_twice(tmp_path: Path) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=6)
    plan_file = tmp_path / "plan.json"
    assert main(["plan", *fixture.cli("sync")[1:], "-o", str(plan_file)]) == 0
    assert main([*fixture.cli("apply"), str(plan_file)]) == 0
    # The same plan again, dying after its first journal step: nothing of it was
    # ours to write (the precheck found every account at its target), so recovery
    # must not count a single one as applied by this run.
    profile = load_profile(fixture.profile)
    adapter = WrappedJournalAdapter(
        LocalAdapter(profile, now=NOW), lambda j: CrashingJournal(j, ("intent", 0))
    )
    with pytest.raises(Crash):
        stale = Plan.read(plan_file)
        apply_plan(
            profile,
            stale,
            adapter,
            book_accounts=stale.summary["accounts"],
            mode="apply",
            clock=lambda: NOW,
        )
    assert main([*fixture.cli("apply"), str(plan_file)]) == 0
    assert applied_once(fixture) == {c: 1 for c in applied_once(fixture)}
    assert len(applied_once(fixture)) == 6
    statuses = fixture.query("SELECT status, applied, already_applied FROM runs ORDER BY rowid")
    assert statuses == [("ok", 6, 0), ("ok", 0, 6), ("ok", 0, 6)]


def test_sync_finishes_an_interrupted_run_first_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=10)
    crash_a_run(fixture, ("result", 1))
    capsys.readouterr()
    assert main(fixture.cli("sync")) == 0
    err = capsys.readouterr().err
    assert (
        "was interrupted (interrupted); finishing it: 3 changes had an outcome, "
        "3 found applied, 4 to write, 0 conflicts"
    ) in err
    # The crashed run did it all; the sync after it found nothing left to do.
    assert fixture.query("SELECT status, planned, applied FROM runs ORDER BY rowid") == [
        ("ok", 10, 10),
        ("ok", 0, 0),
    ]
    assert len(applied_once(fixture)) == 10


def test_reconcile_decides_from_the_owner_found_and_the_intent() -> None:
    def change(n: int) -> OwnershipChange:
        return OwnershipChange(f"a{n}", "", "h", "f", "r", "why")

    changes = [change(n) for n in range(6)]
    current = {"a0": "f", "a1": "f", "a2": "h", "a3": "x", "a4": None}  # a5: deleted
    decided, again = reconcile(changes, current, intended={"a0", "a2"})
    assert [(d.change.account_id, d.result, d.found_owner) for d in decided] == [
        ("a0", Outcome.APPLIED, None),
        ("a1", Outcome.ALREADY, None),
        ("a3", Outcome.CONFLICT, "x"),
        ("a4", Outcome.CONFLICT, None),
        ("a5", Outcome.FAILED, None),
    ]
    assert again == [changes[2]]


def test_a_run_whose_plan_file_is_gone_is_finished_from_the_plan_in_the_store(
    tmp_path: Path,
) -> None:
    """A pod with no volume: the run folder died with the pod, the store did not."""
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=10)
    plan = crash_a_run(fixture, ("intent", 1))
    ((plan_path,),) = fixture.query("SELECT plan_path FROM runs")
    Path(plan_path).unlink()
    assert main(fixture.cli("sync")) == 0
    ((run_id, status),) = fixture.query("SELECT id, status FROM runs ORDER BY rowid LIMIT 1")
    assert status == "ok"
    assert applied_once(fixture) == {c.account_id: 1 for c in plan.changes}
    owners = fixture.owners()
    assert all(owners[c.account_id] == c.to_owner_id for c in plan.changes)
    assert fixture.query("SELECT count(*) FROM journal WHERE outcome IS NULL") == [(0,)]
    assert run_id
