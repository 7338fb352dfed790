"""Unit tests of role metrics on small hand-built books; every figure is worked out by hand.

Window used throughout: as_of 2026-06-30, 90 days, so a deal counts when it closed in
(2026-04-01, 2026-06-30], i.e. from 2026-04-02 through 2026-06-30.
"""

from __future__ import annotations

from datetime import date

import pytest

from builders import Status
from builders import deal as make_deal
from roleSync.metrics import RoleMetrics, account_revenue, compute_role_metrics, window_start
from roleSync.model import Account, Book, Deal, DealKind, Owner

AS_OF = date(2026, 6, 30)
WINDOW = 90
IN_WINDOW = date(2026, 6, 1)
BEFORE_WINDOW = date(2025, 12, 1)

NB = DealKind.NEW_BUSINESS
EXP = DealKind.EXPANSION
REN = DealKind.RENEWAL
CON = DealKind.CONTRACTION


def deal(
    deal_id: str,
    account_id: str = "a1",
    *,
    owner_id: str | None = "o1",
    kind: DealKind | None = NB,
    status: Status = "won",
    amount: float | None = 100.0,
    created: date = date(2026, 5, 1),
    close: date | None = IN_WINDOW,
) -> Deal:
    """A deal with defaults: won new business of 100.0 on a1 by o1, closed in the window."""
    return make_deal(
        deal_id,
        account_id,
        owner_id=owner_id,
        kind=kind,
        status=status,
        amount=amount,
        created=created,
        close=close,
    )


def owner(owner_id: str, *, active: bool = True) -> Owner:
    return Owner(owner_id, owner_id.upper(), f"{owner_id}@example.com", active=active)


def metrics_of(
    deals: list[Deal],
    *,
    owners: list[Owner] | None = None,
    accounts: list[Account] | None = None,
) -> dict[str, RoleMetrics]:
    book = Book(owners if owners is not None else [owner("o1")], accounts or [], deals)
    return compute_role_metrics(book, AS_OF, WINDOW)


def test_window_start_is_the_first_day_inside_the_window() -> None:
    # 2026-06-30 - (90 - 1) days = 2026-04-02
    assert window_start(AS_OF, WINDOW) == date(2026, 4, 2)
    # a 1-day window is as_of alone
    assert window_start(AS_OF, 1) == AS_OF


def test_owner_with_no_deals_has_zero_counts_and_empty_ratios() -> None:
    result = metrics_of([], owners=[owner("o1")])
    assert result["o1"].as_dict() == {
        "won_deals": 0,
        "new_business_won_count": 0,
        "new_business_won_amount": 0.0,
        "expansion_won_amount": 0.0,
        "renewal_won_amount": 0.0,
        "won_amount": 0.0,
        "new_business_share": None,
        "win_rate": None,
        "avg_sales_cycle_days": None,
        "accounts_owned": 0,
        "customer_accounts_owned": 0,
        "managed_revenue": 0.0,
        "renewal_won_count": 0,
        "renewal_closed_count": 0,
        "renewal_rate": None,
        "starting_revenue": 0.0,
        "churned_accounts": 0,
        "churned_amount": 0.0,
        "contracted_amount": 0.0,
        "book_expansion_amount": 0.0,
        "gross_revenue_retention": None,
        "net_revenue_retention": None,
        "expansion_rate": None,
        "new_logos": 0,
        "new_business_win_rate": None,
        "avg_new_business_deal_size": None,
        "new_business_sales_cycle_days": None,
    }
    assert result["o1"] == RoleMetrics()


def test_every_owner_of_the_book_is_a_key() -> None:
    result = metrics_of([deal("d1", owner_id="o1")], owners=[owner("o2"), owner("o1")])
    assert set(result) == {"o1", "o2"}
    assert result["o2"] == RoleMetrics()


def test_only_open_deals_nothing_closed() -> None:
    # open deals with an expected close date inside the window still are not closed
    result = metrics_of(
        [
            deal("d1", status="open", close=IN_WINDOW),
            deal("d2", status="open", close=None),
        ]
    )
    m = result["o1"]
    assert m.won_deals == 0
    assert m.win_rate is None  # 0 closed -> empty
    assert m.new_business_share is None
    assert m.avg_sales_cycle_days is None
    assert m.won_amount == 0.0


