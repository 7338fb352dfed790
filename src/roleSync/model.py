"""The normalized, CRM-independent book: owners, accounts and deals.

Adapters translate whatever their CRM calls things into these values; everything
after `pull` (metrics, rules, planning) reads only these. All values are frozen so
that a book can be shared between stages without anyone mutating it under another.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum


class DealKind(StrEnum):
    NEW_BUSINESS = "new_business"
    EXPANSION = "expansion"
    RENEWAL = "renewal"
    CONTRACTION = "contraction"


class Role(StrEnum):
    HUNTER = "hunter"
    FARMER = "farmer"
    # Owners no classification rule matched (for example: no closed deals in the window).
    UNCLASSIFIED = "unclassified"


# Canonical lifecycle value of an account that has bought. Profiles map CRM values
# (Salesforce "Customer - Direct", HubSpot "customer") onto it.
CUSTOMER = "customer"

FieldValue = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Owner:
    id: str
    name: str
    email: str
    title: str = ""
    active: bool = True
    # What the CRM currently holds in the role-metric destination fields, so that a
    # plan only writes metrics that changed.
    recorded: Mapping[str, FieldValue] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    owner_id: str | None
    lifecycle: str = ""
    segment: str = ""
    region: str = ""
    tier: str = ""
    # Extra fields mapped by the connector profile, addressable in rules as
    # `account.fields.<name>`.
    fields: Mapping[str, FieldValue] = field(default_factory=dict, compare=False)
    # "Do not route": set by humans in the CRM; roleSync never moves such an account.
    locked: bool = False
    created: datetime | None = None
    updated: datetime | None = None


@dataclass(frozen=True, slots=True)
class Deal:
    id: str
    account_id: str
    owner_id: str | None
    # None when the CRM value was blank or unmapped; Book infers it.
    kind: DealKind | None
    stage: str
    closed: bool
    won: bool
    amount: float | None
    created: date
    close_date: date | None


def _won_order(deal: Deal) -> tuple[date, date, str]:
    # Deterministic order of an account's won deals: close date, then creation, then id.
    return (deal.close_date or date.max, deal.created, deal.id)


def infer_deal_kinds(deals: Iterable[Deal]) -> list[Deal]:
    """Fill in blank kinds: an account's first won deal is new business, later ones expansion.

    "First" counts every won deal of the account, mapped or not, so that a mapped
    renewal closed before an unmapped deal makes the unmapped one an expansion.
    Open or lost deals with no kind are new business if the account has no won deal
    before their creation, otherwise expansion.
    """
    deals = list(deals)
    first_won: dict[str, tuple[date, date, str]] = {}
    for deal in deals:
        if deal.won:
            key = _won_order(deal)
            if deal.account_id not in first_won or key < first_won[deal.account_id]:
                first_won[deal.account_id] = key
    resolved: list[Deal] = []
    for deal in deals:
        if deal.kind is None:
            first = first_won.get(deal.account_id)
            if deal.won:
                is_first = first == _won_order(deal)
            else:
                is_first = first is None or first[0] >= deal.created
            kind = DealKind.NEW_BUSINESS if is_first else DealKind.EXPANSION
            deal = replace(deal, kind=kind)
        resolved.append(deal)
    return resolved


class Book:
    """A snapshot of one CRM: owners, accounts and deals, indexed for the pure stages.

    Deal kinds are resolved on construction, so every deal in a Book has a kind.
    """

    __slots__ = ("_owners_by_key", "accounts", "deals", "deals_by_account", "owners")

    def __init__(
        self,
        owners: Iterable[Owner],
        accounts: Iterable[Account],
        deals: Iterable[Deal],
    ) -> None:
        self.owners: dict[str, Owner] = {o.id: o for o in sorted(owners, key=lambda o: o.id)}
        self.accounts: dict[str, Account] = {a.id: a for a in sorted(accounts, key=lambda a: a.id)}
        self.deals: list[Deal] = sorted(infer_deal_kinds(deals), key=lambda d: d.id)
        self.deals_by_account: dict[str, list[Deal]] = {}
        for deal in self.deals:
            self.deals_by_account.setdefault(deal.account_id, []).append(deal)
        self._owners_by_key: dict[str, Owner] = {}
        for owner in self.owners.values():
            self._owners_by_key[owner.id] = owner
            if owner.email:
                self._owners_by_key.setdefault(owner.email.casefold(), owner)

    def find_owner(self, key: str) -> Owner | None:
        """An owner by id or by email (case-insensitive), as rule files name them."""
        return self._owners_by_key.get(key) or self._owners_by_key.get(key.casefold())

    def first_won_new_business(self, account_id: str) -> Deal | None:
        """The account's first won new-business deal: the handoff trigger."""
        won = [
            d
            for d in self.deals_by_account.get(account_id, ())
            if d.won and d.kind is DealKind.NEW_BUSINESS and d.close_date is not None
        ]
        return min(won, key=_won_order) if won else None

    def is_customer(self, account: Account) -> bool:
        """A customer by its lifecycle, or by having won any deal."""
        if account.lifecycle == CUSTOMER:
            return True
        return any(d.won for d in self.deals_by_account.get(account.id, ()))

    def __repr__(self) -> str:
        return (
            f"Book(owners={len(self.owners)}, accounts={len(self.accounts)}, "
            f"deals={len(self.deals)})"
        )
