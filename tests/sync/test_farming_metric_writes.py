"""The farming and hunting metrics are written back where the profile's `metrics.fields`
says, by a sync of a local book, with the values worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sync_helpers import AS_OF, ROLES, ROUTING

from roleSync.adapters.local import LocalAdapter
from roleSync.adapters.local_store import write_book
from roleSync.cli import main
from roleSync.model import Account, Deal, DealKind, Owner
from roleSync.profile import load_profile

NB, REN, EXP = DealKind.NEW_BUSINESS, DealKind.RENEWAL, DealKind.EXPANSION


def _deal(
    deal_id: str, account: str, owner: str, kind: DealKind, amount: float, close: date, *, won: bool
) -> Deal:
    created = close - timedelta(days=60)
    stage = "Closed Won" if won else "Closed Lost"
    return Deal(deal_id, account, owner, kind, stage, True, won, amount, created, close)


def test_a_sync_writes_the_new_metrics_into_the_named_fields(tmp_path: Path) -> None:
    # Window: 2025-07-01 .. 2026-06-30; the window before: 2024-07-01 .. 2025-06-30.
    owners = [Owner("hank", "Hank", "hank@example.com"), Owner("fay", "Fay", "fay@example.com")]
    accounts = [
        Account("c1", "C1", "fay", lifecycle="customer"),
        Account("c2", "C2", "fay", lifecycle="customer"),
        Account("n1", "N1", "hank", lifecycle="customer"),
    ]
    deals = [
        # c1: 1000 at the start (hank's win), renewed by fay, 250 of expansion.
        _deal("c1-nb", "c1", "hank", NB, 1000.0, date(2025, 3, 1), won=True),
        _deal("c1-ren", "c1", "fay", REN, 1000.0, date(2026, 3, 1), won=True),
        _deal("c1-exp", "c1", "fay", EXP, 250.0, date(2026, 4, 1), won=True),
        # c2: 1000 at the start; its renewal lost: churned.
        _deal("c2-nb", "c2", "hank", NB, 1000.0, date(2025, 5, 1), won=True),
        _deal("c2-ren", "c2", "fay", REN, 1000.0, date(2026, 5, 1), won=False),
        # n1: hank's new logo, 3000, created 2026-04-01, won 60 days later. Due at once
        # (delay 0): the sync hands it to fay, which changes none of these figures.
        _deal("n1-nb", "n1", "hank", NB, 3000.0, date(2026, 5, 31), won=True),
    ]
    write_book(tmp_path / "book.db", owners, accounts, deals)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "roles.yaml").write_text(ROLES)
    (rules / "routing.yaml").write_text(ROUTING.format(from_roles="hunter"))
    fields = {
        "role": "Role",
        "renewal_rate": "Renewal_Rate",
        "gross_revenue_retention": "GRR",
        "net_revenue_retention": "NRR",
        "churned_amount": "Churned",
        "new_logos": "New_Logos",
        "avg_new_business_deal_size": "Avg_Deal",
        "new_business_sales_cycle_days": "NB_Cycle",
    }
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "version: 1\nkind: local\nname: test\nlocal: {path: book.db}\n"
        f"metrics: {{fields: {fields}}}\n"
        "guardrails: {max_changes: 100, max_share: 1.0}\n"
    )
    args = ["sync", "-c", str(profile), "-r", str(rules), "--as-of", AS_OF.isoformat()]
    assert main(args) == 0

    book = LocalAdapter(load_profile(profile)).pull()
    assert book.accounts["n1"].owner_id == "fay"
    assert book.owners["fay"].recorded == {
        "Role": "farmer",  # won 1000 renewal + 250 expansion: no new business
        "Renewal_Rate": 0.5,  # 1 won / 2 closed
        "GRR": 0.5,  # (2000 - 1000) / 2000
        "NRR": 0.625,  # (1000 + 250) / 2000
        "Churned": 1000.0,  # c2's starting revenue
        "New_Logos": 0,
        "Avg_Deal": None,
        "NB_Cycle": None,
    }
    assert book.owners["hank"].recorded == {
        "Role": "hunter",
        "Renewal_Rate": None,  # no renewal closed
        "GRR": None,  # owns no account with revenue at the start
        "NRR": None,
        "Churned": 0.0,
        "New_Logos": 1,  # n1, still hank's logo after the handoff
        "Avg_Deal": 3000.0,
        "NB_Cycle": 60.0,  # 2026-04-01 -> 2026-05-31
    }
