"""`rolesync check -c PROFILE`: a handoff that carries contacts or tasks from a CRM whose
profile does not pull them would move none of them; that is a warning at the carry
entry, naming the switch. A profile that pulls them, and a local book, pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleSync.cli import main

ROOT = Path(__file__).resolve().parents[1]

ROUTING = """\
version: 1
kind: routing
handoffs:
  - id: won
    trigger: first_won_new_business
    carry:
      - deals: {kinds: [renewal]}
      - contacts: all
      - tasks: previous_owner
routes:
  - id: all
    assign: {pool: {role: farmer}}
"""


def _check(
    tmp_path: Path, profile: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[str], Path]:
    rules = tmp_path / "routing.yaml"
    rules.write_text(ROUTING)
    (tmp_path / "profile.yaml").write_text(profile)
    code = main(["check", "-c", str(tmp_path / "profile.yaml"), str(rules)])
    captured = capsys.readouterr()
    lines = [line for line in (captured.out + captured.err).splitlines() if str(rules) in line]
    return code, lines, rules


@pytest.mark.parametrize("kind", ["salesforce", "hubspot"])
def test_carrying_what_the_crm_profile_does_not_pull_is_a_positioned_warning(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = (ROOT / "connectors" / f"{kind}.example.yaml").read_text()
    assert "    contacts: false" in profile and "    tasks: false" in profile
    code, lines, path = _check(tmp_path, profile, capsys)
    assert code == 3  # warnings only: check's exit code for them
    assert lines == [
        f"{path}:8:9: warning: handoff 'won' carries contacts, which the profile does not "
        f"pull, so none would move: set {kind}.pull.contacts: true [not-pulled]",
        f"{path}:9:9: warning: handoff 'won' carries tasks, which the profile does not "
        f"pull, so none would move: set {kind}.pull.tasks: true [not-pulled]",
    ]
    pulled = profile.replace("    contacts: false", "    contacts: true").replace(
        "    tasks: false", "    tasks: true"
    )
    assert _check(tmp_path, pulled, capsys)[:2] == (0, [])


def test_a_local_book_holds_its_contacts_and_tasks_no_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = "version: 1\nkind: local\nname: t\nlocal: {path: book.db}\n"
    assert _check(tmp_path, profile, capsys)[:2] == (0, [])