def test_only_lost_deals_win_rate_zero() -> None:
    m = metrics_of([deal("d1", status="lost"), deal("d2", status="lost")])["o1"]
    assert m.win_rate == 0.0  # 0 won / 2 closed
    assert m.won_deals == 0
    assert m.new_business_share is None  # nothing won
    assert m.avg_sales_cycle_days is None


def test_won_deal_without_amount_counts_but_adds_nothing() -> None:
    m = metrics_of(
        [
            deal("d1", kind=NB, amount=None),
            deal("d2", kind=EXP, amount=300.0),
        ]
    )["o1"]
    assert m.won_deals == 2  # d1 + d2
    assert m.new_business_won_count == 1  # d1, amount or not
    assert m.new_business_won_amount == 0.0  # d1 adds nothing
    assert m.expansion_won_amount == 300.0
    assert m.won_amount == 300.0  # 0 + 300
    assert m.new_business_share == 0.0  # 0 / 300: amounts only, not counts
    assert m.win_rate == 1.0  # 2 won / 2 closed


def test_won_deal_without_amount_on_the_expansion_side() -> None:
    m = metrics_of(
        [
            deal("d1", kind=NB, amount=250.0),
            deal("d2", kind=EXP, amount=None),
        ]
    )["o1"]
    assert m.won_deals == 2
    assert m.won_amount == 250.0  # 250 + nothing
    assert m.new_business_share == 1.0  # 250 / 250


def test_all_won_deals_without_amount_share_is_empty() -> None:
    m = metrics_of(
        [
            deal("d1", kind=NB, amount=None),
            deal("d2", kind=EXP, amount=None),
        ]
    )["o1"]
    assert m.won_deals == 2
    assert m.new_business_won_count == 1
    assert m.won_amount == 0.0
    assert m.new_business_share is None  # 0 / 0 -> empty
    assert m.win_rate == 1.0  # 2 / 2


def test_inferred_kinds_count_as_new_business_or_expansion() -> None:
    deals = [
        # a1: first won deal, blank kind, in window -> new business
        deal("d1", "a1", kind=None, amount=400.0),
        # a1: second won deal (closes after d1), blank -> expansion
        deal("d2", "a1", kind=None, amount=100.0, close=date(2026, 6, 15)),
        # a2: won before the window (counts for inference, not for the figures)
        deal("d3", "a2", kind=None, amount=999.0, close=BEFORE_WINDOW, created=date(2025, 11, 1)),
        # a2: blank, won in window, but not a2's first won deal -> expansion
        deal("d4", "a2", kind=None, amount=50.0),
    ]
    m = metrics_of(deals)["o1"]
    assert m.won_deals == 3  # d1, d2, d4 (d3 is before the window)
    assert m.new_business_won_count == 1  # d1
    assert m.new_business_won_amount == 400.0  # d1
    assert m.expansion_won_amount == 150.0  # d2 100 + d4 50
    assert m.won_amount == 550.0  # 400 + 150
    assert m.new_business_share == pytest.approx(0.7273)  # 400 / 550 = 0.72727 -> 0.7273


def test_inactive_owner_is_computed_like_an_active_one() -> None:
    deals = [
        deal("d1", owner_id="o1", amount=100.0),
        deal("d2", owner_id="o1", kind=EXP, amount=300.0),
        deal("d3", owner_id="o1", status="lost"),
    ]
    accounts = [Account("a1", "Acme", "o1", lifecycle="customer")]
    active = metrics_of(deals, owners=[owner("o1")], accounts=accounts)["o1"]
    inactive = metrics_of(deals, owners=[owner("o1", active=False)], accounts=accounts)["o1"]
    assert inactive == active
    assert inactive.won_deals == 2
    assert inactive.won_amount == 400.0  # 100 + 300
    assert inactive.new_business_share == 0.25  # 100 / 400
    assert inactive.win_rate == pytest.approx(0.6667)  # 2 won / 3 closed = 0.66667
    assert inactive.accounts_owned == 1
    assert inactive.managed_revenue == 400.0  # a1 is owned by o1: 100 + 300


