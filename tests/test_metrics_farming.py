"""The farmer's metrics on small hand-built books: renewal rate, the starting book and its
revenue retention. Every figure is worked out by hand in the comments.

Window: as_of 2026-06-30, 90 days, so the window runs 2026-04-02 .. 2026-06-30 and the
window before it (the starting revenue) 2026-01-02 .. 2026-04-01.
"""

from __future__ import annotations

from datetime import date

import pytest

from builders import Status
from builders import deal as make_deal
from roleSync.metrics import METRIC_GROUPS, METRIC_HELP, RoleMetrics, compute_role_metrics
from roleSync.metrics_retention import FARMING_METRICS, FarmingFigures
from roleSync.model import Account, Book, Deal, DealKind, DealWindow, Owner

AS_OF = date(2026, 6, 30)
WINDOW = 90
IN_WINDOW = date(2026, 6, 1)
AT_START = date(2026, 2, 1)  # inside the window before: makes starting revenue

NB = DealKind.NEW_BUSINESS
EXP = DealKind.EXPANSION
REN = DealKind.RENEWAL
CON = DealKind.CONTRACTION


def deal(
    deal_id: str,
    account_id: str,
    kind: DealKind | None,
    amount: float | None,
    close: date = IN_WINDOW,
    *,
    status: Status = "won",
    owner_id: str | None = "fay",
) -> Deal:
    created = min(close, date(2025, 12, 1))
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


def owner(owner_id: str) -> Owner:
    return Owner(owner_id, owner_id.upper(), f"{owner_id}@example.com")


def fay_book(deals: list[Deal], *accounts: str) -> RoleMetrics:
    """fay's metrics; she owns the accounts named (default: those the deals are on)."""
    owned = accounts or tuple(sorted({d.account_id for d in deals}))
    book = Book(
        [owner("fay"), owner("hank")],
        [Account(a, a.upper(), "fay", lifecycle="customer") for a in owned],
        deals,
    )
    return compute_role_metrics(book, AS_OF, WINDOW)["fay"]


def test_the_window_before_is_as_long_and_ends_the_day_before_the_window() -> None:
    window = DealWindow(AS_OF, WINDOW)
    # 2026-06-30 - 179 days = 2026-01-02; the window itself starts 2026-04-02.
    assert (window.before, window.start) == (date(2026, 1, 2), date(2026, 4, 2))
    assert (window.start - window.before).days == WINDOW


def test_the_farming_group_is_named_helped_and_typed_alike() -> None:
    assert FarmingFigures._fields == FARMING_METRICS == METRIC_GROUPS["farming"]
    assert all(METRIC_HELP[m] for m in FARMING_METRICS)


def test_renewal_rate_counts_renewals_only() -> None:
    m = fay_book(
        [
            deal("r1", "a1", REN, 100.0),
            deal("r2", "a2", REN, 200.0),
            deal("r3", "a3", REN, 300.0, status="lost"),
            deal("r4", "a4", REN, 400.0, date(2026, 3, 1), status="lost"),  # before: out
            deal("r5", "a5", REN, 500.0, status="open"),  # open: not closed
            deal("n1", "a6", NB, 600.0, status="lost"),  # new business: not a renewal
        ]
    )
    assert (m.renewal_won_count, m.renewal_closed_count) == (2, 3)  # r1 r2 / r1 r2 r3
    assert m.renewal_rate == pytest.approx(0.6667)  # 2 / 3 = 0.66667
    assert m.win_rate == 0.5  # every kind: 2 won / 4 closed (r1 r2 r3 n1)


def test_no_renewals_due_leaves_the_renewal_rate_empty() -> None:
    m = fay_book([deal("n1", "a1", NB, 100.0), deal("e1", "a1", EXP, 50.0)])
    assert (m.renewal_won_count, m.renewal_closed_count) == (0, 0)
    assert m.renewal_rate is None  # 0 / 0: nothing was due, not a rate of 0
    assert m.churned_accounts == 0


def test_renewal_without_amount_counts_in_the_rate() -> None:
    m = fay_book([deal("r1", "a1", REN, None), deal("r2", "a2", REN, None, status="lost")])
    assert m.renewal_rate == 0.5  # 1 / 2, amounts play no part
    assert m.renewal_won_amount == 0.0


def test_blank_owner_renewals_count_for_the_account_owner() -> None:
    m = fay_book([deal("r1", "a1", REN, 100.0, owner_id=None), deal("r2", "a1", REN, 1.0)])
    assert (m.renewal_won_count, m.renewal_closed_count) == (2, 2)


