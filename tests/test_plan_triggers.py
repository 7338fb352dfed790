"""Pure parts of handoff triggers: the age limit's default and backfill, several blocks
in order, stage deals kept by the fold, and plans written before triggers were named."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from builders import AS_OF, account, inputs, owner, won
from roleSync.model import Book, Deal, DealKind, DealWindow
from roleSync.model.book import FoldedDealsError
from roleSync.plan import Plan, build_plan

ROUTES = [{"id": "all", "assign": {"pool": {"role": "farmer"}}}]


def _routing(**handoffs: Any) -> dict[str, Any]:
    return {"version": 1, "kind": "routing", **handoffs, "routes": ROUTES}


def _book(*deals: Deal) -> Book:
    """hank hunts (three recent wins on h-1), fran farms; `deals` on account x of hank's."""
    hunts = [won(f"h-{i}", "h-1", "hank", date(2026, 3, i + 1)) for i in range(3)]
    farms = [
        won(f"f-{i}", "f-1", "fran", date(2026, 3, i + 1), DealKind.EXPANSION) for i in range(3)
    ]
    accounts = [account("h-1", "hank"), account("f-1", "fran"), account("x", "hank")]
    return Book([owner("hank"), owner("fran")], accounts, [*hunts, *farms, *deals])


def _moved(book: Book, **handoffs: Any) -> dict[str, tuple[str, str]]:
    plan = build_plan(book, inputs(_routing(**handoffs)))
    return {c.account_id: (c.handoff_id, c.to_owner_id) for c in plan.changes}


def test_a_first_win_older_than_the_default_365_days_stays_until_backfilled() -> None:
    old = _book(won("x-1", "x", "hank", date(2025, 6, 29)))  # 366 days before AS_OF
    assert "x" not in _moved(old, handoff={})
    assert _moved(old, handoff={"max_age_days": 366})["x"] == ("handoff", "fran")
    assert _moved(old, handoff={"since": "2025-01-01"})["x"] == ("handoff", "fran")


def test_the_first_block_that_fired_and_takes_the_owner_decides() -> None:
    at_stage = Deal(
        "x-1", "x", "hank", DealKind.NEW_BUSINESS, "Contract Signed", False, False, None,
        date(2026, 6, 1), None,
    )  # fmt: skip
    blocks = [
        # fired, but hank is a hunter: not one this block hands off from
        {"id": "not-hunters", "trigger": "stage_reached", "stage": "contract signed",
         "from_roles": ["unclassified"]},
        {"id": "signed", "trigger": "stage_reached", "stage": "Contract Signed"},
        {"id": "later", "trigger": "stage_reached", "stage": "Contract Signed"},
    ]  # fmt: skip
    assert _moved(_book(at_stage), handoffs=blocks)["x"] == ("signed", "fran")


def test_a_held_book_folds_again_for_watched_stages_a_folded_one_says_it_cannot() -> None:
    at_stage = Deal(
        "x-1", "x", "hank", DealKind.NEW_BUSINESS, "Contract Signed", False, False, None,
        date(2026, 6, 1), None,
    )  # fmt: skip
    book = _book(at_stage)
    plain = DealWindow(AS_OF, 365)
    assert book.deal_facts(plain).stage_deals == {}
    watched = DealWindow(AS_OF, 365, frozenset({"contract signed"}))
    assert book.deal_facts(watched).stage_deals == {"x": [at_stage]}
    folded = Book.folded(book.owners.values(), book.accounts.values(), [], plain)
    with pytest.raises(FoldedDealsError, match="without watching the stages: contract signed"):
        folded.deal_facts(watched)


def test_a_plan_written_before_triggers_were_named_still_reads() -> None:
    plan = build_plan(_book(won("x-1", "x", "hank", date(2026, 6, 1))), inputs(_routing()))
    data = json.loads(plan.to_json())
    assert {(c["trigger"], c["handoff_id"]) for c in data["changes"]} == {
        ("first_won_new_business", "handoff")
    }
    for change in data["changes"]:
        del change["trigger"], change["handoff_id"]
    old = Plan.from_json(json.dumps(data), "old-plan.json")
    assert {(c.trigger, c.handoff_id) for c in old.changes} == {("", "")}
