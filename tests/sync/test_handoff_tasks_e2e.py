"""Handoff tasks end to end on the local book: `sync` creates a task for the new owner
and one for the previous owner per handoff, filled from the placeholders; a second sync,
a re-applied plan and a rollback create none again; the rollback leaves them and says
so; a guardrail counts them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sync_helpers import make_fixture

from roleSync.cli import main

TASKS = """\
  tasks:
    new_owner:
      subject: "Welcome {account} from {previous_owner}"
      body: "Handed over by route {route} ({trigger}, {trigger_date}); call by {due_date}."
      due_in_days: 3
    previous_owner:
      subject: "Introduce {new_owner} to {account}"
      due_in_days: 5
"""


def _tasks(book: Path) -> list[tuple[str, str, str, str, str]]:
    con = sqlite3.connect(book)
    try:
        rows = con.execute(
            "SELECT account_id, owner_id, subject, due, rolesync_key FROM tasks "
            "WHERE rolesync_key IS NOT NULL ORDER BY account_id, owner_id"
        ).fetchall()
        return [tuple(r) for r in rows]
    finally:
        con.close()


def test_sync_creates_each_handoff_task_once_and_rollback_leaves_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=4, farmers=2)
    fixture.set_routing(extra=TASKS)
    plan_file = tmp_path / "plan.json"
    assert main(["plan", *fixture.cli("sync")[1:], "-o", str(plan_file)]) == 0
    assert main(fixture.cli("sync")) == 0
    said = capsys.readouterr().out
    assert "handoff tasks 8/8" in said, said
    tasks = _tasks(fixture.book)
    assert len(tasks) == 8 and len({t[4] for t in tasks}) == 8
    owners = fixture.owners()
    for account in (a for a in owners if a.startswith("a-")):
        mine = {t[1]: t for t in tasks if t[0] == account}
        farmer = str(owners[account])
        assert set(mine) == {farmer, "h-0"}
        assert mine[farmer][2] == f"Welcome Account {account} from Hunter 0"
        assert mine[farmer][3] == "2026-07-03"  # as_of + 3
        assert mine["h-0"][2].startswith("Introduce Farmer ") and mine["h-0"][3] == "2026-07-05"
    # The run to roll back, read while it is the only one: runs start on whole seconds,
    # so two in the same second would tie on `started` and sort by their random ids.
    ((first,),) = fixture.query("SELECT id FROM runs")

    # Again: nothing due any more; and the same plan applied once more creates nothing.
    assert main(fixture.cli("sync")) == 0
    assert main(fixture.cli("apply", str(plan_file))) == 0
    capsys.readouterr()
    assert _tasks(fixture.book) == tasks
    results = fixture.query(
        "SELECT r.mode, a.result, count(*) FROM related_audit a JOIN runs r ON r.id = a.run_id "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )
    # Re-applied: the accounts are already with their new owners and the tasks found by key.
    assert results == [("apply", "already-created", 8), ("sync", "created", 8)]

    assert main(["rollback", first, "-c", str(fixture.profile)]) == 0
    said = capsys.readouterr().out
    assert "8 handoff tasks created by the run rolled back were left in the CRM" in said, said
    assert _tasks(fixture.book) == tasks
    assert all(o == "h-0" for a, o in fixture.owners().items() if a.startswith("a-"))


def test_handoff_tasks_above_the_guardrail_stop_the_run_writing_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(
        tmp_path,
        hunters=1,
        accounts_per_hunter=4,
        guardrails={"max_changes": 100, "max_share": 1.0, "max_handoff_tasks": 7},
    )
    fixture.set_routing(extra=TASKS)
    before = fixture.owners()
    assert main(fixture.cli("sync")) == 3
    err = capsys.readouterr().err
    assert "8 handoff tasks exceed max_handoff_tasks 7" in err, err
    assert fixture.owners() == before and _tasks(fixture.book) == []
