"""The hunter's metrics on small hand-built books: new logos, new-business win rate
(conversion, apart from renewals), average new-business deal size and sales cycle.

Window: as_of 2026-06-30, 90 days: deals closing 2026-04-02 .. 2026-06-30 count.
"""

from __future__ import annotations

from datetime import date

from builders import Status
from builders import deal as make_deal
from roleSync.metrics import (
    HUNTING_METRICS,
    METRIC_GROUPS,
    METRIC_HELP,
    METRIC_NAMES,
    RoleMetrics,
    compute_role_metrics,
)
from roleSync.model import Account, Book, Deal, DealKind, Owner

AS_OF = date(2026, 6, 30)
WINDOW = 90
IN_WINDOW = date(2026, 6, 1)
BEFORE = date(2026, 1, 15)

NB = DealKind.NEW_BUSINESS
EXP = DealKind.EXPANSION
REN = DealKind.RENEWAL


def deal(
    deal_id: str,
    account_id: str,
    kind: DealKind | None = NB,
    amount: float | None = 100.0,
    close: date = IN_WINDOW,
    *,
    status: Status = "won",
    owner_id: str | None = "hank",
    created: date | None = None,
) -> Deal:
    return make_deal(
        deal_id,
        account_id,
        owner_id=owner_id,
        kind=kind,
        status=status,
        amount=amount,
        created=created or date(2025, 12, 1),
        close=close,
    )


def metrics_of(deals: list[Deal], accounts: list[Account] | None = None) -> dict[str, RoleMetrics]:
    owners = [Owner(o, o.upper(), f"{o}@example.com") for o in ("hank", "sam")]
    return compute_role_metrics(Book(owners, accounts or [], deals), AS_OF, WINDOW)


def test_the_groups_cover_every_metric_once() -> None:
    assert METRIC_GROUPS["hunting"] == HUNTING_METRICS
    flat = [m for group in METRIC_GROUPS.values() for m in group]
    assert tuple(flat) == METRIC_NAMES
    assert len(set(flat)) == len(flat) == len(METRIC_HELP)


def test_new_logos_are_first_new_business_wins_in_the_window() -> None:
    deals = [
        deal("a1-nb", "a1"),  # a1's first win, in the window: hank's logo
        deal("a2-nb0", "a2", close=BEFORE),  # a2 was won before the window ...
        deal("a2-nb", "a2"),  # ... so this new business is no new logo
        deal("a3-nb", "a3", owner_id="sam"),  # sam's logo, whoever owns a3
        deal("a4-nb", "a4", owner_id=None),  # blank owner: the account owner's (hank)
        deal("a5-lost", "a5", status="lost", close=BEFORE),  # lost first, won later:
        deal("a5-nb", "a5", close=date(2026, 4, 2)),  # first window day: hank's logo
        deal("a6-nb", "a6", close=date(2026, 7, 1)),  # after as_of: not yet
        deal("a7-exp", "a7", EXP),  # no new business: no logo
    ]
    accounts = [Account(a, a, "hank") for a in ("a1", "a2", "a3", "a4", "a5", "a6", "a7")]
    result = metrics_of(deals, accounts)
    assert result["hank"].new_logos == 3  # a1, a4, a5
    assert result["sam"].new_logos == 1  # a3
    assert result["hank"].new_business_won_count == 4  # a1, a2, a4, a5: won, logo or not


def test_a_new_logo_moves_with_its_account_when_its_deal_has_no_owner() -> None:
    owners = [Owner("hank", "H", "h@x"), Owner("fay", "F", "f@x")]
    book = Book(owners, [Account("a1", "A", "hank")], [deal("a1-nb", "a1", owner_id=None)])
    moved = compute_role_metrics(book, AS_OF, WINDOW, {"a1": "fay"})
    assert (moved["hank"].new_logos, moved["fay"].new_logos) == (0, 1)


def test_new_business_win_rate_leaves_renewals_out() -> None:
    deals = [
        deal("n1", "a1"),
        deal("n2", "a2"),
        deal("n3", "a3"),
        deal("n4", "a4", status="lost"),
        deal("n5", "a5", status="lost", close=BEFORE),  # before the window: out
        deal("n6", "a6", status="open"),  # open: not closed
        deal("r1", "a7", REN, status="lost"),
        deal("r2", "a8", REN, status="lost"),
    ]
    m = metrics_of(deals)["hank"]
    assert m.new_business_win_rate == 0.75  # 3 won / 4 closed
    assert m.renewal_rate == 0.0  # 0 / 2: a figure of its own
    assert m.win_rate == 0.5  # all kinds: 3 / 6


def test_average_deal_size_leaves_blank_amounts_out_of_the_count() -> None:
    deals = [
        deal("n1", "a1", amount=1000.0),
        deal("n2", "a2", amount=3000.0),
        deal("n3", "a3", amount=None),  # size unknown: neither in the sum nor the count
        deal("n4", "a4", amount=9000.0, status="lost"),  # lost: no deal won
        deal("e1", "a1", EXP, 5000.0),  # expansion: not new business
    ]
    m = metrics_of(deals)["hank"]
    assert m.new_business_won_amount == 4000.0
    assert m.avg_new_business_deal_size == 2000.0  # 4000 / 2, not 4000 / 3
    assert m.new_business_won_count == 3


def test_average_deal_size_rounds_to_cents() -> None:
    deals = [deal(f"n{i}", f"a{i}", amount=a) for i, a in enumerate((100.0, 100.0, 100.01))]
    # 300.01 / 3 = 100.00333... -> 100.0
    assert metrics_of(deals)["hank"].avg_new_business_deal_size == 100.0


def test_new_business_sales_cycle_counts_won_new_business_only() -> None:
    deals = [
        # 2026-05-01 -> 2026-05-11: 10 days
        deal("n1", "a1", close=date(2026, 5, 11), created=date(2026, 5, 1)),
        # 2026-04-10 -> 2026-06-10: 20 + 31 + 10 = 61 days
        deal("n2", "a2", close=date(2026, 6, 10), created=date(2026, 4, 10)),
        # expansion, 273 (2025-09-01 -> 2026-06-01) + 26 = 299 days: avg_sales_cycle_days only
        deal("e1", "a1", EXP, close=date(2026, 6, 27), created=date(2025, 9, 1)),
        # lost new business: no cycle
        deal("n3", "a3", status="lost", close=date(2026, 6, 1), created=date(2025, 1, 1)),
    ]
    m = metrics_of(deals)["hank"]
    assert m.new_business_sales_cycle_days == 35.5  # (10 + 61) / 2
    assert m.avg_sales_cycle_days == 123.3  # (10 + 61 + 299) / 3 = 123.33


def test_no_new_business_leaves_the_hunting_ratios_empty() -> None:
    m = metrics_of([deal("e1", "a1", EXP), deal("r1", "a2", REN, status="lost")])["hank"]
    assert m.new_logos == 0
    assert m.new_business_win_rate is None  # nothing closed: empty, not 0
    assert m.avg_new_business_deal_size is None
    assert m.new_business_sales_cycle_days is None


def test_new_business_won_without_any_amount_has_a_cycle_but_no_size() -> None:
    m = metrics_of([deal("n1", "a1", amount=None, created=date(2026, 5, 25))])["hank"]
    assert m.avg_new_business_deal_size is None  # 0 deals with an amount
    assert m.new_business_sales_cycle_days == 7.0  # 2026-05-25 -> 2026-06-01
    assert (m.new_logos, m.new_business_win_rate) == (1, 1.0)
