"""Done when: a stale plan applied after newer metric values landed in HubSpot
overwrites none of them (counted by the emulator), and reports them as conflicts."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hs_adapter_support import METRIC_FIELDS, adapter_for, example_profile, portal

from roleSync.adapters.hubspot.setup import setup_portal
from roleSync.cli import main
from roleSync.emulators.hubspot import HubSpotEmulator
from roleSync.model import FieldValue
from roleSync.plan import MetricWrite

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
AS_OF = "2026-06-30"


@pytest.fixture
def emu() -> Iterator[HubSpotEmulator]:
    with portal(owners=8, companies=120, deals=300) as fresh:
        yield fresh


@pytest.fixture
def example(tmp_path: Path, emu: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    profile, env = example_profile(tmp_path, emu)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return profile


def _user_record(emu: HubSpotEmulator, owner_id: str) -> str:
    owner = emu.store.owner(owner_id)
    assert owner is not None
    for user in emu.store.all("users"):
        if user.get("hs_internal_user_id") == str(owner.user_id):
            return str(user["hs_object_id"])
    raise AssertionError(f"owner {owner_id} has no users record")


def test_a_stale_plan_overwrites_no_newer_metric_value(
    example: Path, emu: HubSpotEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["setup", "-c", str(example)]) == 0
    plan_file = tmp_path / "plan-a.json"
    code = main(
        ["plan", "-c", str(example), "-r", str(RULES), "--as-of", AS_OF, "-o", str(plan_file)]
    )
    assert code == 0, capsys.readouterr().err
    writes = json.loads(plan_file.read_text())["metric_writes"]
    assert len(writes) >= 3, "the metric properties are new: every seller gets values"
    stale = sorted(w["owner_id"] for w in writes)[:2]
    records = {o: _user_record(emu, o) for o in stale}
    for record in records.values():
        emu.store.update("users", record, {"rolesync_won_deals": "977"})
    capsys.readouterr()

    assert main(["apply", str(plan_file), "-c", str(example), "-r", str(RULES)]) == 0
    output = capsys.readouterr().out
    assert "metric conflicts 2" in output
    for record in records.values():
        assert emu.store.api_writes[("users", record)] == 0  # not one property written
        held = emu.store.get("users", record)
        assert held is not None and held["rolesync_won_deals"] == "977"
    others = [_user_record(emu, w["owner_id"]) for w in writes if w["owner_id"] not in stale]
    assert all(emu.store.api_writes[("users", r)] == 1 for r in others)
    report = json.loads(Path(output.rsplit("report: ", 1)[1].strip()).read_text())
    assert sorted(report["metric_conflicts"]) == stale


def test_onto_companies_a_changed_company_stops_its_owners_writes(tmp_path: Path) -> None:
    with portal(owners=6, companies=90, deals=0) as emu:
        metrics = {"destination": "companies", "fields": dict(METRIC_FIELDS)}
        adapter = adapter_for(emu, tmp_path, metrics=metrics)
        setup_portal(adapter.client, adapter.profile)
        book = adapter.pull()
        held = Counter(a.owner_id for a in book.accounts.values())
        first, second = sorted(o.id for o in book.owners.values() if o.active and held[o.id] >= 2)[
            :2
        ]
        old: dict[str, FieldValue] = {"rolesync_role": "hunter", "rolesync_won_deals": 3}
        new: dict[str, FieldValue] = {"rolesync_role": "farmer", "rolesync_won_deals": 4}
        fill = [MetricWrite(o, old, book.owners[o].recorded) for o in (first, second)]
        assert sorted(adapter.apply([], fill).metrics_written) == [first, second]
        # Plan A, made while every company of both owners carries `old`.
        recorded = adapter_for(emu, tmp_path, metrics=metrics).pull().owners
        plan_a = [MetricWrite(o, new, recorded[o].recorded) for o in (first, second)]
        assert all(w.expected == {**w.expected, **old} for w in plan_a)
        # Then a person edits one company of `first`.
        companies = sorted(a.id for a in book.accounts.values() if a.owner_id == first)
        emu.store.update("companies", companies[0], {"rolesync_won_deals": "977"})
        before = Counter(emu.store.api_writes)
        result = adapter_for(emu, tmp_path, metrics=metrics).apply([], plan_a)
        assert result.metrics_written == [second]
        assert list(result.metric_conflicts) == [first]
        assert f"company {companies[0]}" in result.metric_conflicts[first]
        # Not one of `first`'s companies was written; every one of `second`'s was.
        assert all(emu.store.api_writes[("companies", c)] == before[("companies", c)]
                   for c in companies)  # fmt: skip
        theirs = [a.id for a in book.accounts.values() if a.owner_id == second]
        assert all(emu.store.api_writes[("companies", c)] == before[("companies", c)] + 1
                   for c in theirs)  # fmt: skip
        found = emu.store.get("companies", companies[0])
        assert found is not None and found["rolesync_won_deals"] == "977"
