"""Done when: a stale plan applied after newer metric values landed in Salesforce
overwrites none of them (counted by the emulator), and reports them as conflicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sf_helpers import writes_of

from roleSync.cli import main
from roleSync.emulators.salesforce import SalesforceEmulator

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
AS_OF = "2026-06-30"


def test_a_stale_plan_overwrites_no_newer_metric_value(
    example: Path,
    small_org: SalesforceEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan_file = tmp_path / "plan-a.json"
    code = main(
        ["plan", "-c", str(example), "-r", str(RULES), "--as-of", AS_OF, "-o", str(plan_file)]
    )
    assert code == 0, capsys.readouterr().err
    writes = json.loads(plan_file.read_text())["metric_writes"]
    assert len(writes) >= 3, "the seeded org's users hold no metric values yet"
    # Newer values land after plan A was made: a person (or another run) writes them.
    stale = sorted(w["owner_id"] for w in writes)[:2]
    for owner_id in stale:
        small_org.store.update("User", owner_id, {"Won_Deals__c": 977, "Sales_Role__c": "farmer"})
    before = {o: writes_of(small_org)[o] for o in stale}

    assert main(["apply", str(plan_file), "-c", str(example), "-r", str(RULES)]) == 0
    output = capsys.readouterr().out
    assert "metric conflicts 2" in output
    for owner_id in stale:
        assert writes_of(small_org)[owner_id] == before[owner_id]  # not one field written
        user = small_org.store.get("User", owner_id)
        assert user is not None and user["Won_Deals__c"] == 977
    others = [w["owner_id"] for w in writes if w["owner_id"] not in stale]
    assert all(writes_of(small_org)[o] == 1 for o in others)
    report_path = output.rsplit("report: ", 1)[1].strip()
    report = json.loads(Path(report_path).read_text())
    assert sorted(report["metric_conflicts"]) == stale
    assert "Won_Deals__c=977" in report["metric_conflicts"][stale[0]]
    assert main(["runs", "show", report["run_id"], "-c", str(example)]) == 0
    assert "metric conflicts (2)" in capsys.readouterr().out
