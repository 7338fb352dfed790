"""The normalized, CRM-independent book: owners, accounts and deals.

Adapters translate whatever their CRM calls things into these values; everything
after `pull` (metrics, rules, planning) reads only these.
"""

from roleSync.model.book import Book, FoldedDealsError
from roleSync.model.deal_facts import (
    DealFacts,
    DealOrderError,
    DealTally,
    DealWindow,
    Trigger,
    summarize_deals,
)
from roleSync.model.records import (
    CUSTOMER,
    Account,
    Deal,
    DealKind,
    FieldValue,
    Owner,
    Role,
    infer_deal_kinds,
    won_order,
)

__all__ = [
    "CUSTOMER",
    "Account",
    "Book",
    "Deal",
    "DealFacts",
    "DealKind",
    "DealOrderError",
    "DealTally",
    "DealWindow",
    "FieldValue",
    "FoldedDealsError",
    "Owner",
    "Role",
    "Trigger",
    "infer_deal_kinds",
    "summarize_deals",
    "won_order",
]
