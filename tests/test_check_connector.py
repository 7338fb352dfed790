"""`check --connector`: names in rule files checked against a profile and its book."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from roleSync.cli import main
from roleSync.demo import prepare

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
    assert capsys.readouterr().err.splitlines() == [
        f"{rules}:5:19: error: the connector profile maps no account field 'industy'; "
        "did you mean 'industry'? [unknown-field]",
        f"{rules}:6:45: error: no owner 'priya.nayr@example.com' in the book; "
        "did you mean 'priya.nair@example.com'? [unknown-owner]",
        f"{rules}:6:69: warning: owner 'lucas.moreau@example.com' is inactive and never "
        "receives accounts [inactive-owner]",
    ]
