"""`check --connector`: names in rule files checked against a profile and its book."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest

from roleSync.cli import main
from roleSync.demo import prepare
from roleSync.profile import load_profile

ROUTING = """\
version: 1
kind: routing
routes:
  - id: named
    when: {field: account.fields.industy, op: eq, value: Retail}
    assign: {pool: [priya.nair@example.com, priya.nayr@example.com, lucas.moreau@example.com]}
  - id: rest
    assign: {pool: {role: farmer}}
"""


def test_fields_and_owners_are_checked_against_the_profile_and_its_book(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile, _ = prepare(tmp_path / "demo", date(2026, 6, 30), 2026)
    rules = tmp_path / "routing.yaml"
    rules.write_text(ROUTING, encoding="utf-8")
    assert main(["check", str(rules)]) == 0  # without a profile these names cannot be judged
    capsys.readouterr()
    assert main(["check", "-c", str(profile), str(rules)]) == 1
    lines = capsys.readouterr().err.splitlines()
    # The demo book's health: its won deals without an amount, a warning at the profile.
    with closing(sqlite3.connect(load_profile(profile).book_path)) as book:
        (missing,) = book.execute(
            "SELECT count(*) FROM deals WHERE won = 1 AND amount IS NULL"
        ).fetchone()
    health = [line for line in lines if line.startswith(str(profile))]
    assert len(health) == 1 and missing > 0
    assert f": warning: {missing} won deals have no amount" in health[0]
    assert health[0].endswith("[missing-amount]")
    assert [line for line in lines if line not in health] == [
        f"{rules}:5:19: error: the connector profile maps no account field 'industy'; "
        "did you mean 'industry'? [unknown-field]",
        f"{rules}:6:45: error: no owner 'priya.nayr@example.com' in the book; "
        "did you mean 'priya.nair@example.com'? [unknown-owner]",
        f"{rules}:6:69: warning: owner 'lucas.moreau@example.com' is inactive and never "
        "receives accounts [inactive-owner]",
    ]
