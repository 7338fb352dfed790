"""The sample CRM exports under tests/data/exports, written from the demo book.

Run from the repository root to write them again (the tests check they are current):

    python tests/export_samples.py

The same team as `generate_demo_book(AS_OF, SEED)`, written the way each CRM's own
export writes it: Salesforce "Details only" report exports (every cell quoted, owners
by full name, "USD 12,500.00" or "$12,500.00" amounts, M/D/YYYY dates, stock Type and
Stage values, no IsClosed/IsWon) and HubSpot exports with property labels as headers
("First Last" owners, "YYYY-MM-DD HH:MM" dates, "New Business" / "Existing Business"
deal types, default pipeline stage labels, ";"-separated associated company ids).
Everything random comes from one seeded Random, so the files are the same every time.
"""

from __future__ import annotations

import csv
import io
import random
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from roleSync.demo_book import generate_demo_book
from roleSync.model import Account, Deal, DealKind, Owner

AS_OF = date(2026, 6, 30)
SEED = 2026
EXPORTS = Path(__file__).resolve().parent / "data" / "exports"

Row = Sequence[str]

_SF_TYPES = {
    DealKind.NEW_BUSINESS: "New Customer",
    DealKind.EXPANSION: "Existing Customer - Upgrade",
    DealKind.RENEWAL: "Existing Customer - Replacement",
    DealKind.CONTRACTION: "Existing Customer - Downgrade",
}
# The demo book's stages, as stock Salesforce and HubSpot default-pipeline stages.
_SF_STAGES = {"Proposal": "Proposal/Price Quote", "Negotiation": "Negotiation/Review"}
_HS_STAGES = {
    "Prospecting": "Appointment Scheduled",
    "Qualification": "Qualified To Buy",
    "Proposal": "Presentation Scheduled",
    "Negotiation": "Contract Sent",
    "Closed Won": "Closed Won",
    "Closed Lost": "Closed Lost",
}
_HS_PROSPECT_STAGES = ("Lead", "Marketing Qualified Lead", "Sales Qualified Lead", "Opportunity")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _sf_id(prefix: str, number: int) -> str:
    """A 15-character Salesforce id: key prefix, pod, then the record number in base 62."""
    digits = ""
    for _ in range(10):
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    return f"{prefix}5g{digits}"


