"""Deals folded into the few aggregates planning needs, one account at a time.

A plan never needs a deal for itself, only per-owner tallies over the metrics window,
per-account revenue in that window, each account's handoff trigger, whether it has
won anything, and what became of the revenue it had at the window's start (retention).
Folding a stream of deals (grouped by account) into these lets a book of millions of
deals be planned with memory that grows with accounts and owners only.

Pure: deals and a window in, facts out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from operator import attrgetter
from typing import NamedTuple

from roleSync.model.records import Deal, DealKind, infer_deal_kinds, won_order


@dataclass(frozen=True, slots=True)
class DealWindow:
    """The trailing metrics window: deals closing in (as_of - days, as_of] count."""

    as_of: date
    days: int
    # Deal stages (normalized: stripped, casefolded) whose deals a `stage_reached` handoff
    # watches: their deals are kept in `DealFacts.stage_deals`, open ones included. Not
    # part of equality: the same window with more stages watched is the same window.
    stages: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def start(self) -> date:
        """First day inside the window."""
        return self.as_of - timedelta(days=self.days - 1)

    @property
    def before(self) -> date:
        """First day of the window before this one (as long, ending the day before
        `start`): its won amount per account is the book's revenue at the window's start."""
        return self.as_of - timedelta(days=2 * self.days - 1)


class Trigger(NamedTuple):
    """An account's first won new-business deal: the event that starts its handoff.
    (A named tuple: one per account of books with millions, and cheap to build.)"""

    id: str
    amount: float | None
    close_date: date


class Retention(NamedTuple):
    """What became, in the window, of one account's revenue at the window's start.

    Kept only for accounts with such revenue (`start` > 0): the starting book that
    revenue retention is measured on. A named tuple: one per customer of large books."""

    # Won amount (new business, expansion, renewal) that closed in the window before.
    start: float
    # A renewal closed lost in the window and none closed won: the account is gone.
    churned: bool
    # Won contraction amounts in the window, each taken as a positive reduction.
    contracted: float
    # Won expansion amounts in the window.
    expanded: float


@dataclass(slots=True)
class DealTally:
    """One owner's deals that closed in the window."""

    closed: int = 0
    won: int = 0
    nb_count: int = 0
    nb_amount: float = 0.0
    expansion_amount: float = 0.0
    renewal_amount: float = 0.0
    cycle_days: int = 0
    # New business closed (won or lost), won with an amount, and the won ones' cycle days.
    nb_closed: int = 0
    nb_sized: int = 0
    nb_cycle_days: int = 0
    renewal_closed: int = 0
    renewal_won: int = 0
    # Accounts whose first won new-business deal (the handoff trigger) is this tally's
    # and closed in the window.
    new_logos: int = 0

    def plus(self, other: DealTally) -> DealTally:
        """The two tallies together (a new tally; neither is changed)."""
        return DealTally(
            self.closed + other.closed,
            self.won + other.won,
            self.nb_count + other.nb_count,
            self.nb_amount + other.nb_amount,
            self.expansion_amount + other.expansion_amount,
            self.renewal_amount + other.renewal_amount,
            self.cycle_days + other.cycle_days,
            self.nb_closed + other.nb_closed,
            self.nb_sized + other.nb_sized,
            self.nb_cycle_days + other.nb_cycle_days,
            self.renewal_closed + other.renewal_closed,
            self.renewal_won + other.renewal_won,
            self.new_logos + other.new_logos,
        )


@dataclass(slots=True)
class DealFacts:
    """What planning reads from deals. Without a window: the triggers, won accounts and
    count only (tallies and revenue stay empty)."""

    window: DealWindow | None
    deal_count: int = 0
    # Account id -> its first won new-business deal (only accounts that have one).
    triggers: dict[str, Trigger] = field(default_factory=dict)
    # Accounts with at least one won deal: customers whatever their lifecycle says.
    won_accounts: set[str] = field(default_factory=set)
    # Owner id -> tally of the deals they own that closed in the window.
    tallies: dict[str, DealTally] = field(default_factory=dict)
    # Account id -> tally of its deals with a blank owner that closed in the window.
    # They count for whoever owns the account (the Book's rule), so they are kept per
    # account: when a plan moves the account, they move with it (`compute_role_metrics`).
    unowned: dict[str, DealTally] = field(default_factory=dict)
    # Account id -> amount won in the window (new business + expansion + renewal).
    revenue: dict[str, float] = field(default_factory=dict)
    # Account id -> its retention, for accounts with revenue at the window's start.
    retention: dict[str, Retention] = field(default_factory=dict)
    # Account id -> its deals standing at a watched stage (`DealWindow.stages`), by id.
    stage_deals: dict[str, list[Deal]] = field(default_factory=dict)


