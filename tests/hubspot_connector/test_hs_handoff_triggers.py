"""End to end against the HubSpot emulator, one test per handoff trigger: a small portal
where exactly the intended companies are due, `rolesync plan` naming the trigger and its
handoff block, then `rolesync sync` through the real adapter over loopback moving
exactly those companies (counted per record by the emulator) and no others."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hs_adapter_support import METRIC_FIELDS, owner_of, writes

from handoff_rules import AS_OF, OWNER_LEFT, RECENT, ROLES, ROUTING
from hs_portal import relaxed
from roleSync.cli import main
from roleSync.emulators.hubspot import HubSpotEmulator
from roleSync.emulators.hubspot.store import Owner
from roleSync.emulators.hubspot.wire import iso_ms, to_ms

PROFILE = """\
version: 1
kind: hubspot
name: t
hubspot:
  host: '{host}'
  auth: {{method: private_app, access_token_env: HUBSPOT_ACCESS_TOKEN}}
  rate_limit: {{burst: 10000, search_per_second: 1000}}
deal_kinds: {{newbusiness: new_business, existingbusiness: expansion}}
lifecycle: {{customer: customer, lead: prospect}}
metrics: {{write: false, fields: {fields}}}
guardrails: {{"max_changes": 100, "max_share": 1.0}}
"""


def _ms(day: date) -> int:
    return to_ms(datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC))


class Portal:
    """The emulator's store, with short names for the records a test arranges."""

    def __init__(self, emu: HubSpotEmulator) -> None:
        self.emu = emu
        self.owners: dict[str, str] = {}

    def owner(self, name: str) -> str:
        owner_id = str(101 + len(self.owners))
        user_id = 9001 + len(self.owners)
        self.emu.store.add_owner(Owner(owner_id, f"{name}@example.com", name, name, user_id))
        self.owners[name] = owner_id
        return owner_id

    def company(self, name: str, owner: str, stage: str = "lead", updated: date = RECENT) -> str:
        values: dict[str, str | None] = {
            "name": name, "hubspot_owner_id": self.owners[owner], "lifecyclestage": stage,
        }  # fmt: skip
        return self.emu.store.insert(
            "companies", values, created_ms=_ms(date(2022, 1, 3)), updated_ms=_ms(updated)
        )

    def deal(self, company: str, owner: str, kind: str, stage: str, on: date) -> str:
        closes = on if stage.startswith("closed") else AS_OF + timedelta(days=30)
        values: dict[str, str | None] = {
            "dealname": f"{kind} {on}", "hubspot_owner_id": self.owners[owner],
            "dealtype": kind, "dealstage": stage, "pipeline": "default", "amount": "1000.00",
            "closedate": iso_ms(_ms(closes)),
        }  # fmt: skip
        deal_id = self.emu.store.insert("deals", values, created_ms=_ms(on))
        self.emu.store.associate(company, deal_id)
        return deal_id

    def owner_of(self, company: str) -> str | None:
        return owner_of(self.emu, company)


@pytest.fixture
def portal() -> Iterator[Portal]:
    """A hunter (h: new business won in the window) and a farmer (f: expansions only),
    plus a company whose first win is years back: the age limit keeps it, whatever the
    trigger under test."""
    with HubSpotEmulator(relaxed()) as emu:
        portal = Portal(emu)
        portal.owner("h")
        portal.owner("f")
        old = portal.company("Old win", "h", "customer")
        portal.deal(old, "h", "newbusiness", "closedwon", date(2023, 1, 10))
        portal.deal(old, "h", "newbusiness", "closedwon", RECENT)
        farmed = portal.company("Farmed", "f", "customer")
        portal.deal(farmed, "f", "existingbusiness", "closedwon", RECENT)
        yield portal
        assert not emu.internal_errors, emu.internal_errors[0]


