"""End to end on the local book, one test per handoff trigger: `rolesync plan` names the
trigger and its handoff block in the plan file, `rolesync explain` tells which trigger
fired, and `rolesync sync` moves the account in the book (and leaves the one whose
trigger is older than the age limit)."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sync_helpers import AS_OF, ROLES

from roleSync.adapters.local_store import write_book
from roleSync.cli import main
from roleSync.model import Account, Deal, DealKind, Owner

ROUTING = """\
version: 1
kind: routing
handoffs:
  - {block}
routes:
  - id: farmers
    assign: {{pool: {{role: farmer}}}}
"""


def _won(deal_id: str, account: str, owner: str, kind: DealKind, closed: date) -> Deal:
    return Deal(deal_id, account, owner, kind, "Closed Won", True, True, 1000.0, closed, closed)


def _book(path: Path, accounts: list[Account], deals: list[Deal]) -> None:
    """A hunter (h, new business won in the window) and a farmer (f, expansions only),
    with `accounts` and `deals` besides."""
    owners = [Owner("h", "Hank", "h@example.com"), Owner("f", "Fran", "f@example.com")]
    base = [Account("h-old", "Old win", "h"), Account("f-1", "Farmed", "f", lifecycle="customer")]
    recent = AS_OF - timedelta(days=100)
    base_deals = [
        # h-old's first win is years back: its later wins make Hank a hunter, and the
        # account must not move (the age limit), whatever the trigger under test.
        _won("h-old-1", "h-old", "h", DealKind.NEW_BUSINESS, date(2023, 1, 10)),
        _won("h-old-2", "h-old", "h", DealKind.NEW_BUSINESS, recent),
        _won("f-1-up", "f-1", "f", DealKind.EXPANSION, recent),
    ]
    write_book(path, owners, base + accounts, base_deals + deals)


def _fixture(tmp_path: Path, block: str, accounts: list[Account], deals: list[Deal]) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "roles.yaml").write_text(ROLES)
    (rules / "routing.yaml").write_text(ROUTING.format(block=block))
    _book(tmp_path / "book.db", accounts, deals)
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "version: 1\nkind: local\nname: t\nlocal: {path: book.db}\nmetrics: {write: false}\n"
        'guardrails: {"max_changes": 100, "max_share": 1.0}\n'
    )
    return profile


def _owners(tmp_path: Path) -> dict[str, str]:
    con = sqlite3.connect(tmp_path / "book.db")
    try:
        return dict(con.execute("SELECT id, owner_id FROM accounts").fetchall())
    finally:
        con.close()


def _run(
    tmp_path: Path, profile: Path, account: str, capsys: pytest.CaptureFixture[str], too_old: int
) -> tuple[dict[str, object], str]:
    """Plan (checked: one change, `too_old` accounts left by the age limit), explain,
    sync: the plan's change of `account` and the explanation."""
    common = ["-c", str(profile), "-r", str(tmp_path / "rules"), "--as-of", AS_OF.isoformat()]
    plan_file = tmp_path / "plan.json"
    assert main(["plan", *common, "-o", str(plan_file)]) == 0
    plan = json.loads(plan_file.read_text())
    changes = {c["account_id"]: c for c in plan["changes"]}
    assert set(changes) == {account}, plan["changes"]
    assert plan["summary"].get("too_old", 0) == too_old
    said = "".join(capsys.readouterr())  # plan -o: the summary goes to stderr
    # The age limit is told, with the way to a backfill, only when it kept accounts.
    told = f"{too_old} accounts whose handoff trigger is older than its age limit stay"
    assert (told in said) == (too_old > 0), said
    # Before the sync: the move bumps the account's `updated`, a lifecycle_became date.
    assert main(["explain", *common, account]) == 0
    explained = capsys.readouterr().out
    assert main(["sync", *common]) == 0
    return changes[account], explained


def test_first_won_new_business_moves_a_recent_win_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    block = "{id: first-win, trigger: first_won_new_business, delay_days: 14}"
    accounts = [Account("won", "Won", "h")]
    deals = [_won("won-1", "won", "h", DealKind.NEW_BUSINESS, AS_OF - timedelta(days=20))]
    profile = _fixture(tmp_path, block, accounts, deals)
    change, explained = _run(tmp_path, profile, "won", capsys, too_old=1)
    assert (change["trigger"], change["handoff_id"]) == ("first_won_new_business", "first-win")
    assert _owners(tmp_path) == {"won": "f", "h-old": "h", "f-1": "f"}
    assert (
        "Handoff trigger: first_won_new_business (handoff first-win): deal won-1 (1,000), "
        "first new business won on 2026-06-10." in explained
    )


def test_stage_reached_moves_the_account_of_an_open_deal_at_the_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    block = (
        "{id: signed, trigger: stage_reached, stage: negotiation/review, "
        "kinds: [new_business], max_age_days: 60}"
    )
    accounts = [Account("signing", "Signing", "h"), Account("upsell", "Upsell", "h")]
    created = AS_OF - timedelta(days=10)
    deals = [
        Deal("s-1", "signing", "h", DealKind.NEW_BUSINESS, "Negotiation/Review", False, False,
             5000.0, created, AS_OF + timedelta(days=30)),
        Deal("u-1", "upsell", "h", DealKind.EXPANSION, "Negotiation/Review", False, False,
             5000.0, created, None),
    ]  # fmt: skip
    profile = _fixture(tmp_path, block, accounts, deals)
    change, explained = _run(tmp_path, profile, "signing", capsys, too_old=0)
    assert (change["trigger"], change["handoff_id"]) == ("stage_reached", "signed")
    assert _owners(tmp_path)["signing"] == "f" and _owners(tmp_path)["upsell"] == "h"
    assert (
        "Handoff trigger: stage_reached negotiation/review (new_business) (handoff signed): "
        "new_business deal s-1 at stage Negotiation/Review (created 2026-06-20)." in explained
    )


def test_lifecycle_became_moves_a_fresh_customer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    block = "{id: customer, trigger: lifecycle_became, lifecycle: customer, max_age_days: 30}"
    accounts = [
        Account("new-cust", "New customer", "h", lifecycle="customer",
                updated=datetime(2026, 6, 25, 9, 30)),
        Account("old-cust", "Old customer", "h", lifecycle="customer",
                updated=datetime(2025, 6, 25, 9, 30)),
    ]  # fmt: skip
    profile = _fixture(tmp_path, block, accounts, [])
    change, explained = _run(tmp_path, profile, "new-cust", capsys, too_old=1)
    assert (change["trigger"], change["handoff_id"]) == ("lifecycle_became", "customer")
    assert _owners(tmp_path)["new-cust"] == "f" and _owners(tmp_path)["old-cust"] == "h"
    assert (
        "Handoff trigger: lifecycle_became customer (handoff customer): lifecycle customer "
        "(account updated 2026-06-25)." in explained
    )