def _us_date(day: date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


def _csv(rows: Iterable[Row], *, quote_all: bool) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return out.getvalue()


def _sf_amount(rng: random.Random, amount: float | None) -> str:
    if amount is None:
        return ""
    shown = f"{amount:,.2f}"
    return f"USD {shown}" if rng.random() < 0.7 else f"${shown}"


def salesforce(owners: list[Owner], accounts: list[Account], deals: list[Deal]) -> dict[str, str]:
    rng = random.Random(SEED * 7 + 1)
    ids = {o.id: _sf_id("005", n) for n, o in enumerate(owners, start=1)}
    names = {o.id: o.name for o in owners}
    users = [["User ID", "Full Name", "Email", "Title", "Active"]]
    users += [[ids[o.id], o.name, o.email, o.title, "1" if o.active else "0"] for o in owners]
    account_ids = {a.id: _sf_id("001", n) for n, a in enumerate(accounts, start=1)}
    account_names = {a.id: a.name for a in accounts}
    account_rows = [
        [
            "Account ID",
            "Account Name",
            "Account Owner",
            "Type",
            "Segment",
            "Region",
            "Created Date",
            "Last Modified Date",
        ]
    ]
    for a in accounts:
        created = _us_date(a.created.date()) if a.created else ""
        updated = _us_date(a.updated.date()) if a.updated else ""
        owner = names[a.owner_id] if a.owner_id else ""
        account_rows.append(
            [account_ids[a.id], a.name, owner, a.lifecycle, a.segment, a.region, created, updated]
        )
    opportunities = [
        [
            "Opportunity ID",
            "Opportunity Name",
            "Account ID",
            "Opportunity Owner",
            "Type",
            "Stage",
            "Amount",
            "Close Date",
            "Created Date",
        ]
    ]
    for n, d in enumerate(deals, start=1):
        kind = _SF_TYPES[d.kind] if d.kind else ""
        opportunities.append(
            [
                _sf_id("006", n),
                f"{account_names[d.account_id]} - {kind or 'Opportunity'}",
                account_ids[d.account_id],
                names[d.owner_id] if d.owner_id else "",
                kind,
                _SF_STAGES.get(d.stage, d.stage),
                _sf_amount(rng, d.amount),
                _us_date(d.close_date) if d.close_date else "",
                _us_date(d.created),
            ]
        )
    return {
        "users.csv": _csv(users, quote_all=True),
        "accounts.csv": _csv(account_rows, quote_all=True),
        "opportunities.csv": _csv(opportunities, quote_all=True),
    }


def _hs_time(rng: random.Random, moment: date | datetime | None) -> str:
    if moment is None:
        return ""
    if not isinstance(moment, datetime):
        start = datetime.combine(moment, time(), tzinfo=UTC)
        moment = start + timedelta(minutes=rng.randrange(8 * 60, 18 * 60))
    return f"{moment:%Y-%m-%d %H:%M}"


def _hs_amount(amount: float | None) -> str:
    if amount is None:
        return ""
    return str(int(amount)) if amount == int(amount) else str(amount)


def hubspot(owners: list[Owner], accounts: list[Account], deals: list[Deal]) -> dict[str, str]:
    rng = random.Random(SEED * 7 + 2)
    names = {o.id: o.name for o in owners}
    owner_rows = [["First Name", "Last Name", "Email"]]
    owner_rows += [[*o.name.split(" ", 1), o.email] for o in owners]
    company_ids = {a.id: str(18_000_000_000 + 137 * n) for n, a in enumerate(accounts, 1)}
    companies = [
        [
            "Record ID",
            "Company name",
            "Company owner",
            "Lifecycle Stage",
            "Segment",
            "Region",
            "Create Date",
            "Last Modified Date",
        ]
    ]
    for a in accounts:
        stage = (
            "Customer" if a.lifecycle.startswith("Customer") else rng.choice(_HS_PROSPECT_STAGES)
        )
        owner = names[a.owner_id] if a.owner_id else ""
        created, updated = _hs_time(rng, a.created), _hs_time(rng, a.updated)
        companies.append(
            [company_ids[a.id], a.name, owner, stage, a.segment, a.region, created, updated]
        )
    every_company = list(company_ids.values())
    account_names = {a.id: a.name for a in accounts}
    deal_rows = [
        [
            "Record ID",
            "Deal Name",
            "Deal Stage",
            "Pipeline",
            "Amount",
            "Close Date",
            "Create Date",
            "Deal owner",
            "Deal Type",
            "Associated Company IDs",
        ]
    ]
    for n, d in enumerate(deals, start=1):
        kind = (
            ""
            if d.kind is None
            else ("New Business" if d.kind is DealKind.NEW_BUSINESS else "Existing Business")
        )
        associated = company_ids[d.account_id]
        if rng.random() < 0.05:  # a partner or subsidiary also on the deal: listed after
            associated += ";" + rng.choice(every_company)
        deal_rows.append(
            [
                str(9_000_000_000 + 211 * n),
                f"{account_names[d.account_id]} - {kind or 'Deal'} {d.created:%Y-%m}",
                _HS_STAGES[d.stage],
                "Sales Pipeline",
                _hs_amount(d.amount),
                _hs_time(rng, d.close_date),
                _hs_time(rng, d.created),
                names[d.owner_id] if d.owner_id else "",
                kind,
                associated,
            ]
        )
    return {
        "owners.csv": _csv(owner_rows, quote_all=False),
        "companies.csv": _csv(companies, quote_all=False),
        "deals.csv": _csv(deal_rows, quote_all=False),
    }


def samples() -> dict[str, dict[str, str]]:
    """Folder name -> file name -> text, for both CRMs."""
    owners, accounts, deals = generate_demo_book(AS_OF, SEED)
    return {
        "salesforce": salesforce(owners, accounts, deals),
        "hubspot": hubspot(owners, accounts, deals),
    }


def main() -> int:
    for folder, files in samples().items():
        (EXPORTS / folder).mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (EXPORTS / folder / name).write_text(text, encoding="utf-8", newline="")
            print(EXPORTS / folder / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
