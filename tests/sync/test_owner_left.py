"""End to end on the local book, trigger owner_left: a farmer holding 200 accounts is
deactivated (`active` false in the book) and one sync redistributes the whole book by
the block's own routes (customers to farmers, prospects to hunters) within the capacity
caps, leaving nothing on the departed owner; a second sync has nothing left to move."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sync_helpers import AS_OF, ROLES

from roleSync.adapters.local_store import write_book
from roleSync.cli import main
from roleSync.model import Account, Deal, DealKind, Owner

FARMERS, HUNTERS = ("f1", "f2", "f3"), ("h1", "h2")
FARMER_CAP, HUNTER_CAP = 60, 40

ROUTING = f"""\
version: 1
kind: routing
handoffs:
  - id: owner-left
    trigger: owner_left
    routes:
      - id: left-customers
        when: {{field: account.lifecycle, op: eq, value: customer}}
        assign:
          pool: {{role: farmer}}
          strategy: least_loaded
          capacity: {{max_accounts: {FARMER_CAP}}}
      - id: left-prospects
        assign:
          pool: {{role: hunter}}
          strategy: round_robin
          capacity: {{max_accounts: {HUNTER_CAP}}}
routes:
  - id: farmers
    assign: {{pool: {{role: farmer}}}}
"""


def _deal(deal_id: str, account: str, owner: str, kind: DealKind, won: bool) -> Deal:
    on = AS_OF - timedelta(days=100)
    stage = "Closed Won" if won else "Prospecting"
    return Deal(deal_id, account, owner, kind, stage, won, won, 1000.0, on, on if won else None)


def _book(path: Path) -> None:
    """Three farmers and two hunters with a few accounts each, and `gone`, a deactivated
    farmer holding 200 accounts: 140 customers (every fourth with an open renewal) and
    60 prospects (every other with open new business)."""
    owners = [Owner(o, o.upper(), f"{o}@example.com") for o in FARMERS + HUNTERS]
    owners.append(Owner("gone", "Gone", "gone@example.com", active=False))
    accounts, deals = [], []
    for owner in FARMERS + HUNTERS:
        kind = DealKind.EXPANSION if owner in FARMERS else DealKind.NEW_BUSINESS
        for n in range(5):
            accounts.append(Account(f"{owner}-{n}", f"{owner} {n}", owner, lifecycle="customer"))
            deals.append(_deal(f"{owner}-{n}-won", f"{owner}-{n}", owner, kind, won=True))
    for n in range(200):
        customer = n < 140
        account_id = f"gone-{n:03}"
        lifecycle = "customer" if customer else "prospect"
        accounts.append(Account(account_id, f"Gone {n}", "gone", lifecycle=lifecycle))
        if customer and n % 4 == 0:
            deals.append(_deal(f"{account_id}-renew", account_id, "gone", DealKind.RENEWAL, False))
        elif not customer and n % 2 == 0:
            deals.append(
                _deal(f"{account_id}-new", account_id, "gone", DealKind.NEW_BUSINESS, False)
            )
    write_book(path, owners, accounts, deals)


def _owners(book: Path) -> dict[str, str]:
    con = sqlite3.connect(book)
    try:
        return dict(con.execute("SELECT id, owner_id FROM accounts").fetchall())
    finally:
        con.close()


@pytest.fixture
def common(tmp_path: Path) -> list[str]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "roles.yaml").write_text(ROLES)
    (rules / "routing.yaml").write_text(ROUTING)
    _book(tmp_path / "book.db")
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "version: 1\nkind: local\nname: t\nlocal: {path: book.db}\nmetrics: {write: false}\n"
        'guardrails: {"max_changes": 1000, "max_share": 1.0}\n'
    )
    return ["-c", str(profile), "-r", str(rules), "--as-of", AS_OF.isoformat()]


def test_a_departed_farmers_200_accounts_are_redistributed_within_caps(
    tmp_path: Path, common: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    plan_file = tmp_path / "plan.json"
    assert main(["plan", *common, "-o", str(plan_file)]) == 0
    plan = json.loads(plan_file.read_text())
    assert len(plan["changes"]) == 200 and plan["skipped"] == []
    assert {(c["trigger"], c["handoff_id"]) for c in plan["changes"]} == {
        ("owner_left", "owner-left")
    }
    assert main(["explain", *common, "gone-000"]) == 0
    explained = capsys.readouterr().out
    assert (
        "Handoff trigger: owner_left (handoff owner-left): owner deactivated "
        "(seen inactive on 2026-06-30)." in explained
    )
    assert "Its owner is deactivated: owner_left redistributes their whole book." in explained
    assert "1. left-customers: matched" in explained

    assert main(["sync", *common]) == 0
    after = _owners(tmp_path / "book.db")
    assert "gone" not in after.values()  # none left on the inactive owner
    for n in range(200):
        new_owner = after[f"gone-{n:03}"]
        assert new_owner in (FARMERS if n < 140 else HUNTERS), (n, new_owner)
    loads = Counter(after.values())
    assert all(loads[f] <= FARMER_CAP for f in FARMERS), loads
    assert all(loads[h] <= HUNTER_CAP for h in HUNTERS), loads
    assert sum(loads.values()) == 225  # nothing lost: 25 own accounts + the 200

    capsys.readouterr()
    assert main(["plan", *common, "-o", str(plan_file)]) == 0
    again = json.loads(plan_file.read_text())
    assert again["changes"] == [] and again["skipped"] == []
    assert main(["sync", *common]) == 0
    assert _owners(tmp_path / "book.db") == after


def test_accounts_past_the_caps_are_skipped_with_the_reason_and_stay(
    tmp_path: Path, common: list[str]
) -> None:
    """Caps too small for the book: what cannot be placed is a skip saying why, and the
    account stays where it is (with its departed owner) rather than breaking a cap."""
    routing = tmp_path / "rules" / "routing.yaml"
    routing.write_text(
        routing.read_text().replace(f"max_accounts: {HUNTER_CAP}", "max_accounts: 20")
    )
    plan_file = tmp_path / "plan.json"
    assert main(["plan", *common, "-o", str(plan_file)]) == 0
    plan = json.loads(plan_file.read_text())
    skipped = {s["account_id"]: s for s in plan["skipped"]}
    # two hunters with 5 accounts each take 15 more apiece: 30 of the 60 prospects
    assert len(skipped) == 30 and len(plan["changes"]) == 170
    reasons = {(s["code"], s["reason"]) for s in skipped.values()}
    assert reasons == {
        (
            "no-eligible-farmer",
            "route left-prospects: no eligible hunter among 2 (2 at capacity (20 accounts))",
        )
    }
    assert main(["sync", *common]) == 0
    after = _owners(tmp_path / "book.db")
    assert all(after[a] == "gone" for a in skipped)
    assert Counter(after.values())["h1"] == 20 and Counter(after.values())["h2"] == 20