class DealOrderError(ValueError):
    """The deal stream did not give each account's deals together, in account order."""


_BY_ID = attrgetter("id")


def summarize_deals(groups: Iterable[Sequence[Deal]], window: DealWindow | None) -> DealFacts:
    """Fold deals into facts. `groups` gives every deal of one account together, accounts
    in ascending id order (checked): kind inference and the trigger need all of an
    account's deals at once, and a fixed order keeps float sums identical run to run.
    Deals with a blank owner are tallied per account (`DealFacts.unowned`).

    One flat loop on purpose: it runs once per deal of books with millions of them.
    """
    facts = DealFacts(window)
    start, end = (window.start, window.as_of) if window is not None else (date.max, date.min)
    # Won deals closing from `before` to the day before `start` make the starting revenue.
    before = window.before if window is not None else date.max
    tallies, revenue_of, retention = facts.tallies, facts.revenue, facts.retention
    watched = window.stages if window is not None else frozenset()
    # Enum members as locals: looked up once, not once per deal.
    NB, EXP, REN, CON = (  # noqa: N806
        DealKind.NEW_BUSINESS,
        DealKind.EXPANSION,
        DealKind.RENEWAL,
        DealKind.CONTRACTION,
    )
    previous: str | None = None
    for group in groups:
        if not group:
            continue
        account_id = group[0].account_id
        if previous is not None and account_id <= previous:
            raise DealOrderError(
                f"deals of account {account_id!r} came after those of {previous!r}: "
                "the deal stream must be grouped by account in ascending id order"
            )
        previous = account_id
        deals = sorted(group, key=_BY_ID) if len(group) > 1 else group
        if None in [d.kind for d in deals]:
            deals = infer_deal_kinds(deals)
        facts.deal_count += len(deals)
        first: Deal | None = None
        revenue = starting = contracted = expanded = 0.0
        any_won = in_window = renewed = lost_renewal = False
        if watched:
            at_stage = [d for d in deals if d.stage.strip().casefold() in watched]
            if at_stage:
                facts.stage_deals[account_id] = at_stage
        for deal in deals:
            close = deal.close_date
            won = deal.won
            if won:
                any_won = True
                if (
                    deal.kind is NB
                    and close is not None
                    and (first is None or won_order(deal) < won_order(first))
                ):
                    first = deal
            # An empty window (start > end) when there is none: nothing is tallied.
            if not deal.closed or close is None or close > end:
                continue
            if close < start:
                if won and close >= before and deal.kind is not CON:
                    starting += deal.amount or 0.0
                continue
            kind = deal.kind
            amount = deal.amount or 0.0
            if won and kind is not CON:
                revenue += amount
                in_window = True
            if deal.owner_id:
                tally = tallies.get(deal.owner_id)
                if tally is None:
                    tally = tallies[deal.owner_id] = DealTally()
            else:
                tally = facts.unowned.get(account_id)
                if tally is None:
                    tally = facts.unowned[account_id] = DealTally()
            tally.closed += 1
            if kind is NB:
                tally.nb_closed += 1
            elif kind is REN:
                tally.renewal_closed += 1
                if not won:
                    lost_renewal = True
            if not won:
                continue
            tally.won += 1
            cycle = max((close - deal.created).days, 0)
            tally.cycle_days += cycle
            if kind is NB:
                tally.nb_count += 1
                tally.nb_amount += amount
                tally.nb_cycle_days += cycle
                if deal.amount is not None:
                    tally.nb_sized += 1
            elif kind is EXP:
                tally.expansion_amount += amount
                expanded += amount
            elif kind is REN:
                tally.renewal_won += 1
                tally.renewal_amount += amount
                renewed = True
            else:
                # A contraction is a reduction whichever sign the CRM gives its amount.
                contracted += abs(amount)
        if any_won:
            facts.won_accounts.add(account_id)
        if first is not None and first.close_date is not None:
            facts.triggers[account_id] = Trigger(first.id, first.amount, first.close_date)
            if start <= first.close_date <= end:
                _logo_tally(facts, first, account_id).new_logos += 1
        if in_window:
            revenue_of[account_id] = revenue
        if starting > 0:
            churned = lost_renewal and not renewed
            retention[account_id] = Retention(starting, churned, contracted, expanded)
    return facts


def _logo_tally(facts: DealFacts, deal: Deal, account_id: str) -> DealTally:
    """The tally a new logo counts in: its deal's owner's, or the account's blank-owner one."""
    book = facts.tallies if deal.owner_id else facts.unowned
    key = deal.owner_id or account_id
    tally = book.get(key)
    if tally is None:
        tally = book[key] = DealTally()
    return tally