def test_window_edges() -> None:
    deals = [
        deal("on-as-of", amount=1.0, close=date(2026, 6, 30)),  # as_of: in
        deal("window-days-before", amount=10.0, close=date(2026, 4, 1)),  # as_of - 90: out
        deal("window-days-minus-1", amount=100.0, close=date(2026, 4, 2)),  # as_of - 89: in
        deal("after-as-of", amount=1000.0, close=date(2026, 7, 1)),  # as_of + 1: out
        deal("lost-out", status="lost", close=date(2026, 4, 1)),  # as_of - 90: out
        deal("lost-in", status="lost", close=date(2026, 4, 2)),  # as_of - 89: in
        deal("lost-after", status="lost", close=date(2026, 7, 1)),  # as_of + 1: out
    ]
    m = metrics_of(deals, accounts=[Account("a1", "Acme", "o1")])["o1"]
    assert m.won_deals == 2  # on-as-of, window-days-minus-1
    assert m.new_business_won_count == 2
    assert m.won_amount == 101.0  # 1 + 100
    assert m.win_rate == pytest.approx(0.6667)  # 2 won / 3 closed (2 won + lost-in)
    assert m.managed_revenue == 101.0  # same window for managed revenue


def test_contraction_counts_as_a_win_but_not_in_amounts_or_share() -> None:
    deals = [
        deal("d1", kind=NB, amount=1000.0),
        deal("d2", kind=CON, amount=200.0),
        deal("d3", kind=EXP, amount=500.0),
        deal("d4", kind=CON, status="lost", amount=80.0),
    ]
    m = metrics_of(deals, accounts=[Account("a1", "Acme", "o1")])["o1"]
    assert m.won_deals == 3  # d1, d2, d3
    assert m.new_business_won_count == 1  # d1
    assert m.new_business_won_amount == 1000.0
    assert m.expansion_won_amount == 500.0
    assert m.renewal_won_amount == 0.0
    assert m.won_amount == 1500.0  # 1000 + 500, contraction's 200 left out
    assert m.new_business_share == pytest.approx(0.6667)  # 1000 / 1500 = 0.66667
    assert m.win_rate == 0.75  # 3 won / 4 closed
    assert m.managed_revenue == 1500.0  # contraction left out here too


def test_win_rate_with_lost_deals() -> None:
    deals = [
        deal("d1", kind=NB),
        deal("d2", kind=NB, status="lost"),
        deal("d3", kind=EXP, status="lost"),
        deal("d4", kind=None, status="lost"),
        deal("d5", kind=NB, status="lost", close=BEFORE_WINDOW),  # outside: not closed here
        deal("d6", kind=NB, status="open"),  # open: not closed
    ]
    m = metrics_of(deals)["o1"]
    assert m.won_deals == 1
    assert m.win_rate == 0.25  # 1 won / 4 closed (d1..d4)


def test_avg_sales_cycle_over_won_deals_only() -> None:
    deals = [
        # 2026-05-01 -> 2026-05-11: 10 days
        deal("d1", created=date(2026, 5, 1), close=date(2026, 5, 11)),
        # 2026-04-10 -> 2026-06-10: 20 (to 04-30) + 31 (May) + 10 = 61 days
        deal("d2", kind=EXP, created=date(2026, 4, 10), close=date(2026, 6, 10)),
        # lost, 150 days: not a won deal, ignored
        deal("d3", status="lost", created=date(2026, 1, 1), close=date(2026, 5, 31)),
        # open: ignored
        deal("d4", status="open", created=date(2025, 1, 1), close=None),
        # won before the window: ignored
        deal("d5", created=date(2025, 1, 1), close=BEFORE_WINDOW),
    ]
    m = metrics_of(deals)["o1"]
    assert m.avg_sales_cycle_days == 35.5  # (10 + 61) / 2


