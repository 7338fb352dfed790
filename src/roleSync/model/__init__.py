"""The normalized, CRM-independent book: owners, accounts, deals, contacts and tasks.

Adapters translate whatever their CRM calls things into these values; everything
after `pull` (metrics, rules, planning) reads only these.
"""

from roleSync.model.book import Book, FoldedDealsError
from roleSync.model.deal_facts import (
    DealFacts,
    DealOrderError,
    DealTally,
    DealWindow,
    Retention,
    Trigger,
    summarize_deals,
)
from roleSync.model.records import (
    CUSTOMER,
    Account,
    Contact,
    Deal,
    DealKind,
    FieldValue,
    Owner,
    PendingRole,
    Role,
    Task,
    infer_deal_kinds,
    won_order,
)

__all__ = [
    "CUSTOMER",
    "Account",
    "Book",
    "Contact",
    "Deal",
    "DealFacts",
    "DealKind",
    "DealOrderError",
    "DealTally",
    "DealWindow",
    "FieldValue",
    "FoldedDealsError",
    "Owner",
    "PendingRole",
    "Retention",
    "Role",
    "Task",
    "Trigger",
    "infer_deal_kinds",
    "summarize_deals",
    "won_order",
]
