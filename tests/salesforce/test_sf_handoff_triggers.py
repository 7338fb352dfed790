"""End to end against the Salesforce emulator, one test per handoff trigger: a small org
where exactly the intended accounts are due, `rolesync plan` naming the trigger and its
handoff block, then `rolesync sync` through the real adapter over loopback moving
exactly those accounts (counted per record by the emulator) and no others."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sf_helpers import METRIC_FIELDS, new_emulator, writes_of

from handoff_rules import AS_OF, OWNER_LEFT, RECENT, ROLES, ROUTING
from roleSync.cli import main
from roleSync.emulators.salesforce import SalesforceEmulator


def _stamp(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)


class Org:
    """The emulator's store, with short names for the records a test arranges."""

    def __init__(self, emu: SalesforceEmulator) -> None:
        self.emu = emu
        self.users: dict[str, str] = {}

    def user(self, name: str, *, active: bool = True) -> str:
        self.users[name] = self.emu.store.insert(
            "User",
            {"Username": f"{name}@example.com", "LastName": name, "Email": f"{name}@example.com",
             "IsActive": active},
        )  # fmt: skip
        return self.users[name]

    def account(self, name: str, owner: str, kind: str = "Prospect", updated: date = RECENT) -> str:
        stamp = _stamp(updated)
        return self.emu.store.insert(
            "Account",
            {"Name": name, "OwnerId": self.users[owner], "Type": kind,
             "CreatedDate": _stamp(date(2022, 1, 3)), "LastModifiedDate": stamp},
        )  # fmt: skip

    def deal(self, account: str, owner: str, kind: str, stage: str, on: date) -> str:
        closed = stage.startswith("Closed")
        return self.emu.store.insert(
            "Opportunity",
            {"Name": f"{kind} {on}", "AccountId": account, "OwnerId": self.users[owner],
             "Type": kind, "StageName": stage, "Amount": 1000.0, "CreatedDate": _stamp(on),
             "CloseDate": on if closed else AS_OF + timedelta(days=30)},
        )  # fmt: skip

    def owner_of(self, account: str) -> str:
        found = self.emu.store.get("Account", account)
        assert found is not None
        return str(found["OwnerId"])


@pytest.fixture
def org() -> Iterator[Org]:
    """A hunter (h: new business won in the window) and a farmer (f: expansions only),
    plus `h-old`, whose first win is years back: the age limit keeps it, whatever the
    trigger under test."""
    emu = new_emulator()
    org = Org(emu)
    org.user("h")
    org.user("f")
    old = org.account("Old win", "h", "Customer - Direct")
    org.deal(old, "h", "New Customer", "Closed Won", date(2023, 1, 10))
    org.deal(old, "h", "New Customer", "Closed Won", RECENT)
    farmed = org.account("Farmed", "f", "Customer - Direct")
    org.deal(farmed, "f", "Existing Customer - Upgrade", "Closed Won", RECENT)
    with emu:
        yield org


def _run(
    tmp_path: Path, org: Org, block: str, monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """Plan (returns its changes), then sync twice."""
    emu = org.emu
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "roles.yaml").write_text(ROLES)
    (rules / "routing.yaml").write_text(ROUTING.format(block=block))
    profile = tmp_path / "salesforce.yaml"
    profile.write_text(
        "version: 1\nkind: salesforce\nname: t\n"
        f"salesforce: {{instance_url: '{emu.url}', ca_bundle: '{emu.ca_path}',\n"
        "  auth: {method: access_token, access_token_env: SF_ACCESS_TOKEN}}\n"
        f"metrics: {{write: false, fields: {json.dumps(METRIC_FIELDS)}}}\n"
        'guardrails: {"max_changes": 100, "max_share": 1.0}\n'
    )
    monkeypatch.setenv("SF_ACCESS_TOKEN", emu.config.access_token)
    common = ["-c", str(profile), "-r", str(rules), "--as-of", AS_OF.isoformat()]
    plan_file = tmp_path / "plan.json"
    assert main(["plan", *common, "-o", str(plan_file)]) == 0
    assert emu.counters["write_requests"] == 0  # planning writes nothing
    assert main(["sync", *common]) == 0
    # A second sync finds nothing left to move: _moved() checks one write per account.
    assert main(["sync", *common]) == 0
    changes: list[dict[str, Any]] = json.loads(plan_file.read_text())["changes"]
    return changes


def _moved(org: Org, changes: list[dict[str, Any]], expected: dict[str, str]) -> None:
    """The plan moves exactly `expected` (account id -> new owner name), the org shows
    it, and each moved account was written once, nothing else at all."""
    users = org.users
    assert {c["account_id"]: c["to_owner_id"] for c in changes} == {
        a: users[o] for a, o in expected.items()
    }
    for account, owner in expected.items():
        assert org.owner_of(account) == users[owner]
    assert dict(writes_of(org.emu)) == dict.fromkeys(expected, 1)


def test_first_won_new_business(tmp_path: Path, org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    won = org.account("Won", "h", "Customer - Direct")
    org.deal(won, "h", "New Customer", "Closed Won", AS_OF - timedelta(days=20))
    block = "{id: first-win, trigger: first_won_new_business, delay_days: 14}"
    changes = _run(tmp_path, org, block, monkeypatch)
    assert [(c["trigger"], c["handoff_id"]) for c in changes] == [
        ("first_won_new_business", "first-win")
    ]
    _moved(org, changes, {won: "f"})


def test_stage_reached(tmp_path: Path, org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    signing = org.account("Signing", "h")
    org.deal(signing, "h", "New Customer", "Negotiation/Review", AS_OF - timedelta(days=10))
    upsell = org.account("Upsell", "h", "Customer - Direct")
    org.deal(upsell, "h", "Existing Customer - Upgrade", "Negotiation/Review", AS_OF)
    block = (
        "{id: signed, trigger: stage_reached, stage: negotiation/review, "
        "kinds: [new_business], max_age_days: 60}"
    )
    changes = _run(tmp_path, org, block, monkeypatch)
    assert [(c["trigger"], c["handoff_id"]) for c in changes] == [("stage_reached", "signed")]
    _moved(org, changes, {signing: "f"})
    assert org.owner_of(upsell) == org.users["h"]


def test_lifecycle_became(tmp_path: Path, org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = org.account("New customer", "h", "Customer - Direct", updated=date(2026, 6, 25))
    stale = org.account("Old customer", "h", "Customer - Channel", updated=date(2025, 6, 25))
    block = "{id: customer, trigger: lifecycle_became, lifecycle: customer, max_age_days: 30}"
    changes = _run(tmp_path, org, block, monkeypatch)
    assert [(c["trigger"], c["handoff_id"]) for c in changes] == [("lifecycle_became", "customer")]
    _moved(org, changes, {fresh: "f"})
    assert org.owner_of(stale) == org.users["h"]


def test_owner_left(tmp_path: Path, org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    """A deactivated user (IsActive false): their customer goes to the farmer, their
    prospect to the hunter; nothing stays with them."""
    org.user("gone", active=False)
    customer = org.account("Their customer", "gone", "Customer - Direct")
    prospect = org.account("Their prospect", "gone", "Prospect")
    changes = _run(tmp_path, org, OWNER_LEFT, monkeypatch)
    assert {(c["trigger"], c["handoff_id"]) for c in changes} == {("owner_left", "owner-left")}
    _moved(org, changes, {customer: "f", prospect: "h"})
