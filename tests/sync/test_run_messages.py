"""Two messages of issue 13: a run failed by its metric writes says so (it printed
"failed: ... failed 0"), and a plan repeating a change is one line before anything is
written, whoever built it (a plan file is refused when read; a plan built in memory went
on to a raw "UNIQUE constraint failed: journal...")."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sync_helpers import AS_OF, make_fixture

from roleSync.adapters.local import LocalAdapter
from roleSync.cli import main
from roleSync.errors import ConflictError
from roleSync.profile import load_profile
from roleSync.sync.runner import PlanRequest, apply_plan, make_plan

# The same tests against both state stores (tests/pg_fixtures.py).
pytestmark = pytest.mark.usefixtures("state_backend")

WRITE_ROLES = "metrics: {write: true, fields: {role: role}}"
NO_WRITES = "metrics: {write: false}"


def test_a_run_failed_by_its_metric_writes_says_what_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=6)
    text = fixture.profile.read_text()
    fixture.profile.write_text(text.replace(NO_WRITES, WRITE_ROLES))
    plan_file = tmp_path / "plan.json"
    assert main(["plan", *fixture.cli("sync")[1:], "-o", str(plan_file)]) == 0
    fixture.profile.write_text(text)  # the profile stops writing metrics before apply
    capsys.readouterr()

    assert main(fixture.cli("apply", str(plan_file))) == 1
    captured = capsys.readouterr()
    ((run_id, status, message),) = fixture.query("SELECT id, status, message FROM runs")
    note = "metric writes failed 5 of 5 (f-0: the profile has metrics.write: false; and 4 more)"
    assert (status, message) == ("failed", note)
    assert captured.out.splitlines()[0] == (
        f"run {run_id}: planned 6, applied 6, already applied 0, conflicts 0, failed 0, "
        f"skipped 0, metric writes 0/5, {note}"
    )
    assert captured.err.splitlines()[-1] == (
        f"rolesync: run {run_id}: failed: applied 6, already applied 0, conflicts 0, "
        f"failed 0, {note}"
    )
    assert main(["runs", "show", run_id, "-c", str(fixture.profile)]) == 0
    shown = capsys.readouterr().out
    assert "metric write failures (5):\n  f-0  the profile has metrics.write: false\n" in shown


def test_a_plan_built_in_memory_repeating_a_change_is_refused_before_any_write(
    tmp_path: Path,
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=6)
    profile = load_profile(fixture.profile)
    before = fixture.owners()
    with LocalAdapter(profile) as adapter:
        plan = make_plan(PlanRequest(profile, [fixture.rules], AS_OF), adapter)
        twice = replace(plan, changes=[*plan.changes, plan.changes[0]])
        with pytest.raises(ConflictError) as refused:
            apply_plan(profile, twice, adapter, book_accounts=18, mode="sync")
    assert str(refused.value) == (
        f"account {plan.changes[0].account_id} is changed twice in this plan; nothing written"
    )
    assert fixture.owners() == before
    assert fixture.query("SELECT count(*) FROM runs") == [(0,)]
    assert not (tmp_path / ".rolesync" / "runs").exists()
