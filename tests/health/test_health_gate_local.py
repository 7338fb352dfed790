"""The book health gate on a local book, through the command line: an unmapped deal type
stops `plan` and `sync` (exit 1, the value, its count and the profile key to add, nothing
written); warnings are printed and recorded in the run report; `check -c` positions
findings at the profile keys; amounts out of range never reach a plan."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest

from roleSync.cli import main
from roleSync.demo import prepare
from roleSync.profile import load_profile

AS_OF = "2026-06-30"
RENEWAL = "Existing Customer - Renewal"


def _book(profile: Path) -> Path:
    return load_profile(profile).book_path


def _execute(profile: Path, sql: str, *params: object) -> int:
    with closing(sqlite3.connect(_book(profile))) as book, book:
        return book.execute(sql, params).rowcount


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _runs(profile: Path) -> list[Path]:
    runs = load_profile(profile).state_path / "runs"
    return sorted(runs.iterdir()) if runs.is_dir() else []


@pytest.fixture
def demo(tmp_path: Path) -> tuple[Path, Path]:
    """The demo book, profile and rules."""
    profile, rules = prepare(tmp_path / "demo", date.fromisoformat(AS_OF), 2026)
    # The stock Salesforce deal types, as a user's profile would write them.
    profile.write_text(
        profile.read_text() + "deal_kinds:\n"
        '  "New Customer": new_business\n'
        '  "Existing Customer - Upgrade": expansion\n'
        '  "Existing Customer - Replacement": renewal\n'
        '  "Existing Customer - Downgrade": contraction\n'
    )
    return profile, rules


def _unmap_renewals(profile: Path) -> int:
    """Every renewal typed as a value the profile does not map (the reported failure)."""
    changed = _execute(profile, "UPDATE deals SET kind = ? WHERE kind = 'renewal'", RENEWAL)
    assert changed > 0
    return changed


def test_sync_stops_on_an_unmapped_deal_type_and_writes_nothing(
    demo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, rules = demo
    count = _unmap_renewals(profile)
    before = _digest(_book(profile))

    code = main(["sync", "-c", str(profile), "-r", str(rules), "--as-of", AS_OF])
    err = capsys.readouterr().err
    assert code == 1, err
    line = next(x for x in err.splitlines() if "[unmapped-deal-kind]" in x)
    assert f"deal type {RENEWAL!r} on {count} deals is not mapped" in line
    assert f'add deal_kinds."{RENEWAL}": <new_business | expansion | renewal' in line
    assert "did you mean 'Existing Customer - Replacement'?" in line
    # Positioned at the profile's deal_kinds mapping, the key the user edits.
    text = profile.read_text().splitlines()
    row = next(i for i, x in enumerate(text, 1) if x.startswith("deal_kinds:"))
    assert line.startswith(f"{profile}:{row}:1: error: ")
    assert "Traceback" not in err
    assert _digest(_book(profile)) == before
    assert _runs(profile) == []
    assert main(["runs", "-c", str(profile)]) == 0
    assert "no runs" in capsys.readouterr().out.lower()


def test_plan_stops_on_an_unmapped_deal_type_and_writes_no_plan(
    demo: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile, rules = demo
    count = _unmap_renewals(profile)
    before = _digest(_book(profile))
    out = tmp_path / "plan.json"
    code = main(["plan", "-c", str(profile), "-r", str(rules), "--as-of", AS_OF, "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert f"{RENEWAL!r} on {count} deals" in captured.err
    assert captured.out == ""
    assert not out.exists()
    assert _digest(_book(profile)) == before


def test_mapping_the_value_lets_the_same_book_sync(
    demo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, rules = demo
    _unmap_renewals(profile)
    text = profile.read_text()
    text = text.replace("deal_kinds:\n", f'deal_kinds:\n  "{RENEWAL}": renewal\n', 1)
    profile.write_text(text)
    code = main(["sync", "-c", str(profile), "-r", str(rules), "--as-of", AS_OF])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "[unmapped-deal-kind]" not in err


def test_warnings_are_printed_and_recorded_in_the_run_report(
    demo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, rules = demo
    closed_without_date = _execute(
        profile,
        "UPDATE deals SET close_date = NULL WHERE id IN "
        "(SELECT id FROM deals WHERE closed = 1 AND won = 0 ORDER BY id LIMIT 4)",
    )
    code = main(["sync", "-c", str(profile), "-r", str(rules), "--as-of", AS_OF])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    warned = [x for x in captured.err.splitlines() if "[missing-close-date]" in x]
    assert len(warned) == 1 and ": warning: " in warned[0]
    assert f"{closed_without_date} closed deals have no close date" in warned[0]
    report_path = re.search(r"report: (\S+)", captured.out)
    assert report_path is not None
    health = json.loads(Path(report_path.group(1)).read_text())["book_health"]
    assert health["errors"] == 0 and health["warnings"] >= 1
    codes = {f["code"]: f for f in health["findings"]}
    assert codes["missing-close-date"]["count"] == closed_without_date
    assert codes["missing-close-date"]["rows"] == "deals"
    assert len(codes["missing-close-date"]["examples"]) == 3

    # The HTML report has a small section of them.
    assert main(["report", "-c", str(profile), "-o", "-"]) == 0
    html = capsys.readouterr().out
    section = html[html.index('<section id="health"') :]
    section = section[: section.index("</section>")]
    assert f"Book health ({len(health['findings'])} findings)" in section
    assert "missing-close-date" in section
    assert f"{closed_without_date} closed deals have no close date" in section


def test_check_reports_findings_at_their_profile_keys(
    demo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, _ = demo
    _unmap_renewals(profile)
    _execute(profile, "UPDATE deals SET amount = -5 WHERE id = (SELECT min(id) FROM deals)")
    text = profile.read_text() + "data_quality:\n  amounts: {min: 0, max: 1000000}\n"
    profile.write_text(text)
    lines = text.splitlines()
    assert main(["check", "-c", str(profile)]) == 1
    err = capsys.readouterr().err.splitlines()
    kinds = next(x for x in err if "[unmapped-deal-kind]" in x)
    negative = next(x for x in err if "[negative-amount]" in x)
    deal_kinds_row = next(i for i, x in enumerate(lines, 1) if x.startswith("deal_kinds:"))
    amounts_row = next(i for i, x in enumerate(lines, 1) if "amounts:" in x)
    assert kinds.startswith(f"{profile}:{deal_kinds_row}:1: error:")
    # The bound the finding is about: amounts.min, inside the flow mapping.
    min_col = lines[amounts_row - 1].index("min") + 1
    assert negative.startswith(f"{profile}:{amounts_row}:{min_col}: error: 1 deals")


def test_three_huge_amounts_never_reach_a_plan(
    demo: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile, rules = demo
    # Three won deals of one owner at 1e308: their sum is infinity.
    _execute(
        profile,
        "UPDATE deals SET amount = 1e308 WHERE id IN (SELECT id FROM deals WHERE won = 1 "
        "AND owner_id = (SELECT owner_id FROM deals WHERE won = 1 ORDER BY id LIMIT 1) "
        "ORDER BY close_date DESC LIMIT 3)",
    )
    out = tmp_path / "plan.json"
    argv = ["plan", "-c", str(profile), "-r", str(rules), "--as-of", AS_OF, "-o", str(out)]
    assert main(argv) == 1
    assert "3 deals have an amount above amounts.max (1e+12)" in capsys.readouterr().err
    assert not out.exists()

    # Even with the check switched off, the metrics refuse the infinite sum: a clear
    # error, no plan file, never a NaN or Infinity in one.
    profile.write_text(profile.read_text() + "data_quality: {absurd_amount: ignore}\n")
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "is inf: the book's amounts are out of range" in err, err
    assert "Traceback" not in err
    assert not out.exists()


def test_a_tolerance_lets_a_few_rows_through(
    demo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, rules = demo
    _execute(profile, "UPDATE deals SET kind = 'Legacy' WHERE id = (SELECT min(id) FROM deals)")
    profile.write_text(profile.read_text() + "data_quality:\n  unmapped_deal_kind: {max_rows: 1}\n")
    code = main(["sync", "-c", str(profile), "-r", str(rules), "--as-of", AS_OF])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Legacy" not in captured.err
    report_path = re.search(r"report: (\S+)", captured.out)
    assert report_path is not None
    health = json.loads(Path(report_path.group(1)).read_text())["book_health"]
    assert health["tolerated"] == [{"check": "unmapped_deal_kind", "count": 1}]