def test_revenue_retention_of_a_book_worked_by_hand() -> None:
    deals = [
        # a1: starts at 1000 (hank's new business); renewed; expanded by 200.
        deal("a1-nb", "a1", NB, 1000.0, AT_START, owner_id="hank"),
        deal("a1-ren", "a1", REN, 1000.0),
        deal("a1-exp", "a1", EXP, 200.0),
        # a2: starts at 500 (a renewal); its renewal is lost: churned, 500. Its expansion
        # in the window counts nowhere: the account is gone.
        deal("a2-ren0", "a2", REN, 500.0, date(2026, 3, 15)),
        deal("a2-ren", "a2", REN, 500.0, status="lost"),
        deal("a2-exp", "a2", EXP, 50.0, date(2026, 4, 10)),
        # a3: 800 won on the first day of the window before (in); 300 contracted.
        deal("a3-nb", "a3", NB, 800.0, date(2026, 1, 2)),
        deal("a3-con", "a3", CON, 300.0),
        # a4: its only win closed the day before the window before (out): not part of the
        # starting book, so its contraction and expansion count nowhere.
        deal("a4-nb", "a4", NB, 900.0, date(2026, 1, 1)),
        deal("a4-con", "a4", CON, 100.0),
        deal("a4-exp", "a4", EXP, 70.0),
        # a5: a new customer of the window: new business, not retention.
        deal("a5-nb", "a5", NB, 2000.0),
        # a7: 400 won the day before the window (in); a renewal lost, then one won:
        # renewed, not churned.
        deal("a7-nb", "a7", NB, 400.0, date(2026, 4, 1)),
        deal("a7-ren1", "a7", REN, 400.0, date(2026, 4, 20), status="lost"),
        deal("a7-ren2", "a7", REN, 400.0, date(2026, 5, 20)),
        # a8 is hank's: not in fay's book whatever happens to it.
        deal("a8-nb", "a8", NB, 5000.0, AT_START, owner_id="hank"),
        deal("a8-ren", "a8", REN, 5000.0, status="lost", owner_id="hank"),
    ]
    m = fay_book(deals, "a1", "a2", "a3", "a4", "a5", "a7")
    assert m.starting_revenue == 2700.0  # a1 1000 + a2 500 + a3 800 + a7 400
    assert (m.churned_accounts, m.churned_amount) == (1, 500.0)  # a2
    assert m.contracted_amount == 300.0  # a3 (a4 is not in the starting book)
    assert m.book_expansion_amount == 200.0  # a1 (a2 churned, a4 not in the book)
    # (2700 - 500 - 300) / 2700 = 1900 / 2700 = 0.703703...
    assert m.gross_revenue_retention == 0.7037
    # (1900 + 200) / 2700 = 2100 / 2700 = 0.777777...
    assert m.net_revenue_retention == 0.7778
    assert m.expansion_rate == 0.0741  # 200 / 2700 = 0.074074...
    # fay's own expansion wins, on any account: a1 200 + a2 50 + a4 70.
    assert m.expansion_won_amount == 320.0
    assert (m.renewal_won_count, m.renewal_closed_count) == (2, 4)  # a1, a7 / + a2, a7's lost
    assert m.renewal_rate == 0.5


def test_a_book_with_no_revenue_at_the_window_start_has_no_retention() -> None:
    deals = [
        deal("n1", "a1", NB, 1000.0),  # won in the window: a new customer
        deal("c1", "a1", CON, 200.0),
        deal("e1", "a1", EXP, 300.0),
        deal("old", "a2", NB, 700.0, date(2025, 6, 1)),  # long before the window before
        deal("r1", "a2", REN, 700.0, status="lost"),
    ]
    m = fay_book(deals)
    assert m.starting_revenue == 0.0
    assert (m.churned_accounts, m.churned_amount, m.contracted_amount) == (0, 0, 0.0)
    assert m.book_expansion_amount == 0.0
    # Nothing to divide by: empty, not 0 % or 100 %.
    assert m.gross_revenue_retention is None
    assert m.net_revenue_retention is None
    assert m.expansion_rate is None
    assert m.renewal_rate == 0.0  # the renewal still closed: 0 won / 1 closed


def test_contraction_larger_than_expansion_keeps_net_below_one() -> None:
    deals = [
        deal("n1", "a1", NB, 1000.0, AT_START),
        deal("c1", "a1", CON, 400.0),
        deal("e1", "a1", EXP, 100.0),
    ]
    m = fay_book(deals)
    assert m.gross_revenue_retention == 0.6  # (1000 - 400) / 1000
    assert m.net_revenue_retention == 0.7  # (1000 - 400 + 100) / 1000: below 1 though it grew
    assert m.expansion_rate == 0.1  # 100 / 1000: net - gross
    assert m.net_revenue_retention < 1.0


def test_expansion_larger_than_losses_puts_net_above_one() -> None:
    deals = [
        deal("n1", "a1", NB, 1000.0, AT_START),
        deal("c1", "a1", CON, 100.0),
        deal("e1", "a1", EXP, 600.0),
    ]
    m = fay_book(deals)
    assert m.gross_revenue_retention == 0.9  # (1000 - 100) / 1000
    assert m.net_revenue_retention == 1.5  # (1000 - 100 + 600) / 1000
    assert m.expansion_rate == 0.6


