"""Run reports account for every planned change."""

from __future__ import annotations

from datetime import date, datetime

from builders import AS_OF, account, inputs, owner, routing, won
from roleSync.adapters.base import ApplyResult
from roleSync.model import Book, DealKind
from roleSync.plan import build_plan
from roleSync.sync.report import Conflict, Failure, build_report

ROUTE = {"id": "all", "assign": {"pool": {"role": "farmer"}}}


def test_changes_the_adapter_says_nothing_about_are_reported_failed() -> None:
    owners = [owner("hank"), owner("fran")]
    accounts = [account(f"c{i}", "hank") for i in range(4)] + [account("f0", "fran")]
    deals = [won(f"d{i}", f"c{i}", "hank", date(2026, 5, 1)) for i in range(4)]
    deals.append(won("e0", "f0", "fran", date(2026, 5, 1), DealKind.EXPANSION))
    plan = build_plan(Book(owners, accounts, deals), inputs(routing(ROUTE)))
    assert [c.account_id for c in plan.changes] == ["c0", "c1", "c2", "c3"]
    result = ApplyResult(applied=["c0"], already_applied=["c1"], conflicts={"c2": "zed"})
    stamp = datetime(2026, 6, 30, 12, 0)
    report = build_report(plan, result, run_id="r1", mode="sync", started=stamp, finished=stamp)
    assert [c.account_id for c in report.applied] == ["c0"]
    assert report.already_applied == ["c1"]
    assert report.conflicts == [Conflict("c2", "hank", "zed")]
    assert report.failed == [Failure("c3", "the adapter reported no result for this change")]
    assert not report.ok
    assert report.as_of == AS_OF
