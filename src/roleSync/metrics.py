"""Role metrics: per-owner figures over a trailing window, computed from a Book.

Pure: the book, the `as_of` date and the window in, values out. A deal counts in
the window when it closed in `(as_of - window_days, as_of]`. Deals with no amount
count in every count and add nothing to any amount.

Three groups: the deal mix (what classification started with), the farmer's figures
(renewals and revenue retention, metrics_retention.py) and the hunter's figures (new
logos, new-business conversion, deal size and cycle).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date

from roleSync.errors import RoleSyncError
from roleSync.metrics_retention import (
    FARMING_HELP,
    FARMING_METRICS,
    BookRetention,
    farming_figures,
    ratio,
)
from roleSync.model import CUSTOMER, Book, DealTally, DealWindow


class NotFiniteMetricError(RoleSyncError):
    """A metric came out NaN or infinite: amounts in the book are out of range."""


DEAL_MIX_METRICS = (
    "won_deals",
    "new_business_won_count",
    "new_business_won_amount",
    "expansion_won_amount",
    "renewal_won_amount",
    "won_amount",
    "new_business_share",
    "win_rate",
    "avg_sales_cycle_days",
    "accounts_owned",
    "customer_accounts_owned",
    "managed_revenue",
)

HUNTING_METRICS = (
    "new_logos",
    "new_business_win_rate",
    "avg_new_business_deal_size",
    "new_business_sales_cycle_days",
)

# The groups reports show in tables of their own, each in its order.
METRIC_GROUPS = {
    "deal mix": DEAL_MIX_METRICS,
    "farming": FARMING_METRICS,
    "hunting": HUNTING_METRICS,
}

# Every metric a rule may name, in the order reports show them.
METRIC_NAMES = (*DEAL_MIX_METRICS, *FARMING_METRICS, *HUNTING_METRICS)

# Metrics that are fractions from 0 to 1 (shown as percentages; "gte 60" meant 0.6).
# Net revenue retention and the expansion rate are ratios too, but exceed 1 when a
# book grows.
FRACTION_METRICS = frozenset(
    {
        "new_business_share",
        "win_rate",
        "renewal_rate",
        "gross_revenue_retention",
        "new_business_win_rate",
    }
)
# Ratios that may exceed 1: shown as percentages too.
PERCENT_METRICS = FRACTION_METRICS | {"net_revenue_retention", "expansion_rate"}
# Metrics in the CRM's currency.
AMOUNT_METRICS = frozenset(
    m
    for m in METRIC_NAMES
    if m.endswith("_amount")
    or m in ("managed_revenue", "starting_revenue", "avg_new_business_deal_size")
)

METRIC_HELP = {
    "won_deals": "deals won in the window, of every kind",
    "new_business_won_count": "new-business deals won in the window",
    "new_business_won_amount": "amount of new-business deals won in the window",
    "expansion_won_amount": "amount of expansion (upsell, cross-sell) deals won in the window",
    "renewal_won_amount": "amount of renewal deals won in the window",
    "won_amount": "amount won in the window: new business + expansion + renewal",
    "new_business_share": "new-business share of won amount, 0..1; empty when nothing was won",
    "win_rate": "won / closed in the window, 0..1; empty when nothing closed",
    "avg_sales_cycle_days": "mean days from creation to close of deals won in the window",
    "accounts_owned": "accounts the owner owns now",
    "customer_accounts_owned": "owned accounts that are customers",
    "managed_revenue": "amount won in the window on the accounts the owner owns now, "
    "whoever won it",
    **FARMING_HELP,
    "new_logos": "accounts whose first won new-business deal closed in the window, "
    "counted for that deal's owner",
    "new_business_win_rate": "new-business conversion: new business won / new business closed "
    "in the window, 0..1; empty when none closed",
    "avg_new_business_deal_size": "new-business amount won in the window / new-business deals "
    "won with an amount; empty when none",
    "new_business_sales_cycle_days": "mean days from creation to close of new-business deals "
    "won in the window; empty when none",
}


@dataclass(frozen=True, slots=True)
class RoleMetrics:
    won_deals: int = 0
    new_business_won_count: int = 0
    new_business_won_amount: float = 0.0
    expansion_won_amount: float = 0.0
    renewal_won_amount: float = 0.0
    won_amount: float = 0.0
    new_business_share: float | None = None
    win_rate: float | None = None
    avg_sales_cycle_days: float | None = None
    accounts_owned: int = 0
    customer_accounts_owned: int = 0
    managed_revenue: float = 0.0
    renewal_won_count: int = 0
    renewal_closed_count: int = 0
    renewal_rate: float | None = None
    starting_revenue: float = 0.0
    churned_accounts: int = 0
    churned_amount: float = 0.0
    contracted_amount: float = 0.0
    book_expansion_amount: float = 0.0
    gross_revenue_retention: float | None = None
    net_revenue_retention: float | None = None
    expansion_rate: float | None = None
    new_logos: int = 0
    new_business_win_rate: float | None = None
    avg_new_business_deal_size: float | None = None
    new_business_sales_cycle_days: float | None = None

    def as_dict(self) -> dict[str, int | float | None]:
        return asdict(self)


def window_start(as_of: date, window_days: int) -> date:
    """First day inside the window: deals closing on or after it and on or before as_of count."""
    return DealWindow(as_of, window_days).start


def account_revenue(book: Book, as_of: date, window_days: int) -> Mapping[str, float]:
    """Won amount per account in the window (new business + expansion + renewal)."""
    return book.deal_facts(DealWindow(as_of, window_days)).revenue


@dataclass(slots=True)
class _Holdings:
    """What an owner owns now: accounts, customers, the window's revenue on them, and
    what became of the revenue they had at the window's start."""

    accounts: int = 0
    customers: int = 0
    managed: float = 0.0
    book: BookRetention = field(default_factory=BookRetention)