def test_avg_sales_cycle_includes_contraction_wins() -> None:
    deals = [
        deal("d1", created=date(2026, 5, 1), close=date(2026, 5, 3)),  # 2 days
        deal("d2", kind=CON, created=date(2026, 5, 1), close=date(2026, 5, 7)),  # 6 days
    ]
    assert metrics_of(deals)["o1"].avg_sales_cycle_days == 4.0  # (2 + 6) / 2


def test_accounts_owned_and_customer_accounts_owned() -> None:
    accounts = [
        Account("a1", "One", "o1", lifecycle="customer"),  # customer by lifecycle
        Account("a2", "Two", "o1", lifecycle="prospect"),  # customer by an old won deal
        Account("a3", "Three", "o1", lifecycle="prospect"),  # lost deal only: not a customer
        Account("a4", "Four", "o1"),  # open deal only: not a customer
        Account("a5", "Five", "o2", lifecycle="customer"),  # owned by o2
        Account("a6", "Six", None, lifecycle="customer"),  # owned by nobody
    ]
    deals = [
        deal("d1", "a2", owner_id="o2", close=date(2020, 1, 1), created=date(2019, 6, 1)),
        deal("d2", "a3", status="lost"),
        deal("d3", "a4", status="open"),
    ]
    result = metrics_of(deals, owners=[owner("o1"), owner("o2"), owner("o3")], accounts=accounts)
    assert (result["o1"].accounts_owned, result["o1"].customer_accounts_owned) == (4, 2)  # a1..a4
    assert (result["o2"].accounts_owned, result["o2"].customer_accounts_owned) == (1, 1)  # a5
    assert (result["o3"].accounts_owned, result["o3"].customer_accounts_owned) == (0, 0)


def test_managed_revenue_counts_the_accounts_owned_now_whoever_won_them() -> None:
    # hank (hunter) won a1's new business; a1 now belongs to fay (farmer).
    owners = [owner("hank"), owner("fay")]
    accounts = [
        Account("a1", "Handed over", "fay", lifecycle="customer"),
        Account("a2", "Still hunting", "hank"),
    ]
    deals = [
        deal("d1", "a1", owner_id="hank", kind=NB, amount=500.0),
        deal("d2", "a1", owner_id="fay", kind=EXP, amount=200.0),
        deal("d3", "a1", owner_id="fay", kind=REN, amount=100.0),
        deal("d4", "a1", owner_id="fay", kind=CON, amount=50.0),  # contraction: left out
        deal("d5", "a1", owner_id="fay", kind=EXP, amount=70.0, close=BEFORE_WINDOW),  # out
        deal("d6", "a1", owner_id="fay", kind=EXP, status="lost", amount=90.0),  # lost
        deal("d7", "a2", owner_id="hank", kind=NB, amount=300.0),
    ]
    result = metrics_of(deals, owners=owners, accounts=accounts)
    fay, hank = result["fay"], result["hank"]
    assert fay.won_amount == 300.0  # d2 200 + d3 100
    assert fay.renewal_won_amount == 100.0  # d3
    assert fay.new_business_share == 0.0  # 0 / 300
    assert fay.managed_revenue == 800.0  # a1: d1 500 (hank's) + d2 200 + d3 100
    assert hank.won_amount == 800.0  # d1 500 + d7 300
    assert hank.new_business_share == 1.0  # 800 / 800
    assert hank.managed_revenue == 300.0  # a2: d7 300; a1 is no longer hank's
    assert (fay.accounts_owned, fay.customer_accounts_owned) == (1, 1)
    assert (hank.accounts_owned, hank.customer_accounts_owned) == (1, 1)  # a2 has won d7


def test_rounding_of_share_and_cycle_days() -> None:
    deals = [
        deal("d1", kind=NB, amount=100.0, created=date(2026, 5, 31)),  # 1 day
        deal("d2", kind=EXP, amount=100.0, created=date(2026, 5, 30)),  # 2 days
        deal("d3", kind=REN, amount=100.0, created=date(2026, 5, 30)),  # 2 days
    ]
    m = metrics_of(deals)["o1"]
    assert m.new_business_share == 0.3333  # 100 / 300 = 0.33333 -> 4 decimals
    assert m.avg_sales_cycle_days == 1.7  # (1 + 2 + 2) / 3 = 1.6667 -> 1 decimal


