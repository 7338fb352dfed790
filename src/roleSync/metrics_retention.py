"""The farmer's figures: renewals, and the revenue retention of the owner's book.

Pure: per-account `Retention` facts (deal_facts.py) summed over the accounts an owner
owns now, values out.

The starting book: the accounts the owner owns now that had revenue at the window's
start, i.e. a positive won amount (new business, expansion, renewal) in the window
before this one, as long as it. Its sum is `starting_revenue`. In the window, such an
account either churned (a renewal closed lost and none closed won: all of its starting
revenue is lost), or it stayed, and then its won contraction deals shrink it and its
won expansion deals grow it. Renewals won change nothing: they keep what was there.
Accounts that were not customers at the start (first won in the window) are new
business, not retention: none of their deals counts here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from roleSync.model import Retention

FARMING_METRICS = (
    "renewal_won_count",
    "renewal_closed_count",
    "renewal_rate",
    "starting_revenue",
    "churned_accounts",
    "churned_amount",
    "contracted_amount",
    "book_expansion_amount",
    "gross_revenue_retention",
    "net_revenue_retention",
    "expansion_rate",
)

FARMING_HELP = {
    "renewal_won_count": "renewal deals won in the window",
    "renewal_closed_count": "renewal deals closed (won or lost) in the window",
    "renewal_rate": "renewal win rate: renewals won / renewals closed in the window, 0..1; "
    "empty when no renewal closed (none was due)",
    "starting_revenue": "revenue of the owner's book at the window's start: amount won in the "
    "window before this one (as long) on the accounts the owner owns now",
    "churned_accounts": "accounts of the starting book that closed a renewal lost in the "
    "window and none won",
    "churned_amount": "starting revenue of the churned accounts",
    "contracted_amount": "contraction won in the window on the starting book's accounts that "
    "did not churn (a negative amount counts as its size)",
    "book_expansion_amount": "expansion won in the window on the starting book's accounts "
    "that did not churn, whoever won it",
    "gross_revenue_retention": "(starting revenue - churned - contracted) / starting revenue, "
    "0..1 (below 0 reads 0); empty when the book had no revenue at the window's start",
    "net_revenue_retention": "(starting revenue - churned - contracted + book expansion) / "
    "starting revenue, 0 or more (above 1: the book grew); empty when no starting revenue",
    "expansion_rate": "book expansion / starting revenue, 0 or more; empty when no starting "
    "revenue",
}


@dataclass(slots=True)
class BookRetention:
    """One owner's starting book, summed over the accounts they own now."""

    start: float = 0.0
    churned_accounts: int = 0
    churned: float = 0.0
    contracted: float = 0.0
    expanded: float = 0.0

    def add(self, account: Retention) -> None:
        self.start += account.start
        if account.churned:
            # Gone: its starting revenue is lost whole, and nothing else of it counts.
            self.churned_accounts += 1
            self.churned += account.start
        else:
            self.contracted += account.contracted
            self.expanded += account.expanded


def ratio(part: float, whole: float) -> float | None:
    """part / whole to 4 decimals; empty (None) when there is no whole."""
    return round(part / whole, 4) if whole else None


class FarmingFigures(NamedTuple):
    """The farming metrics, named and ordered as `FARMING_METRICS`."""

    renewal_won_count: int
    renewal_closed_count: int
    renewal_rate: float | None
    starting_revenue: float
    churned_accounts: int
    churned_amount: float
    contracted_amount: float
    book_expansion_amount: float
    gross_revenue_retention: float | None
    net_revenue_retention: float | None
    expansion_rate: float | None


def farming_figures(renewal_won: int, renewal_closed: int, book: BookRetention) -> FarmingFigures:
    """The farming metrics of one owner: their renewal deals, and their starting book."""
    start = book.start
    kept = start - book.churned - book.contracted
    # Contraction larger than what was left would read below 0: nothing is left.
    gross = ratio(min(max(kept, 0.0), start), start)
    net = ratio(max(kept + book.expanded, 0.0), start)
    return FarmingFigures(
        renewal_won,
        renewal_closed,
        ratio(renewal_won, renewal_closed),
        round(start, 2),
        book.churned_accounts,
        round(book.churned, 2),
        round(book.contracted, 2),
        round(book.expanded, 2),
        gross,
        net,
        ratio(book.expanded, start),
    )
