"""Metrics are written for the book as it will be after the plan's own moves, so the
plan right after an apply has nothing left to write."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from roleSync.demo import PROFILE_NAME, run_demo
from roleSync.metrics import compute_role_metrics
from roleSync.model import Account, Book, Deal, DealKind, Owner
from roleSync.profile import load_profile
from roleSync.sync.runner import PlanRequest, make_plan, open_adapter

AS_OF = date(2026, 6, 1)


def _clock() -> datetime:
    return datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def test_a_plan_right_after_the_demo_sync_writes_nothing(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo", AS_OF, clock=_clock)
    assert result.report.applied, "the demo moves accounts"
    assert result.report.metrics_written > 0, "the demo writes metrics"
    profile = load_profile(tmp_path / "demo" / PROFILE_NAME)
    adapter = open_adapter(profile, _clock)
    try:
        again = make_plan(PlanRequest(profile, [tmp_path / "demo" / "rules"], AS_OF), adapter)
    finally:
        adapter.close()
    assert again.changes == []
    assert again.metric_writes == []


def test_holdings_move_with_the_accounts_and_tallies_stay() -> None:
    owners = [Owner("h", "H", "h@x"), Owner("f", "F", "f@x")]
    accounts = [Account("a1", "A1", "h", lifecycle="customer"), Account("a2", "A2", "h")]
    deals = [
        Deal(
            "d1",
            "a1",
            "h",
            DealKind.NEW_BUSINESS,
            "won",
            True,
            True,
            100.0,
            date(2026, 1, 1),
            date(2026, 2, 1),
        ),
    ]
    book = Book(owners, accounts, deals)
    before = compute_role_metrics(book, AS_OF, 365)
    after = compute_role_metrics(book, AS_OF, 365, {"a1": "f"})
    assert (before["h"].accounts_owned, before["f"].accounts_owned) == (2, 0)
    assert (after["h"].accounts_owned, after["f"].accounts_owned) == (1, 1)
    assert (after["h"].customer_accounts_owned, after["f"].customer_accounts_owned) == (0, 1)
    assert (after["h"].managed_revenue, after["f"].managed_revenue) == (0.0, 100.0)
    # The deal stays its owner's: won counts do not move with the account.
    assert after["h"].new_business_won_amount == 100.0
    assert after["f"].won_deals == 0


def test_blank_owner_deals_follow_their_account_through_a_sync(tmp_path: Path) -> None:
    """Deals with no owner count for whoever owns their account: when a sync hands the
    account to a farmer, the metrics it writes already credit the farmer, so the plan
    right after has nothing to write."""
    from roleSync.adapters.local_store import open_book, transaction
    from roleSync.sync.runner import sync

    prepare = run_demo(tmp_path / "demo", AS_OF, clock=_clock)
    profile = load_profile(tmp_path / "demo" / PROFILE_NAME)
    conn = open_book(profile.book_path, create=False)
    try:
        with transaction(conn):
            blanked = conn.execute("UPDATE deals SET owner_id = NULL WHERE won = 1").rowcount
    finally:
        conn.close()
    assert blanked > 0 and prepare.report.applied
    later = date(2026, 7, 15)  # the pending handoffs are due by then
    rules = [tmp_path / "demo" / "rules"]

    def clock() -> datetime:
        return datetime(2026, 7, 15, 9, 0, tzinfo=UTC)

    plan, report = sync(PlanRequest(profile, rules, later), clock=clock, allow_large=True)
    assert plan.changes and report.metrics_written > 0
    adapter = open_adapter(profile, clock)
    try:
        again = make_plan(PlanRequest(profile, rules, later), adapter)
    finally:
        adapter.close()
    assert again.changes == []
    assert again.metric_writes == []
