"""`rolesync rollback RUN_ID`: restores the owners of a run exactly, except accounts
changed since, which it reports; applied as a run of its own, audited, guardrailed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sync_helpers import make_fixture

from roleSync.cli import main

# The same tests against both state stores (tests/pg_fixtures.py).
pytestmark = pytest.mark.usefixtures("state_backend")


def test_rollback_restores_a_runs_owners_except_those_changed_since(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=2, accounts_per_hunter=5)
    before = fixture.owners()
    assert main(fixture.cli("sync")) == 0
    ((run_id,),) = fixture.query("SELECT id FROM runs")
    after = fixture.owners()
    moved = sorted(a for a in before if before[a] != after[a])
    assert len(moved) == 10
    # Since the run: a person gives one account to another farmer; one is deleted.
    human, deleted = moved[0], moved[1]
    other = "f-0" if after[human] != "f-0" else "f-1"
    fixture.reassign(other, human)
    con = sqlite3.connect(fixture.book)
    with con:
        con.execute("DELETE FROM accounts WHERE id = ?", (deleted,))
    con.close()

    capsys.readouterr()
    assert main([*fixture.cli("rollback"), run_id]) == 0
    out = capsys.readouterr().out
    assert "planned 8, applied 8, already applied 0, conflicts 0, failed 0, skipped 2" in out
    assert (
        f"not rolled back: {human}: changed since run {run_id}: owner is {other}, "
        f"not {after[human]} as the run left it [changed-since]"
    ) in out
    assert f"not rolled back: {deleted}: no longer exists [account-deleted]" in out
    now = fixture.owners()
    assert {a: now[a] for a in moved[2:]} == {a: before[a] for a in moved[2:]}
    assert now[human] == other  # the person's change stands

    rows = fixture.query("SELECT id, mode, status, parent_run, applied FROM runs ORDER BY rowid")
    rollback_id = rows[1][0]
    assert rows[1][1:] == ("rollback", "ok", run_id, 8)
    audit = fixture.query(
        "SELECT account_id, from_owner, to_owner, rule_id, result FROM audit WHERE run_id = ?",
        rollback_id,
    )
    assert sorted(audit) == sorted(
        (a, after[a], before[a], f"rollback:{run_id}", "applied") for a in moved[2:]
    )
    assert main(["runs", "show", rollback_id, "-c", str(fixture.profile)]) == 0
    assert f"rollback of run {run_id}" in capsys.readouterr().out

    # Rolling back twice changes nothing: every account is now "changed since".
    assert main([*fixture.cli("rollback"), run_id]) == 0
    assert "planned 0, applied 0" in capsys.readouterr().out
    # Rolling back a rollback re-applies the original handoffs.
    assert main([*fixture.cli("rollback"), rollback_id]) == 0
    assert {a: fixture.owners()[a] for a in moved[2:]} == {a: after[a] for a in moved[2:]}


def test_rollback_of_an_unknown_run_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path)
    assert main(fixture.cli("sync")) == 0
    capsys.readouterr()
    assert main([*fixture.cli("rollback"), "20260101T000000Z-000000"]) == 2
    assert "no run '20260101T000000Z-000000' of profile test" in capsys.readouterr().err


def test_a_large_rollback_stops_at_the_guardrail_like_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(
        tmp_path, hunters=1, accounts_per_hunter=8, guardrails={"max_changes": 5, "max_share": 1}
    )
    assert main(fixture.cli("sync", "--allow-large")) == 0
    ((run_id,),) = fixture.query("SELECT id FROM runs")
    handed = fixture.book.read_bytes()
    assert main([*fixture.cli("rollback"), run_id]) == 3
    assert "8 ownership changes exceed max_changes 5" in capsys.readouterr().err
    assert fixture.book.read_bytes() == handed
    assert main([*fixture.cli("rollback"), run_id, "--allow-large"]) == 0
    assert all(o == "h-0" for a, o in fixture.owners().items() if a.startswith("a-"))


def test_rollback_never_hands_an_account_to_an_inactive_owner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=2, accounts_per_hunter=3)
    assert main(fixture.cli("sync")) == 0
    ((run_id,),) = fixture.query("SELECT id FROM runs")
    con = sqlite3.connect(fixture.book)
    with con:
        con.execute("UPDATE owners SET active = 0 WHERE id = 'h-1'")  # h-1 left the company
    con.close()
    capsys.readouterr()
    assert main([*fixture.cli("rollback"), run_id]) == 0
    out = capsys.readouterr().out
    assert "planned 3, applied 3, already applied 0, conflicts 0, failed 0, skipped 3" in out
    assert out.count("is inactive or gone now [previous-owner-inactive]") == 3
    owners = fixture.owners()
    assert [owners[f"a-0-{n:05d}"] for n in range(3)] == ["h-0"] * 3
    assert all(owners[f"a-1-{n:05d}"].startswith("f-") for n in range(3))  # type: ignore[union-attr]
