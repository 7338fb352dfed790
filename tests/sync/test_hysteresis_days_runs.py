"""roles.yaml `hysteresis: {days: N}` across syncs of the local book (issue 15): the count
of days travels in each run's plan, the role changes on the Nth day and not before, and
explain reads the count the next run would start from."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

import pytest
from sync_helpers import AS_OF, ROLES, Fixture, make_fixture
from test_hysteresis_runs import RAISED, last_plan, roles_of

from roleSync.cli import main
from roleSync.model import PendingRole, Role

DAYS = "hysteresis: {days: 3}\n"


def sync_on(fixture: Fixture, on: date) -> None:
    args = ["sync", "-c", str(fixture.profile), "-r", str(fixture.rules)]
    assert main([*args, "--as-of", on.isoformat(), "--allow-large"]) == 0


def after(days: int) -> date:
    return AS_OF + timedelta(days=days)


def test_the_role_changes_on_the_nth_day_and_not_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=1, farmers=1)
    sync_on(fixture, AS_OF)
    assert roles_of(last_plan(fixture)) == {"h-0": "hunter", "f-0": "farmer"}

    # Hunters' share is 1.0: from now on the rules give h-0 unclassified.
    (fixture.rules / "roles.yaml").write_text(RAISED + DAYS)
    sync_on(fixture, after(1))
    plan = last_plan(fixture)
    h0 = {o.owner_id: o for o in plan.owners}["h-0"]
    assert (h0.role, h0.pending) == (Role.HUNTER, PendingRole(Role.UNCLASSIFIED, after(1)))
    assert h0.reason.startswith(
        "held hunter: the rules have given unclassified for 1 of 3 days (since 2026-07-01); "
        "unclassified from 2026-07-03"
    )

    # explain starts from the same count as the next run: day 2 of 3.
    capsys.readouterr()
    explain = ["explain", "h-0", "-c", str(fixture.profile), "-r", str(fixture.rules)]
    assert main([*explain, "--as-of", after(2).isoformat()]) == 0
    out = capsys.readouterr().out
    assert "Role: hunter, held by hysteresis\n" in out
    assert "the rules have given unclassified for 2 of 3 days (since 2026-07-01)" in out
    assert "the role changes on 2026-07-03 if they still do then" in out

    sync_on(fixture, after(2))
    assert roles_of(last_plan(fixture))["h-0"] == "hunter"
    sync_on(fixture, after(3))
    h0 = {o.owner_id: o for o in last_plan(fixture).owners}["h-0"]
    assert (h0.role, h0.pending) == (Role.UNCLASSIFIED, None)
    assert "the rules have given it for 3 days (since 2026-07-01" in h0.reason


def test_a_run_giving_the_held_role_starts_the_count_over(tmp_path: Path) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=1, farmers=1)
    sync_on(fixture, AS_OF)
    (fixture.rules / "roles.yaml").write_text(RAISED + DAYS)
    sync_on(fixture, after(1))
    sync_on(fixture, after(2))
    # Day 3 of the raised threshold would end the role; the old rules give hunter again.
    (fixture.rules / "roles.yaml").write_text(ROLES + DAYS)
    sync_on(fixture, after(3))
    h0 = {o.owner_id: o for o in last_plan(fixture).owners}["h-0"]
    assert (h0.role, h0.pending) == (Role.HUNTER, None)

    (fixture.rules / "roles.yaml").write_text(RAISED + DAYS)
    for n in (4, 5):
        sync_on(fixture, after(n))
        h0 = {o.owner_id: o for o in last_plan(fixture).owners}["h-0"]
        assert (h0.role, h0.pending) == (Role.HUNTER, PendingRole(Role.UNCLASSIFIED, after(4)))
    sync_on(fixture, after(6))
    assert roles_of(last_plan(fixture))["h-0"] == "unclassified"


def test_a_role_set_by_hand_in_the_crm_starts_the_count_afresh(tmp_path: Path) -> None:
    # Roles written back: the previous role is the CRM's. The last plan's count was about
    # leaving the role that plan held; once a person sets another one, it counts anew.
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=1, farmers=1)
    text = fixture.profile.read_text()
    fixture.profile.write_text(
        text.replace("metrics: {write: false}", "metrics: {fields: {role: Sales_Role}}")
    )
    sync_on(fixture, AS_OF)
    (fixture.rules / "roles.yaml").write_text(RAISED + DAYS)
    sync_on(fixture, after(1))
    h0 = {o.owner_id: o for o in last_plan(fixture).owners}["h-0"]
    assert (h0.role, h0.pending) == (Role.HUNTER, PendingRole(Role.UNCLASSIFIED, after(1)))

    with closing(sqlite3.connect(fixture.book)) as con, con:
        con.execute(
            "UPDATE owner_fields SET value = ? WHERE owner_id = 'h-0' AND name = 'Sales_Role'",
            ('"farmer"',),  # values are stored as JSON
        )
    sync_on(fixture, after(2))
    h0 = {o.owner_id: o for o in last_plan(fixture).owners}["h-0"]
    assert (h0.role, h0.pending) == (Role.FARMER, PendingRole(Role.UNCLASSIFIED, after(2)))
    # Day 3 of the first count, day 2 of the new one: still held.
    sync_on(fixture, after(3))
    assert roles_of(last_plan(fixture))["h-0"] == "farmer"
    sync_on(fixture, after(4))
    assert roles_of(last_plan(fixture))["h-0"] == "unclassified"


def test_apply_re_checks_a_saved_plan_with_the_roles_held_by_days(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Farmers' share is 0: a farmer rule of lte -0.02 ends their role, but not before the
    # third day. A first sync records the roles and moves nothing.
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=2, farmers=1)
    fixture.set_routing(from_roles="unclassified")
    sync_on(fixture, AS_OF)
    assert roles_of(last_plan(fixture)) == {"h-0": "hunter", "f-0": "farmer"}

    fixture.set_routing(from_roles="hunter")
    lowered = ROLES.replace("op: lte, value: 0.4", "op: lte, value: -0.02")
    (fixture.rules / "roles.yaml").write_text(lowered + DAYS)
    out = tmp_path / "plan.json"
    common = ["-c", str(fixture.profile), "-r", str(fixture.rules)]
    assert main(["plan", *common, "--as-of", after(1).isoformat(), "-o", str(out)]) == 0
    capsys.readouterr()
    # apply re-checks each target on the plan's date: f-0 is a farmer for 2 more days.
    assert main(["apply", *common, str(out)]) == 0
    said = capsys.readouterr()
    assert "applied 2" in said.out, said
    assert "re-checked before writing" not in said.out + said.err
