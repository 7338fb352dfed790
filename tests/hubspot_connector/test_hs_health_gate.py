"""The book health gate against the HubSpot emulator, through the real SDK: a dealtype
value missing from the profile's mapping stops `sync` and `plan` (exit 1, the value, its
count and the profile key to add), and the portal receives no write request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hs_adapter_support import example_profile, portal

from roleSync.cli import main
from roleSync.emulators.hubspot import HubSpotEmulator
from roleSync.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
AS_OF = "2026-06-30"
MAPPING = "  newbusiness: new_business\n  existingbusiness: expansion\n"


@pytest.fixture
def emu() -> Iterator[HubSpotEmulator]:
    with portal(owners=12, companies=300, deals=800) as fresh:
        yield fresh


@pytest.fixture
def example(tmp_path: Path, emu: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example profile with `existingbusiness` left out of its deal_kinds, as a user
    who mapped only new business would write it; the portal set up for its metrics."""
    profile, env = example_profile(tmp_path, emu)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    text = profile.read_text()
    assert MAPPING in text
    profile.write_text(text.replace(MAPPING, "  newbusiness: new_business\n"))
    assert main(["setup", "-c", str(profile)]) == 0
    return profile


def test_a_dealtype_missing_from_the_mapping_stops_sync_with_no_write(
    example: Path, emu: HubSpotEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    count = sum(1 for d in emu.store.all("deals") if d.get("dealtype") == "existingbusiness")
    assert count > 0
    capsys.readouterr()
    emu.reset_counters()
    code = main(["sync", "-c", str(example), "-r", str(RULES), "--as-of", AS_OF])
    err = capsys.readouterr().err
    assert code == 1, err
    line = next(x for x in err.splitlines() if "[unmapped-deal-kind]" in x)
    assert f"deal type 'existingbusiness' on {count} deals is not mapped" in line
    assert "add deal_kinds.existingbusiness: <new_business" in line
    lines = example.read_text().splitlines()
    row = next(i for i, x in enumerate(lines, 1) if x.startswith("deal_kinds:"))
    assert line.startswith(f"{example}:{row}:1: error: ")
    assert emu.counters["write_requests"] == 0
    runs = load_profile(example).state_path / "runs"
    assert not runs.exists() or not any(runs.iterdir())

    plan_file = example.parent / "plan.json"
    argv = ["plan", "-c", str(example), "-r", str(RULES), "--as-of", AS_OF, "-o", str(plan_file)]
    assert main(argv) == 1
    assert f"'existingbusiness' on {count} deals" in capsys.readouterr().err
    assert not plan_file.exists()
    assert emu.counters["write_requests"] == 0


def test_with_the_mapping_back_the_same_portal_syncs(
    example: Path, emu: HubSpotEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    example.write_text(example.read_text().replace("  newbusiness: new_business\n", MAPPING))
    code = main(["sync", "-c", str(example), "-r", str(RULES), "--as-of", AS_OF])
    assert code == 0, capsys.readouterr().err
    assert emu.counters["write_requests"] > 0
