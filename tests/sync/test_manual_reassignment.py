"""Humans win: an account roleSync handed off and a person then gave to someone else is
not handed off again, unless routing.yaml says `revert_manual_changes: true`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sync_helpers import AS_OF, ROLES, ROUTING, make_fixture

from roleSync.cli import main
from roleSync.model import Account, Book, Deal, DealKind, Owner
from roleSync.plan import HandedOff, PlanInputs, SkipCode, build_plan
from roleSync.rules.classify import CompiledRoles
from roleSync.rules.routes import CompiledRouting
from roleSync.rules.schema import RolesFile, RoutingFile
from roleSync.sync.store import StateStore


def _inputs(handed_off: dict[str, HandedOff], revert: bool = False) -> PlanInputs:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    routing = yaml.load(ROUTING.format(from_roles="hunter"))
    routing["handoff"]["revert_manual_changes"] = revert
    return PlanInputs(
        profile="test",
        roles=CompiledRoles(RolesFile.model_validate(yaml.load(ROLES))),
        routing=CompiledRouting(RoutingFile.model_validate(routing)),
        rules_digest="sha256:test",
        as_of=AS_OF,
        handed_off=handed_off,
    )


def _book() -> Book:
    owners = [Owner(o, o, f"{o}@example.com") for o in ("h", "h2", "f")]
    accounts = [Account(a, a, "h2", lifecycle="customer") for a in ("moved", "never")]
    accounts.append(Account("fresh", "fresh", "h", lifecycle="customer"))
    accounts.append(Account("fa", "fa", "f", lifecycle="customer"))
    deals = [
        Deal(
            f"d-{a.id}",
            a.id,
            "h" if a.id != "never" else "h2",
            DealKind.NEW_BUSINESS,
            "won",
            True,
            True,
            100.0,
            AS_OF.replace(month=1),
            AS_OF.replace(month=5),
        )
        for a in accounts
        if a.id != "fa"
    ]
    deals.append(
        Deal(
            "d-f",
            "fa",
            "f",
            DealKind.EXPANSION,
            "won",
            True,
            True,
            100.0,
            AS_OF.replace(month=1),
            AS_OF.replace(month=5),
        )
    )
    return Book(owners, accounts, deals)


def test_the_plan_skips_an_account_moved_by_hand_after_rolesync_moved_it() -> None:
    handed = {"moved": HandedOff("f", "run-1"), "fresh": HandedOff("h", "run-0")}
    plan = build_plan(_book(), _inputs(handed))
    assert {c.account_id for c in plan.changes} == {"never", "fresh"}
    (skip,) = plan.skipped
    assert (skip.account_id, skip.code) == ("moved", SkipCode.MANUAL)
    assert skip.reason == (
        "roleSync gave it to f in run run-1; since reassigned by hand to h2 "
        "(handoff.revert_manual_changes: false)"
    )
    # The rules may say otherwise, explicitly.
    plan = build_plan(_book(), _inputs(handed, revert=True))
    assert {c.account_id for c in plan.changes} == {"never", "fresh", "moved"}
    assert plan.skipped == []


def test_the_next_sync_leaves_a_manual_reassignment_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=2, accounts_per_hunter=3)
    assert main(fixture.cli("sync")) == 0
    handed_to = fixture.owners()["a-0-00000"]
    assert handed_to.startswith("f-")  # type: ignore[union-attr]
    fixture.reassign("h-1", "a-0-00000")  # a person gives it back to a hunter
    before = fixture.book.read_bytes()
    plan_file = tmp_path / "plan.json"
    assert main(["plan", *fixture.cli("sync")[1:], "-o", str(plan_file)]) == 0
    plan = json.loads(plan_file.read_text())
    assert plan["changes"] == []
    assert [(s["account_id"], s["code"]) for s in plan["skipped"]] == [
        ("a-0-00000", "manual-reassignment")
    ]
    assert main(fixture.cli("sync")) == 0
    assert fixture.book.read_bytes() == before

    fixture.set_routing(extra="  revert_manual_changes: true\n")
    assert main(fixture.cli("sync")) == 0
    assert fixture.owners()["a-0-00000"].startswith("f-")  # type: ignore[union-attr]
    with StateStore.open(fixture.state) as store:
        last = store.handed_off("test")["a-0-00000"]
    assert last.to_owner_id == fixture.owners()["a-0-00000"]
