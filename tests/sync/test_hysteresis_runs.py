"""roles.yaml `hysteresis` across runs (issue 15): the previous role comes from the last
run's plan, or from the CRM's role field when the profile writes roles back."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sync_helpers import AS_OF, ROLES, Fixture, make_fixture

from roleSync.cli import main
from roleSync.plan import Plan

# Hunters' share is 1.0: a threshold of 1.02 ends their role, unless a 0.05 margin holds it.
RAISED = ROLES.replace("op: gte, value: 0.6", "op: gte, value: 1.02")
MARGIN = "hysteresis: {margin: 0.05}\n"


def last_plan(fixture: Fixture) -> Plan:
    ((path,),) = fixture.query("SELECT plan_path FROM runs ORDER BY rowid DESC LIMIT 1")
    return Plan.read(Path(path))


def roles_of(plan: Plan) -> dict[str, str]:
    return {o.owner_id: o.role.value for o in plan.owners}


@pytest.mark.parametrize(
    "metrics", ["{write: false}", "{fields: {role: Sales_Role, new_business_share: NB_Share}}"]
)
def test_a_role_is_held_across_runs_only_with_hysteresis(
    tmp_path: Path, metrics: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=2, accounts_per_hunter=2, farmers=2)
    text = fixture.profile.read_text()
    fixture.profile.write_text(re.sub(r"metrics: .*\n", f"metrics: {metrics}\n", text))
    assert main(fixture.cli("sync")) == 0
    assert roles_of(last_plan(fixture))["h-0"] == "hunter"

    (fixture.rules / "roles.yaml").write_text(RAISED + MARGIN)
    assert main(fixture.cli("sync")) == 0
    plan = last_plan(fixture)
    assert roles_of(plan) == {"h-0": "hunter", "h-1": "hunter", "f-0": "farmer", "f-1": "farmer"}
    held = {o.owner_id: o.reason for o in plan.owners}["h-0"]
    assert held.startswith("held hunter: new_business_share 1 within the 0.05 margin of 1.02")
    # explain reads the same previous roles as the next plan would.
    capsys.readouterr()
    explain = ["explain", "h-0", "-c", str(fixture.profile), "-r", str(fixture.rules)]
    assert main([*explain, "--as-of", AS_OF.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "Role: hunter, by rule hunter\n" in out
    assert "Held by hysteresis: hunter: new_business_share 1 within the 0.05 margin" in out

    # The same rules without the margin end both hunters' role.
    (fixture.rules / "roles.yaml").write_text(RAISED)
    main(fixture.cli("sync", "--allow-large"))
    assert roles_of(last_plan(fixture))["h-0"] == "unclassified"


def test_with_roles_written_back_the_crm_role_field_is_the_previous_role(
    tmp_path: Path,
) -> None:
    fixture = make_fixture(tmp_path, hunters=2, accounts_per_hunter=2, farmers=2)
    text = fixture.profile.read_text()
    metrics = "{fields: {role: Sales_Role}}"
    fixture.profile.write_text(re.sub(r"metrics: .*\n", f"metrics: {metrics}\n", text))
    assert main(fixture.cli("sync")) == 0
    # A person sets h-1's role field by hand: that, not the last plan, is the previous role.
    with closing(sqlite3.connect(fixture.book)) as con, con:
        con.execute(
            "UPDATE owner_fields SET value = ? WHERE owner_id = 'h-1' AND name = 'Sales_Role'",
            ('"farmer"',),  # values are stored as JSON
        )
    (fixture.rules / "roles.yaml").write_text(RAISED + MARGIN)
    main(fixture.cli("sync", "--allow-large"))
    roles = roles_of(last_plan(fixture))
    # h-0 held as a hunter; h-1, a "farmer" with a share of 1.0, is not held as one.
    assert (roles["h-0"], roles["h-1"]) == ("hunter", "unclassified")


def test_a_first_run_holds_nothing(tmp_path: Path) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=1, farmers=1)
    (fixture.rules / "roles.yaml").write_text(RAISED + MARGIN)
    assert main(fixture.cli("sync")) == 0
    assert roles_of(last_plan(fixture)) == {"h-0": "unclassified", "f-0": "farmer"}


def test_apply_re_checks_a_saved_plan_with_the_held_roles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Farmers' share is 0: a farmer rule of lte -0.02 ends their role, unless the margin
    # holds it. A first sync records the roles and moves nothing (no unclassified owner).
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=2, farmers=1)
    fixture.set_routing(from_roles="unclassified")
    assert main(fixture.cli("sync")) == 0
    assert roles_of(last_plan(fixture)) == {"h-0": "hunter", "f-0": "farmer"}

    fixture.set_routing(from_roles="hunter")
    lowered = ROLES.replace("op: lte, value: 0.4", "op: lte, value: -0.02")
    (fixture.rules / "roles.yaml").write_text(lowered + MARGIN)
    out = tmp_path / "plan.json"
    common = ["-c", str(fixture.profile), "-r", str(fixture.rules), "--as-of", AS_OF.isoformat()]
    assert main(["plan", *common, "-o", str(out)]) == 0
    planned = Plan.read(out)
    assert [c.to_owner_id for c in planned.changes] == ["f-0", "f-0"]
    capsys.readouterr()
    # apply re-checks each target under the current rules: f-0 is still a held farmer.
    assert main([*fixture.cli("apply"), str(out)]) == 0
    said = capsys.readouterr()
    assert "applied 2" in said.out, said
    assert "re-checked before writing" not in said.out + said.err
