"""The records of a book: owners, accounts, deals, the contacts and tasks that belong
to an account, and deal-kind inference.

Adapters translate whatever their CRM calls things into these values; everything
after `pull` (metrics, rules, planning) reads only these. All values are frozen so
that a book can be shared between stages without anyone mutating it under another.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple


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
    # Extra owner fields mapped by the connector profile, addressable in routes as
    # `owner.fields.<name>` (territory) and read for availability windows.
    fields: Mapping[str, FieldValue] = field(default_factory=dict, compare=False)


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


class Deal(NamedTuple):
    """One opportunity. A named tuple rather than a frozen dataclass: just as immutable,
    and four times cheaper to build, which matters when a pull reads millions."""

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


class Contact(NamedTuple):
    """A person at an account. A named tuple like Deal: a book may hold millions."""

    id: str
    # None: a contact the CRM holds without a company; it follows no account.
    account_id: str | None
    # None: blank in the CRM (no owner of its own).
    owner_id: str | None
    name: str = ""
    email: str = ""


class Task(NamedTuple):
    """An activity about an account (Salesforce Task with WhatId, HubSpot task)."""

    id: str
    account_id: str | None  # the record it is about (Salesforce WhatId); None: none
    owner_id: str | None
    subject: str = ""
    closed: bool = False  # open tasks are what a handoff can carry
    due: date | None = None


def won_order(deal: Deal) -> tuple[date, date, str]:
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
            key = won_order(deal)
            if deal.account_id not in first_won or key < first_won[deal.account_id]:
                first_won[deal.account_id] = key
    resolved: list[Deal] = []
    for deal in deals:
        if deal.kind is None:
            first = first_won.get(deal.account_id)
            if deal.won:
                is_first = first == won_order(deal)
            else:
                is_first = first is None or first[0] >= deal.created
            kind = DealKind.NEW_BUSINESS if is_first else DealKind.EXPANSION
            deal = deal._replace(kind=kind)
        resolved.append(deal)
    return resolved