def _run(
    tmp_path: Path, portal: Portal, block: str, monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """Plan (returns its changes), then sync twice."""
    emu = portal.emu
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "roles.yaml").write_text(ROLES)
    (rules / "routing.yaml").write_text(ROUTING.format(block=block))
    profile = tmp_path / "hubspot.yaml"
    profile.write_text(PROFILE.format(host=emu.url, fields=json.dumps(METRIC_FIELDS)))
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", emu.config.access_token)
    common = ["-c", str(profile), "-r", str(rules), "--as-of", AS_OF.isoformat()]
    plan_file = tmp_path / "plan.json"
    assert main(["plan", *common, "-o", str(plan_file)]) == 0
    assert emu.counters["write_requests"] == 0  # planning writes nothing
    assert main(["sync", *common]) == 0
    # A second sync finds nothing left to move: _moved() checks one write per account.
    assert main(["sync", *common]) == 0
    changes: list[dict[str, Any]] = json.loads(plan_file.read_text())["changes"]
    return changes


def _moved(portal: Portal, changes: list[dict[str, Any]], expected: dict[str, str]) -> None:
    """The plan moves exactly `expected` (company id -> new owner name), the portal shows
    it, and each moved company was written once, no other company at all."""
    owners = portal.owners
    assert {c["account_id"]: c["to_owner_id"] for c in changes} == {
        c: owners[o] for c, o in expected.items()
    }
    for company, owner in expected.items():
        assert portal.owner_of(company) == owners[owner]
    assert dict(writes(portal.emu)) == dict.fromkeys(expected, 1)


def test_first_won_new_business(
    tmp_path: Path, portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    won = portal.company("Won", "h", "customer")
    portal.deal(won, "h", "newbusiness", "closedwon", AS_OF - timedelta(days=20))
    block = "{id: first-win, trigger: first_won_new_business, delay_days: 14}"
    changes = _run(tmp_path, portal, block, monkeypatch)
    assert [(c["trigger"], c["handoff_id"]) for c in changes] == [
        ("first_won_new_business", "first-win")
    ]
    _moved(portal, changes, {won: "f"})


def test_stage_reached(tmp_path: Path, portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    signing = portal.company("Signing", "h")
    portal.deal(signing, "h", "newbusiness", "contractsent", AS_OF - timedelta(days=10))
    upsell = portal.company("Upsell", "h", "customer")
    portal.deal(upsell, "h", "existingbusiness", "contractsent", AS_OF)
    block = (
        "{id: signed, trigger: stage_reached, stage: contractsent, "
        "kinds: [new_business], max_age_days: 60}"
    )
    changes = _run(tmp_path, portal, block, monkeypatch)
    assert [(c["trigger"], c["handoff_id"]) for c in changes] == [("stage_reached", "signed")]
    _moved(portal, changes, {signing: "f"})
    assert portal.owner_of(upsell) == portal.owners["h"]


def test_lifecycle_became(tmp_path: Path, portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = portal.company("New customer", "h", "customer", updated=date(2026, 6, 25))
    stale = portal.company("Old customer", "h", "customer", updated=date(2025, 6, 25))
    block = "{id: customer, trigger: lifecycle_became, lifecycle: customer, max_age_days: 30}"
    changes = _run(tmp_path, portal, block, monkeypatch)
    assert [(c["trigger"], c["handoff_id"]) for c in changes] == [("lifecycle_became", "customer")]
    _moved(portal, changes, {fresh: "f"})
    assert portal.owner_of(stale) == portal.owners["h"]


def test_owner_left(tmp_path: Path, portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    """An archived owner: their customer goes to the farmer, their prospect to the
    hunter; nothing stays with them."""
    gone = portal.owner("gone")
    customer = portal.company("Their customer", "gone", "customer")
    prospect = portal.company("Their prospect", "gone", "lead")
    portal.emu.store.archive_owner(gone)
    changes = _run(tmp_path, portal, OWNER_LEFT, monkeypatch)
    assert {(c["trigger"], c["handoff_id"]) for c in changes} == {("owner_left", "owner-left")}
    _moved(portal, changes, {customer: "f", prospect: "h"})
