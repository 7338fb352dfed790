"""Rolling back a run, and finishing a run killed in the middle of its apply, stay
linear in the run's changes (issue 19), measured without a clock.

The same book and rules as tests/sync/test_finish_linear.py (benchmarks/
finishing_scale.py): runs of 1,000 and 10,000 ownership changes, each carrying one open
deal and creating one handoff task. Each cost is counted on a state store whose
connection counts its statements and SQLite virtual-machine instructions
(tests/store_cost.py), around only the part being measured:

- recovery: a run dies (an exception standing for SIGKILL) right after journaling the
  intent of the middle batch of its apply; then `recover` reconciles that batch against
  the book, writes the rest, carries every record and task, and closes the run;
- rollback: `rolesync rollback`'s reverse plan of a finished run, applied.

Ten times the changes must cost about ten times as much (at most RATIO).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from finishing_scale import ROUTING, apply_handoffs, book

from builders import inputs
from roleSync.adapters.base import ApplyJournal, ApplyResult
from roleSync.adapters.local import LocalAdapter
from roleSync.adapters.local_batch import batch_size_for
from roleSync.plan import OwnershipChange, build_plan
from roleSync.plan.types import MetricWrite
from roleSync.profile import Profile
from roleSync.sync.recovery import recover
from roleSync.sync.rollback import decide
from roleSync.sync.runner import apply_plan
from roleSync.sync.store import StateStore
from store_cost import Cost, assert_grows_linearly, counted_store

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, nothing catches it."""


class DiesAtIntent:
    """A journal that dies right after journaling the intent of batch `at`."""

    def __init__(self, inner: ApplyJournal, at: int) -> None:
        self.inner = inner
        self.at = at

    def intent(self, batch_no: int, changes: Sequence[OwnershipChange]) -> None:
        self.inner.intent(batch_no, changes)
        if batch_no == self.at:
            raise Killed

    def result(self, batch_no: int, result: ApplyResult) -> None:
        self.inner.result(batch_no, result)


class DyingAdapter(LocalAdapter):
    """The local adapter, whose apply dies in the middle of its batches."""

    def apply(
        self,
        changes: Sequence[OwnershipChange],
        metric_writes: Sequence[MetricWrite],
        journal: ApplyJournal | None = None,
    ) -> ApplyResult:
        assert journal is not None
        middle = -(-len(changes) // batch_size_for(len(changes), self.batch_size)) // 2
        return super().apply(changes, metric_writes, DiesAtIntent(journal, middle))


def _run(folder: Path, changes: int, *, dies: bool) -> tuple[Profile, str]:
    """A sync of `changes` handoffs on a fresh book, finished or killed mid-apply."""
    folder.mkdir()
    profile = Profile.for_local_book(book(folder, changes), name="test")
    kind = DyingAdapter if dies else LocalAdapter
    with kind(profile, now=lambda: NOW) as adapter, StateStore.open(folder / "s.db") as store:
        plan = build_plan(adapter.pull(), inputs(ROUTING))
        assert len(plan.changes) == changes and len(plan.task_creates) == changes

        if dies:
            with pytest.raises(Killed):
                apply_handoffs(profile, plan, adapter, store=store)
        else:
            apply_handoffs(profile, plan, adapter, store=store)
        (run,) = store.runs(profile.name)
    return profile, run.id


def _recovery_cost(folder: Path, changes: int) -> Cost:
    profile, run_id = _run(folder, changes, dies=True)
    adapter = LocalAdapter(profile, now=lambda: NOW)
    with adapter, counted_store(folder / "s.db") as (store, cost):
        (report,) = recover(store, profile, adapter, clock=lambda: NOW)
    assert report.run_id == run_id and report.ok
    assert len(report.applied) == changes
    assert sum(r.result == "applied" for r in report.related) == changes
    assert sum(t.result == "created" for t in report.tasks) == changes
    return cost


def _rollback_cost(folder: Path, changes: int) -> Cost:
    profile, run_id = _run(folder, changes, dies=False)
    adapter = LocalAdapter(profile, now=lambda: NOW)
    with adapter, counted_store(folder / "s.db") as (store, cost):
        plan, accounts = decide(store, profile, run_id, adapter, NOW.date())
        report = apply_plan(
            profile,
            plan,
            adapter,
            mode="rollback",
            book_accounts=accounts,
            allow_large=True,
            store=store,
            clock=lambda: NOW,
            parent_run=run_id,
        )
    assert len(report.applied) == changes  # every account back with the hunter
    assert sum(r.result == "applied" for r in report.related) == changes
    return cost


def test_finishing_a_run_killed_mid_apply_grows_linearly(tmp_path: Path) -> None:
    # Measured: statements 9.64x, instructions 9.60x.
    assert_grows_linearly(_recovery_cost, tmp_path)


def test_rolling_back_a_run_grows_linearly(tmp_path: Path) -> None:
    # Measured: statements 9.88x, instructions 9.99x.
    assert_grows_linearly(_rollback_cost, tmp_path)
