"""`rolesync plan / apply / sync -c connectors/salesforce.example.yaml` against a running
emulator, given only environment variables; the profile's validation; the budget
guardrail's exit code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sf_helpers import example_profile, new_emulator, writes_of

from roleSync.cli import main
from roleSync.emulators.salesforce import SalesforceEmulator
from roleSync.errors import InputError
from roleSync.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "connectors" / "salesforce.example.yaml"
RULES = ROOT / "rules"
AS_OF = "2026-06-30"


@pytest.fixture
def example(tmp_path: Path, small_org: SalesforceEmulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped example profile, in a scratch folder, pointed at the emulator by the
    environment variables `rolesync emulate salesforce` prints."""
    profile, env = example_profile(tmp_path, small_org)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ignored.pem")  # trust_env is off
    return profile


def test_example_profile_loads() -> None:
    profile = load_profile(EXAMPLE)
    assert profile.kind == "salesforce" and profile.salesforce is not None
    assert profile.salesforce.api_version == "62.0"
    assert profile.salesforce.fields.lock == "Do_Not_Route__c"
    assert profile.metrics.fields["role"] == "Sales_Role__c"
    assert profile.mirror_path == EXAMPLE.parent / ".rolesync" / "mirror.db"


def test_plan_apply_and_sync_through_the_cli(
    example: Path,
    small_org: SalesforceEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan_file = tmp_path / "plan.json"
    code = main(
        ["plan", "-c", str(example), "-r", str(RULES), "--as-of", AS_OF, "-o", str(plan_file)]
    )
    assert code == 0, capsys.readouterr().err
    plan = json.loads(plan_file.read_text())
    assert plan["changes"], "the seeded org has handoffs to make"
    assert small_org.counters["write_requests"] == 0  # planning writes nothing

    code = main(["apply", str(plan_file), "-c", str(example), "-r", str(RULES)])
    assert code == 0, capsys.readouterr().err
    moved = {c["account_id"]: c["to_owner_id"] for c in plan["changes"]}
    for account_id, owner in moved.items():
        assert small_org.store.get("Account", account_id)["OwnerId"] == owner  # type: ignore[index]

    small_org.reset_counters()
    assert main(["sync", "-c", str(example), "-r", str(RULES), "--as-of", AS_OF]) == 0
    assert small_org.counters["write_requests"] == 0  # nothing left to do
    assert small_org.counters["api_requests"] <= 4
    assert all(writes_of(small_org)[a] == 1 for a in moved)
    output = capsys.readouterr()
    assert small_org.config.access_token not in output.out + output.err


def test_budget_guardrail_stops_before_any_write_with_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = new_emulator(daily_limit=20)  # 20% of it: 4 requests a run, 3 of them to pull
    emu.seed(users=12, accounts=2000, opportunities=1500, seed=3)
    with emu:
        profile = tmp_path / "salesforce.yaml"
        shutil.copy(EXAMPLE, profile)
        monkeypatch.setenv("SF_ACCESS_TOKEN", emu.config.access_token)
        monkeypatch.setenv("SF_INSTANCE_URL", emu.url)
        monkeypatch.setenv("SF_CA_BUNDLE", str(emu.ca_path))
        code = main(["sync", "-c", str(profile), "-r", str(RULES), "--as-of", AS_OF])
        err = capsys.readouterr().err
        assert code == 3, err
        assert "API budget" in err and "Nothing more was sent" in err
        assert emu.counters["write_requests"] == 0


def test_salesforce_profile_errors_are_positioned(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "version: 1\nkind: salesforce\nname: bad\n"
        "salesforce:\n  instance_url: http://insecure.example.com\n"
        "  fields: {segment: 'Segment__c; DROP'}\n"
        "  auth: {method: magic}\n"
        "metrics: {fields: {role: Sales_Role__c}}\n"
    )
    with pytest.raises(InputError) as caught:
        load_profile(path)
    lines = [str(d) for d in caught.value.diagnostics]
    assert any(":5:17:" in line and "instance_url" in line for line in lines), lines
    assert any(":6:" in line and "segment" in line for line in lines), lines
    assert any(":7:" in line and "method" in line for line in lines), lines


def test_salesforce_profile_needs_metric_destinations(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "version: 1\nkind: salesforce\nname: bad\n"
        "salesforce: {instance_url: 'https://x.my.salesforce.com'}\n"
    )
    with pytest.raises(InputError, match=r"metrics\.fields"):
        load_profile(path)
