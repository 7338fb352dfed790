"""The plan stored with its run: large plans deflated (issue 19), read back whole; a
damaged copy is one positioned line, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sync_helpers import make_fixture
from test_journal_recovery import applied_once, crash_a_run

from roleSync.cli import main
from roleSync.errors import InputError
from roleSync.sync import plan_pack
from roleSync.sync.plan_pack import MARKER, PACK_FROM, packed_plan, unpacked_plan

# The same tests against both state stores (tests/pg_fixtures.py).
pytestmark = pytest.mark.usefixtures("state_backend")


def _large_plan_text() -> str:
    changes = [
        {"account_id": f"a-{n:07d}", "to_owner_id": f"o-{n % 97}", "reason": "Rénovation"}
        for n in range(PACK_FROM // 60)
    ]
    return json.dumps({"format": "rolesync-plan/1", "changes": changes}, indent=2)


def test_a_large_plan_is_stored_deflated_and_read_back_whole() -> None:
    text = _large_plan_text()
    assert len(text) >= PACK_FROM
    stored = packed_plan(text)
    assert stored.startswith(MARKER) and stored.isascii()
    assert len(stored) < len(text) / 5
    assert unpacked_plan(stored, "x") == text


def test_a_small_plan_and_one_stored_before_are_kept_as_they_are() -> None:
    text = '{"format": "rolesync-plan/1", "changes": []}\n'
    assert packed_plan(text) == text
    assert unpacked_plan(text, "x") == text


@pytest.mark.parametrize(
    "damage",
    [
        lambda s: s[: len(s) // 2],  # cut short
        lambda s: s[:40] + "!!" + s[42:],  # not base64
        lambda s: MARKER + "aGVsbG8=",  # base64, not deflate
    ],
    ids=["cut", "not-base64", "not-deflate"],
)
def test_a_damaged_stored_plan_is_one_line_naming_where(damage: object) -> None:
    assert callable(damage)
    stored = damage(packed_plan(_large_plan_text()))
    with pytest.raises(InputError) as caught:
        unpacked_plan(stored, "runs/r1/plan.json (the copy in the state store)")
    message = str(caught.value)
    assert message.startswith("runs/r1/plan.json (the copy in the state store): error:")
    assert "damaged" in message and "\n" not in message


def test_a_run_whose_plan_file_is_gone_is_finished_from_the_deflated_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As test_journal_recovery's pod without a volume, with the plan stored deflated."""
    monkeypatch.setattr(plan_pack, "PACK_FROM", 0)
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=10)
    plan = crash_a_run(fixture, ("intent", 1))
    ((plan_path, stored),) = fixture.query(
        "SELECT plan_path, plan FROM runs JOIN run_plans ON run_id = id"
    )
    assert str(stored).startswith(MARKER)
    Path(plan_path).unlink()
    assert main(fixture.cli("sync")) == 0
    ((status,),) = fixture.query("SELECT status FROM runs ORDER BY rowid LIMIT 1")
    assert status == "ok"
    assert applied_once(fixture) == {c.account_id: 1 for c in plan.changes}