def test_rounding_of_amounts() -> None:
    deals = [
        deal("d1", kind=NB, amount=1234.5678),
        deal("d2", kind=EXP, amount=10.004),
        deal("d3", kind=REN, amount=0.0051),
    ]
    m = metrics_of(deals, accounts=[Account("a1", "Acme", "o1")])["o1"]
    assert m.new_business_won_amount == 1234.57  # 1234.5678 -> 2 decimals
    assert m.expansion_won_amount == 10.0  # 10.004 -> 10.00
    assert m.renewal_won_amount == 0.01  # 0.0051 -> 0.01
    assert m.won_amount == 1244.58  # 1234.5678 + 10.004 + 0.0051 = 1244.5769 -> 1244.58
    assert m.managed_revenue == 1244.58  # same sum on a1
    # share on unrounded amounts: 1234.5678 / 1244.5769 = 0.991958 -> 0.992
    assert m.new_business_share == 0.992


def test_owners_missing_from_the_book_are_ignored() -> None:
    accounts = [
        Account("a1", "Acme", "o1"),
        Account("a2", "Ghost-owned", "ghost"),  # owner not in the book
        Account("a3", "Unowned", None),
    ]
    deals = [
        deal("d1", "a1", owner_id="o1", amount=100.0),
        deal("d2", "a1", owner_id="ghost", kind=EXP, amount=1000.0),  # won by a missing owner
        deal("d3", "a2", owner_id="ghost", amount=50.0),
        deal("d4", "a3", owner_id=None, amount=7.0),
        deal("d5", "a1", owner_id="ghost", status="lost"),
    ]
    result = metrics_of(deals, owners=[owner("o1")], accounts=accounts)
    assert set(result) == {"o1"}
    m = result["o1"]
    assert m.won_deals == 1  # d1 only: ghost's and nobody's deals are not o1's
    assert m.win_rate == 1.0  # 1 / 1, d5 is ghost's
    assert m.won_amount == 100.0
    assert m.accounts_owned == 1  # a1
    assert m.managed_revenue == 1100.0  # a1: d1 100 + d2 1000 (won by ghost, still on a1)


def test_account_revenue_per_account() -> None:
    deals = [
        deal("d1", "a1", kind=NB, amount=500.0),
        deal("d2", "a1", kind=EXP, amount=200.0, owner_id="someone-else"),
        deal("d3", "a1", kind=REN, amount=100.0, close=AS_OF),  # as_of: in
        deal("d4", "a1", kind=CON, amount=50.0),  # contraction: left out
        deal("d5", "a1", kind=EXP, status="lost", amount=999.0),  # lost: out
        deal("d6", "a1", kind=EXP, status="open", amount=888.0),  # open: out
        deal("d7", "a1", kind=EXP, amount=10.0, close=date(2026, 4, 1)),  # as_of - 90: out
        deal("d8", "a1", kind=EXP, amount=20.0, close=date(2026, 4, 2)),  # as_of - 89: in
        deal("d9", "a1", kind=EXP, amount=30.0, close=date(2026, 7, 1)),  # after as_of: out
        deal("e1", "a2", kind=NB, amount=None),  # won without amount: adds nothing
        deal("f1", "a3", kind=NB, status="lost", amount=400.0),  # nothing won
        deal("g1", "a4", kind=None, amount=60.0),  # inferred new business
        deal("g2", "a4", kind=None, amount=40.5, close=date(2026, 6, 20)),  # inferred expansion
    ]
    book = Book([owner("o1")], [Account("a1", "Acme", "o1")], deals)
    revenue = account_revenue(book, AS_OF, WINDOW)
    assert revenue["a1"] == 820.0  # 500 + 200 + 100 + 20
    assert revenue.get("a2", 0.0) == 0.0
    assert revenue.get("a3", 0.0) == 0.0
    assert revenue["a4"] == 100.5  # 60 + 40.5
    assert set(revenue) <= {"a1", "a2", "a3", "a4"}
