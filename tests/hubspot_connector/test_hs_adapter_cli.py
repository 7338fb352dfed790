"""`rolesync setup / plan / apply / sync -c connectors/hubspot.example.yaml` against a
running emulator, given only the environment variables the emulator prints; the
profile's validation; the daily limit's exit code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hs_adapter_support import example_profile, owner_of, portal, writes

from roleSync.cli import main
from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotFaults
from roleSync.errors import InputError
from roleSync.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "connectors" / "hubspot.example.yaml"
RULES = ROOT / "rules"
AS_OF = "2026-06-30"


@pytest.fixture
def emu() -> Iterator[HubSpotEmulator]:
    with portal(owners=12, companies=300, deals=800) as fresh:
        yield fresh


@pytest.fixture
def example(tmp_path: Path, emu: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped example profile, in a scratch folder, pointed at the emulator by the
    environment variables `rolesync emulate hubspot` prints."""
    profile, env = example_profile(tmp_path, emu)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return profile


def test_example_profile_loads() -> None:
    profile = load_profile(EXAMPLE)
    assert profile.kind == "hubspot" and profile.hubspot is not None
    assert profile.hubspot.host == "https://api.hubapi.com"
    assert profile.hubspot.host_env == "HUBSPOT_HOST"
    assert profile.hubspot.token_url == "https://api.hubapi.com/oauth/v1/token"
    assert profile.hubspot.properties.lock == "do_not_route"
    assert profile.hubspot.rate_limit.assumed_burst == 100
    assert profile.metrics_destination == "users"
    assert profile.metrics.fields["role"] == "rolesync_role"
    assert profile.mirror_path == EXAMPLE.parent / ".rolesync" / "mirror.db"


def test_setup_plan_apply_and_sync_through_the_cli(
    example: Path,
    emu: HubSpotEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["setup", "-c", str(example)]) == 0, capsys.readouterr().err
    assert "4 created" in capsys.readouterr().out
    assert main(["setup", "-c", str(example)]) == 0
    assert "0 created, 6 already there" in capsys.readouterr().out

    plan_file = tmp_path / "plan.json"
    emu.reset_counters()
    code = main(
        ["plan", "-c", str(example), "-r", str(RULES), "--as-of", AS_OF, "-o", str(plan_file)]
    )
    assert code == 0, capsys.readouterr().err
    plan = json.loads(plan_file.read_text())
    assert plan["changes"], "the seeded portal has handoffs to make"
    assert plan["metric_writes"], "the metric properties are new: every seller gets values"
    assert emu.counters["write_requests"] == 0  # planning writes nothing

    code = main(["apply", str(plan_file), "-c", str(example), "-r", str(RULES)])
    assert code == 0, capsys.readouterr().err
    moved = {c["account_id"]: c["to_owner_id"] for c in plan["changes"]}
    assert all(owner_of(emu, a) == o for a, o in moved.items())
    users = {u["hs_internal_user_id"]: u for u in emu.store.all("users")}
    assert sum(1 for u in users.values() if u.get("rolesync_role")) >= len(plan["metric_writes"])

    emu.reset_counters()
    assert main(["sync", "-c", str(example), "-r", str(RULES), "--as-of", AS_OF]) == 0
    assert emu.counters["write_requests"] == 0  # nothing left to do, metrics included
    assert all(writes(emu)[a] == 1 for a in moved)
    output = capsys.readouterr()
    assert emu.config.access_token not in output.out + output.err


def test_the_daily_limit_during_a_pull_exits_3(
    example: Path, emu: HubSpotEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emu.set_faults(HubSpotFaults(daily_limit_after=3))
    code = main(["sync", "-c", str(example), "-r", str(RULES), "--as-of", AS_OF])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "daily API request limit" in err and "run stopped" in err
    assert emu.counters["write_requests"] == 0


def test_hubspot_profile_errors_are_positioned(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "version: 1\nkind: hubspot\nname: bad\n"
        "hubspot:\n  host: http://portal.example.com\n"
        "  properties: {segment: 'Segment Name'}\n"
        "  rate_limit: {tier: platinum}\n"
        "  auth: {method: magic}\n"
        "metrics: {destination: contacts, fields: {role: rolesync_role}}\n"
    )
    with pytest.raises(InputError) as caught:
        load_profile(path)
    lines = [str(d) for d in caught.value.diagnostics]
    assert any(":5:9:" in line and "host" in line for line in lines), lines
    assert any(":6:" in line and "segment" in line for line in lines), lines
    assert any(":7:" in line and "tier" in line for line in lines), lines
    assert any(":8:" in line and "method" in line for line in lines), lines
    assert any(":9:" in line and "destination" in line for line in lines), lines


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("hubspot: {}\n", "metrics.fields"),
        ("hubspot: {}\nmetrics: {fields: {role: Sales_Role__c}}\n", "HubSpot properties"),
        ("metrics: {write: false}\n", "needs a 'hubspot' section"),
        (
            "hubspot: {}\nmetrics: {destination: companies, fields: {role: segment}}\n",
            "overwrite company properties",
        ),
    ],
)
def test_hubspot_profile_rules(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nkind: hubspot\nname: bad\n" + body)
    with pytest.raises(InputError, match=message):
        load_profile(path)


def test_metrics_destination_belongs_to_hubspot(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nkind: local\nname: bad\nmetrics: {destination: users}\n")
    with pytest.raises(InputError, match="only meaningful with kind: hubspot"):
        load_profile(path)
