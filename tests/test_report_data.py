"""Report content from a hand-made run: balance, outcomes, JSON and CSV for BI tools."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

from builders import AS_OF, inputs, routing, won
from roleSync.adapters.base import ApplyResult
from roleSync.metrics import METRIC_NAMES
from roleSync.model import Account, Book, DealKind, Owner
from roleSync.plan import Plan, build_plan
from roleSync.report.data import (
    ALREADY_APPLIED,
    APPLIED,
    CONFLICT,
    CSV_FILES,
    FAILED,
    ReportData,
    build_report_data,
    csv_tables,
    to_json,
)
from roleSync.report.html import render_html
from roleSync.sync.report import RunReport, build_report

ROUTE = {"id": "all", "assign": {"pool": {"role": "farmer"}, "strategy": "round_robin"}}
EVIL = '<script>alert("x")</script>'
FORMULA = '=HYPERLINK("http://evil","x")'


def hand_made_run() -> tuple[Plan, RunReport]:
    """A hunter titled "Account Manager" with five customers, two farmers: five handoffs,
    one applied per outcome, two applied for real."""
    owners = [
        Owner("hank", EVIL, "hank@example.com", "Account Manager"),
        Owner("fran", "Fran", "fran@example.com", "Customer Success Manager"),
        Owner("fred", "Fred", "fred@example.com", "Account Manager"),
    ]
    accounts = [Account(f"c{i}", f"Customer {i}", "hank") for i in range(4)]
    accounts.append(Account("c4", FORMULA, "hank"))
    accounts += [Account("f0", "Farm 0", "fran"), Account("f1", "Farm 1", "fred")]
    deals = [
        won(f"d{i}", f"c{i}", "hank", date(2026, 5, 1), amount=1000.0 * (i + 1)) for i in range(5)
    ]
    deals += [
        won("e0", "f0", "fran", date(2026, 5, 1), DealKind.EXPANSION, 500.0),
        won("e1", "f1", "fred", date(2026, 5, 1), DealKind.EXPANSION, 700.0),
    ]
    plan = build_plan(Book(owners, accounts, deals), inputs(routing(ROUTE)))
    assert [c.account_id for c in plan.changes] == ["c0", "c1", "c2", "c3", "c4"]
    result = ApplyResult(
        applied=["c0", "c4"], already_applied=["c1"], conflicts={"c2": "zed"}, failed={"c3": "boom"}
    )
    stamp = datetime(2026, 6, 30, 12, 0)
    report = build_report(plan, result, run_id="r1", mode="sync", started=stamp, finished=stamp)
    return plan, report


def data(revenue: bool = True) -> ReportData:
    plan, report = hand_made_run()
    amounts = {"c0": 1000.0, "c1": 2000.0, "c4": 5000.0} if revenue else None
    return build_report_data(plan, report, amounts)


def test_handoffs_carry_names_routes_and_outcomes() -> None:
    rows = {h.account_id: h for h in data().handoffs}
    assert {a: h.outcome for a, h in rows.items()} == {
        "c0": APPLIED,
        "c1": ALREADY_APPLIED,
        "c2": CONFLICT,
        "c3": FAILED,
        "c4": APPLIED,
    }
    assert rows["c2"].outcome_detail == "owner changed to zed"
    assert rows["c3"].outcome_detail == "boom"
    assert rows["c0"].from_name == EVIL and rows["c0"].rule_id == "all"
    assert rows["c0"].to_name in {"Fran", "Fred"}
    assert "first new business won 2026-05-01" in rows["c0"].reason


def test_balance_adds_what_moved_to_what_the_plan_saw() -> None:
    report = data()
    moved = {
        h.account_id: h.to_owner_id
        for h in report.handoffs
        if h.outcome in {APPLIED, ALREADY_APPLIED}
    }
    for row in report.balance:
        received = [a for a, to in moved.items() if to == row.owner_id]
        assert row.received == len(received)
        assert row.accounts_after == row.accounts_before + len(received)
        revenue = {"c0": 1000.0, "c1": 2000.0, "c4": 5000.0}
        assert row.revenue_after == row.revenue_before + sum(revenue[a] for a in received)
    # Only farmers and receivers: the hunter is not a farmer and received nothing.
    assert {b.owner_id for b in report.balance} == {"fran", "fred"}
    assert sum(b.accounts_after - b.accounts_before for b in report.balance) == 3


def test_without_account_revenue_the_revenue_after_is_unknown() -> None:
    report = data(revenue=False)
    assert not report.revenue_known
    assert all(b.revenue_after is None for b in report.balance)
    assert all(h.revenue is None for h in report.handoffs)


def test_titles_that_disagree_are_flagged() -> None:
    report = data()
    assert [o.owner_id for o in report.title_disagreements] == ["hank"]  # Account Manager, hunts
    assert report.role_count("farmer") == 2 and report.role_count("hunter") == 1


def test_json_holds_every_table_with_plain_values() -> None:
    document = json.loads(to_json(data()))
    assert document["format"] == 1
    assert document["run"]["as_of"] == AS_OF.isoformat()
    assert document["run"]["started"] == "2026-06-30T12:00:00"
    assert {o["owner_id"] for o in document["owners"]} == {"hank", "fran", "fred"}
    assert set(document["owners"][0]["metrics"]) == set(METRIC_NAMES)
    assert document["title_disagreements"][0]["owner_id"] == "hank"
    assert len(document["handoffs"]) == 5 and len(document["balance"]) == 2
    assert document["revenue_known"] is True


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_is_one_table_per_file_with_metrics_as_columns() -> None:
    tables = csv_tables(data())
    assert tuple(tables) == CSV_FILES
    owners = _rows(tables["owners.csv"])
    assert len(owners) == 3
    assert set(METRIC_NAMES) <= set(owners[0])
    hank = next(o for o in owners if o["owner_id"] == "hank")
    assert hank["title_disagrees"] == "true" and hank["new_business_won_count"] == "5"
    assert len(_rows(tables["handoffs.csv"])) == 5
    assert _rows(tables["run.csv"])[0]["run_id"] == "r1"


def test_csv_defuses_spreadsheet_formulas_from_the_crm() -> None:
    handoffs = _rows(csv_tables(data())["handoffs.csv"])
    c4 = next(h for h in handoffs if h["account_id"] == "c4")
    assert c4["account_name"] == "'" + FORMULA
    # Numbers stay numbers: only text is defused.
    assert c4["revenue"] == "5000.0"


def test_every_report_form_names_the_trigger_that_fired() -> None:
    report_data = data()
    fired = {(h.trigger, h.handoff_id) for h in report_data.handoffs}
    assert len(fired) == 1
    ((trigger, handoff_id),) = fired
    assert trigger == "first_won_new_business" and handoff_id
    document = json.loads(to_json(report_data))
    assert {(h["trigger"], h["handoff_id"]) for h in document["handoffs"]} == fired
    rows = _rows(csv_tables(report_data)["handoffs.csv"])
    assert {(r["trigger"], r["handoff_id"]) for r in rows} == fired
    assert f"first_won_new_business ({handoff_id})" in render_html(report_data)