def compute_role_metrics(
    book: Book, as_of: date, window_days: int, moves: Mapping[str, str] | None = None
) -> dict[str, RoleMetrics]:
    """Role metrics of every owner in the book, keyed by owner id (inactive owners included).

    `moves` (account id -> new owner): the book as it will be once these ownership
    changes are written. Holdings (accounts, customers, managed revenue) move with the
    accounts, and so do deals with a blank owner; other deals stay with their owners."""
    facts = book.deal_facts(DealWindow(as_of, window_days))
    holdings = {owner_id: _Holdings() for owner_id in book.owners}
    revenue, won_accounts, retention = facts.revenue, facts.won_accounts, facts.retention
    moved = moves or {}
    # Deals with a blank owner count for whoever owns their account (after the moves):
    # added per account, accounts in id order, so the sums are the same in every run.
    tallies = dict(facts.tallies)
    for account in book.accounts.values():
        owner_id = moved.get(account.id, account.owner_id) if moved else account.owner_id
        held = holdings.get(owner_id or "")
        if held is None:
            continue
        held.accounts += 1
        held.customers += account.lifecycle == CUSTOMER or account.id in won_accounts
        held.managed += revenue.get(account.id, 0.0)
        kept = retention.get(account.id)
        if kept is not None:
            held.book.add(kept)
        unowned = facts.unowned.get(account.id)
        if unowned is not None and owner_id is not None:
            tallies[owner_id] = tallies.get(owner_id, _EMPTY).plus(unowned)
    metrics = {
        owner_id: _metrics(tallies.get(owner_id, _EMPTY), held)
        for owner_id, held in holdings.items()
    }
    _check_finite(metrics)
    return metrics


_EMPTY = DealTally()


def _check_finite(metrics: Mapping[str, RoleMetrics]) -> None:
    """The last line of defence (book health refuses such amounts first): a NaN or an
    infinity must stop the run here, never reach a plan or a CRM field."""
    for owner_id, values in metrics.items():
        for name, value in values.as_dict().items():
            if isinstance(value, float) and not math.isfinite(value):
                raise NotFiniteMetricError(
                    f"metric {name} of owner {owner_id} is {value}: the book's amounts are "
                    "out of range (see `rolesync check -c PROFILE`, data_quality.amounts)"
                )


def _metrics(t: DealTally, held: _Holdings) -> RoleMetrics:
    won_amount = t.nb_amount + t.expansion_amount + t.renewal_amount
    return RoleMetrics(
        won_deals=t.won,
        new_business_won_count=t.nb_count,
        new_business_won_amount=round(t.nb_amount, 2),
        expansion_won_amount=round(t.expansion_amount, 2),
        renewal_won_amount=round(t.renewal_amount, 2),
        won_amount=round(won_amount, 2),
        new_business_share=ratio(t.nb_amount, won_amount),
        win_rate=ratio(t.won, t.closed),
        avg_sales_cycle_days=round(t.cycle_days / t.won, 1) if t.won else None,
        accounts_owned=held.accounts,
        customer_accounts_owned=held.customers,
        managed_revenue=round(held.managed, 2),
        **farming_figures(t.renewal_won, t.renewal_closed, held.book)._asdict(),
        new_logos=t.new_logos,
        new_business_win_rate=ratio(t.nb_count, t.nb_closed),
        avg_new_business_deal_size=round(t.nb_amount / t.nb_sized, 2) if t.nb_sized else None,
        new_business_sales_cycle_days=(
            round(t.nb_cycle_days / t.nb_count, 1) if t.nb_count else None
        ),
    )
