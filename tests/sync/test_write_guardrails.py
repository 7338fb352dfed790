"""Guardrails cover everything a run writes: owners whose role flips
(`max_role_changes`) and metric values rewritten (`max_metric_writes`) stop a run like a
large move: exit 3, plan saved, nothing written, --allow-large to proceed. Plans of an
older format are refused with one positioned line."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from sync_helpers import ROLES, Fixture, make_fixture

from roleSync.cli import main
from roleSync.errors import InputError
from roleSync.plan import Plan

# The same tests against both state stores (tests/pg_fixtures.py).
pytestmark = pytest.mark.usefixtures("state_backend")

# Hunters and farmers swap: the kind of flip a broken deal-type mapping causes.
SWAPPED = (
    ROLES.replace("op: gte, value: 0.6", "op: lte, value: 0.4X")
    .replace("op: lte, value: 0.4}", "op: gte, value: 0.6}")
    .replace("0.4X", "0.4")
)


def _profile(fixture: Fixture, metrics: str, guardrails: dict[str, float]) -> None:
    text = fixture.profile.read_text()
    text = re.sub(r"metrics: .*\n", f"metrics: {metrics}\n", text)
    text = re.sub(r"guardrails: .*\n", f"guardrails: {json.dumps(guardrails)}\n", text)
    fixture.profile.write_text(text)


LIMITS = {"max_changes": 100_000, "max_share": 1.0, "max_role_changes": 3}


def test_swapped_roles_flip_more_owners_than_allowed_and_stop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Roles not written to the CRM: the previous role is the one the last run recorded.
    fixture = make_fixture(tmp_path, hunters=2, accounts_per_hunter=2, farmers=2)
    _profile(fixture, "{write: false}", LIMITS)
    assert main(fixture.cli("sync")) == 0
    (fixture.rules / "roles.yaml").write_text(SWAPPED)
    before = fixture.book.read_bytes()
    capsys.readouterr()
    assert main(fixture.cli("sync")) == 3
    err = capsys.readouterr().err
    assert "4 owners change role (f-0, f-1, h-0, h-1), more than max_role_changes 3" in err
    assert "nothing written" in err
    assert fixture.book.read_bytes() == before
    # Within the limit, the same edit goes through.
    _profile(fixture, "{write: false}", {**LIMITS, "max_role_changes": 4})
    assert main(fixture.cli("sync")) == 0


def test_role_flips_and_rewrites_are_counted_from_the_crm_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Roles written to the CRM: the previous role is what the role field holds.
    fixture = make_fixture(tmp_path, hunters=2, accounts_per_hunter=2, farmers=2)
    metrics = "{fields: {role: Sales_Role, new_business_share: NB_Share}}"
    _profile(fixture, metrics, {**LIMITS, "max_metric_writes": 3})
    assert main(fixture.cli("sync")) == 0  # first fill of blank fields: no rewrite
    (fixture.rules / "roles.yaml").write_text(SWAPPED)
    before = fixture.book.read_bytes()
    capsys.readouterr()
    assert main(fixture.cli("sync")) == 3
    err = capsys.readouterr().err
    assert "4 owners change role" in err
    assert "4 metric values rewritten exceed max_metric_writes 3" in err
    assert fixture.book.read_bytes() == before
    ((plan_path,),) = fixture.query(
        "SELECT plan_path FROM runs WHERE status = 'stopped-by-guardrail'"
    )
    capsys.readouterr()
    assert main([*fixture.cli("apply"), plan_path, "--allow-large"]) == 0
    assert "metric writes 4/4" in capsys.readouterr().out


def test_a_plan_of_an_older_format_is_refused_with_a_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=2)
    plan_file = tmp_path / "plan.json"
    assert main(["plan", *fixture.cli("sync")[1:], "-o", str(plan_file)]) == 0
    plan = json.loads(plan_file.read_text())
    plan["format"] = 1
    plan_file.write_text(json.dumps(plan, indent=2, sort_keys=True))
    capsys.readouterr()
    assert main([*fixture.cli("apply"), str(plan_file)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    row = next(n for n, t in enumerate(plan_file.read_text().splitlines(), 1) if '"format"' in t)
    assert line == (
        f"{plan_file}:{row}:3: error: plan format 1 is not supported (this roleSync reads "
        "format 2); make the plan again with `rolesync plan` [plan-format]"
    )


def test_a_stale_plan_overwrites_no_value_a_newer_run_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The local book: plan A is made, a newer run writes newer values, A is applied.
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=2, farmers=2)
    _profile(fixture, "{fields: {role: Sales_Role, accounts_owned: Accounts}}", LIMITS)
    assert main(fixture.cli("sync")) == 0
    fixture.reassign("f-0", "fa-1-0")  # by hand: f-0 holds one more, f-1 one fewer
    plan_a = tmp_path / "plan-a.json"
    assert main(["plan", *fixture.cli("sync")[1:], "-o", str(plan_a)]) == 0
    assert {w["owner_id"] for w in json.loads(plan_a.read_text())["metric_writes"]} == {
        "f-0",
        "f-1",
    }
    fixture.reassign("f-0", "fa-1-1")
    assert main(fixture.cli("sync")) == 0  # writes the newer counts
    newer = _fields(fixture)
    capsys.readouterr()
    assert main([*fixture.cli("apply"), str(plan_a)]) == 0
    assert "metric writes 0/2, metric conflicts 2" in capsys.readouterr().out
    assert _fields(fixture) == newer


def _fields(fixture: Fixture) -> dict[tuple[str, str], str]:
    con = sqlite3.connect(fixture.book)
    try:
        rows = con.execute("SELECT owner_id, name, value FROM owner_fields").fetchall()
    finally:
        con.close()
    return {(o, n): v for o, n, v in rows}


def test_the_run_history_still_reads_format_1_plans(tmp_path: Path) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=2)
    plan_file = tmp_path / "plan.json"
    assert main(["plan", *fixture.cli("sync")[1:], "-o", str(plan_file)]) == 0
    data = json.loads(plan_file.read_text())
    data["format"] = 1
    plan_file.write_text(json.dumps(data))
    # Reports, explain and recovery of runs made before the upgrade read it...
    assert Plan.read(plan_file, history=True).format == 1
    # ...`apply` does not, and no reader takes a format from the future.
    with pytest.raises(InputError, match="plan format 1 is not supported"):
        Plan.read(plan_file)
    data["format"] = 3
    plan_file.write_text(json.dumps(data))
    with pytest.raises(InputError, match="plan format 3 is not supported"):
        Plan.read(plan_file, history=True)
