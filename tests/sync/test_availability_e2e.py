"""Out-of-office windows read from the CRM end to end on a local book: the owners CSV
holds each owner's first and last day away, the profile maps those columns to owner
fields and names them in `availability`, and a sync inside the window gives the away
farmer nothing while a sync after it gives them their turn again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from csv_book import FARMERS_IN_TURN, import_book, local_profile
from roleSync.cli import main

PROFILE = local_profile(
    "leave",
    owner_fields="{away_from: OOO From, away_until: OOO Until}",
    extra="availability: {from_field: away_from, until_field: away_until}\n"
    "guardrails: {max_share: 1.0}\n",
)

# Ella is away for the first ten days of July; Emma never.
OWNERS = """\
id,name,email,OOO From,OOO Until
hank,Hank,hank@example.com,,
ella,Ella,ella@example.com,2026-07-01,2026-07-10
emma,Emma,emma@example.com,,
"""
ROUTING = FARMERS_IN_TURN


def setup(folder: Path, accounts: int) -> tuple[Path, Path]:
    regions = {f"c{n}": "" for n in range(1, accounts + 1)}
    return import_book(folder, PROFILE, OWNERS, regions, ROUTING)


def owners_of(folder: Path) -> dict[str, str]:
    with sqlite3.connect(folder / "book.db") as conn:
        return dict(conn.execute("SELECT id, owner_id FROM accounts"))


def test_an_owner_away_in_the_crm_receives_nothing_then_gets_turns_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile, rules = setup(tmp_path, 4)
    assert main(["check", "-c", str(profile), str(rules)]) == 0
    # Inside Ella's window (its last day): every handoff goes to Emma.
    assert main(["sync", "-c", str(profile), "-r", str(rules), "--as-of", "2026-07-10"]) == 0
    assert set(owners_of(tmp_path).values()) == {"emma"}
    capsys.readouterr()
    assert (
        main(["explain", "-c", str(profile), "-r", str(rules), "--as-of", "2026-07-10", "ella"])
        == 0
    )
    assert "2026-07-11" in capsys.readouterr().out  # explain says when she is back


def test_the_day_after_the_window_the_owner_is_in_the_rotation_again(tmp_path: Path) -> None:
    profile, rules = setup(tmp_path, 4)
    assert main(["sync", "-c", str(profile), "-r", str(rules), "--as-of", "2026-07-11"]) == 0
    # Round robin in email order (ella, emma), both available: two each.
    assert sorted(owners_of(tmp_path).values()) == ["ella", "ella", "emma", "emma"]


def test_availability_naming_an_unmapped_owner_field_is_refused_at_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile, rules = setup(tmp_path, 1)
    profile.write_text(PROFILE.replace("from_field: away_from", "from_field: away_frm"), "utf-8")
    assert main(["check", "-c", str(profile), str(rules)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{profile}:10:16: error: availability.from_field 'away_frm' is not an owner field "
        "import.owners.fields maps; did you mean 'away_from'? [unknown-owner-field]"
    ]
    assert main(["sync", "-c", str(profile), "-r", str(rules), "--as-of", "2026-07-11"]) == 1
    assert set(owners_of(tmp_path).values()) == {"hank"}  # nothing written
