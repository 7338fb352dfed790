"""The book health gate against the Salesforce emulator, through the real SDK: an
Opportunity Type the profile does not map stops `sync` and `plan` (exit 1, the value, its
count and the profile key to add), and the org receives no write request."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleSync.cli import main
from roleSync.emulators.salesforce import SalesforceEmulator
from roleSync.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
AS_OF = "2026-06-30"
RENEWAL = "Existing Customer - Renewal"


def _retype_renewals(org: SalesforceEmulator) -> int:
    """Every renewal of the org typed as a value the example profile does not map."""
    renewals = [
        r["Id"]
        for r in org.store.all("Opportunity")
        if r.get("Type") == "Existing Customer - Replacement"
    ]
    assert renewals, "the seeded org has renewals"
    for record_id in renewals:
        org.store.update("Opportunity", str(record_id), {"Type": RENEWAL})
    return len(renewals)


def test_an_unmapped_opportunity_type_stops_sync_with_no_write(
    example: Path, small_org: SalesforceEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    count = _retype_renewals(small_org)
    small_org.reset_counters()
    code = main(["sync", "-c", str(example), "-r", str(RULES), "--as-of", AS_OF])
    err = capsys.readouterr().err
    assert code == 1, err
    line = next(x for x in err.splitlines() if "[unmapped-deal-kind]" in x)
    assert f"deal type {RENEWAL!r} on {count} deals is not mapped" in line
    assert f'add deal_kinds."{RENEWAL}"' in line
    lines = example.read_text().splitlines()
    row = next(i for i, x in enumerate(lines, 1) if x.startswith("deal_kinds:"))
    assert line.startswith(f"{example}:{row}:1: error: ")
    assert small_org.counters["write_requests"] == 0
    assert small_org.counters["api_requests"] > 0  # it did pull: the mirror was scanned
    runs = load_profile(example).state_path / "runs"
    assert not runs.exists() or not any(runs.iterdir())

    # `plan` stops the same way, and `check -c` reads the same findings from the mirror.
    plan_file = example.parent / "plan.json"
    argv = ["plan", "-c", str(example), "-r", str(RULES), "--as-of", AS_OF, "-o", str(plan_file)]
    assert main(argv) == 1
    assert f"{RENEWAL!r} on {count} deals" in capsys.readouterr().err
    assert not plan_file.exists()
    assert main(["check", "-c", str(example)]) == 1
    assert f"{RENEWAL!r} on {count} deals" in capsys.readouterr().err
    assert small_org.counters["write_requests"] == 0


def test_once_mapped_the_same_org_syncs(
    example: Path, small_org: SalesforceEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    _retype_renewals(small_org)
    text = example.read_text()
    example.write_text(text.replace("deal_kinds:\n", f'deal_kinds:\n  "{RENEWAL}": renewal\n', 1))
    code = main(["sync", "-c", str(example), "-r", str(RULES), "--as-of", AS_OF])
    assert code == 0, capsys.readouterr().err
    assert small_org.counters["write_requests"] > 0