def test_contraction_larger_than_the_book_reads_zero_not_negative() -> None:
    deals = [
        deal("n1", "a1", NB, 1000.0, AT_START),
        deal("c1", "a1", CON, 1500.0),
        deal("e1", "a1", EXP, 800.0),
    ]
    m = fay_book(deals)
    assert m.contracted_amount == 1500.0  # shown as recorded
    assert m.gross_revenue_retention == 0.0  # (1000 - 1500) / 1000 = -0.5 -> 0
    assert m.net_revenue_retention == 0.3  # (1000 - 1500 + 800) / 1000
    # Without the expansion the net figure floors at 0 as well: (1000 - 1500) < 0.
    assert fay_book(deals[:2]).net_revenue_retention == 0.0


def test_a_negative_contraction_amount_is_read_as_its_size() -> None:
    deals = [deal("n1", "a1", NB, 1000.0, AT_START), deal("c1", "a1", CON, -250.0)]
    m = fay_book(deals)
    assert m.contracted_amount == 250.0
    assert m.gross_revenue_retention == 0.75  # (1000 - 250) / 1000


def test_blank_amounts_add_nothing_to_retention() -> None:
    deals = [
        deal("n1", "a1", NB, 1000.0, AT_START),
        deal("c1", "a1", CON, None),  # a contraction of unknown size: nothing
        deal("e1", "a1", EXP, None),
        # a2's only win before the window has no amount: no known revenue, not in the book.
        deal("n2", "a2", NB, None, AT_START),
        deal("r2", "a2", REN, 300.0, status="lost"),
    ]
    m = fay_book(deals)
    assert m.starting_revenue == 1000.0
    assert (m.churned_accounts, m.contracted_amount, m.book_expansion_amount) == (0, 0.0, 0.0)
    assert (m.gross_revenue_retention, m.net_revenue_retention) == (1.0, 1.0)


def test_a_churned_account_loses_its_whole_start_and_nothing_more() -> None:
    deals = [
        deal("n1", "a1", NB, 600.0, AT_START),
        deal("e0", "a1", EXP, 400.0, date(2026, 3, 1)),  # starting revenue too: 1000
        deal("c1", "a1", CON, 300.0, date(2026, 4, 15)),  # before it churned
        deal("r1", "a1", REN, 700.0, status="lost"),
        deal("n2", "a2", NB, 1000.0, AT_START),  # a2 stays, untouched
    ]
    m = fay_book(deals)
    assert m.starting_revenue == 2000.0
    assert (m.churned_accounts, m.churned_amount) == (1, 1000.0)  # a1's start, not r1's 700
    assert m.contracted_amount == 0.0  # a1's contraction is inside its churn
    assert m.gross_revenue_retention == 0.5  # (2000 - 1000) / 2000
    assert m.net_revenue_retention == 0.5


def test_the_starting_book_moves_with_its_accounts() -> None:
    owners = [owner("hank"), owner("fay")]
    accounts = [Account("a1", "A1", "hank", lifecycle="customer")]
    deals = [
        deal("n1", "a1", NB, 1000.0, AT_START, owner_id="hank"),
        deal("c1", "a1", CON, 100.0, owner_id="hank"),
    ]
    book = Book(owners, accounts, deals)
    before = compute_role_metrics(book, AS_OF, WINDOW)
    after = compute_role_metrics(book, AS_OF, WINDOW, {"a1": "fay"})
    assert (before["hank"].starting_revenue, before["fay"].starting_revenue) == (1000.0, 0.0)
    assert (after["hank"].starting_revenue, after["fay"].starting_revenue) == (0.0, 1000.0)
    assert after["fay"].gross_revenue_retention == 0.9  # (1000 - 100) / 1000
    assert after["hank"].gross_revenue_retention is None


def test_the_worked_example_of_the_reference_is_computed_and_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from roleSync.rules import reference_metrics

    m = reference_metrics._example_metrics()
    # By hand: start a1 1000 + a2 500 + a3 800 = 2300; a2 churned (500); a3 contracted 300;
    # a1 expanded 200. Gross 1500 / 2300 = 0.65217; net 1700 / 2300 = 0.73913.
    assert (m.starting_revenue, m.churned_amount, m.contracted_amount) == (2300.0, 500.0, 300.0)
    assert (m.gross_revenue_retention, m.net_revenue_retention) == (0.6522, 0.7391)
    assert (m.expansion_rate, m.renewal_rate) == (0.087, 0.5)  # 200 / 2300; 1 of 2
    assert "(2,300 - 500 - 300) / 2,300 = 0.6522" in " ".join(reference_metrics.metrics_section())
    # A formula change the prose did not follow fails the reference's generation.
    monkeypatch.setitem(reference_metrics._EXAMPLE_FIGURES, "net_revenue_retention", 0.74)
    with pytest.raises(AssertionError, match=r"went stale.*net_revenue_retention"):
        reference_metrics.metrics_section()
