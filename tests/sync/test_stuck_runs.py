"""A run whose apply crashed and whose recovery fails again and again (issue 13): every
sync, apply and rollback says which run and how to get out in one line, exit 1; plan,
runs, report and `runs abandon` are never blocked; `runs abandon` gives the run up with
a reason, keeps its journal and audit, and the next sync plans afresh.

The repeating crash is a trigger in the local book refusing every ownership write, as a
book that cannot be written to (or a plan value that always crashes) would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sync_helpers import AS_OF, Fixture, WrappedJournalAdapter, hold_run_lock, make_fixture

from roleSync.adapters.base import ApplyJournal, ApplyResult
from roleSync.adapters.local import LocalAdapter
from roleSync.cli import main
from roleSync.plan import OwnershipChange
from roleSync.profile import load_profile
from roleSync.sync.recovery import RecoveryError, RunStoppedError, recover
from roleSync.sync.runner import PlanRequest, apply_plan, make_plan
from roleSync.sync.state_open import open_state

# The same tests against both state stores (tests/pg_fixtures.py).
pytestmark = pytest.mark.usefixtures("state_backend")

NOW = datetime(2026, 6, 30, 9, 0, tzinfo=UTC)
FROZEN = "ownership is frozen for the audit"


class Crash(BaseException):
    """Stands for the process dying mid-apply."""


class JournalThatDies:
    def __init__(self, inner: ApplyJournal) -> None:
        self.inner = inner

    def intent(self, batch_no: int, changes: Sequence[OwnershipChange]) -> None:
        self.inner.intent(batch_no, changes)

    def result(self, batch_no: int, result: ApplyResult) -> None:
        self.inner.result(batch_no, result)
        if batch_no == 0:
            raise Crash


def crash_a_run(fixture: Fixture) -> str:
    """A sync whose apply dies after its first batch of 3: the run is left unfinished."""
    profile = load_profile(fixture.profile)
    # Dies after its first batch.
    adapter = WrappedJournalAdapter(LocalAdapter(profile, now=NOW), JournalThatDies)
    plan = make_plan(PlanRequest(profile, [fixture.rules], AS_OF), adapter)
    with pytest.raises(Crash):
        apply_plan(profile, plan, adapter, book_accounts=18, mode="sync", clock=lambda: NOW)
    adapter.close()
    ((run_id,),) = fixture.query("SELECT id FROM runs WHERE status = 'interrupted'")
    return str(run_id)


def freeze_ownership(fixture: Fixture, frozen: bool = True) -> None:
    con = sqlite3.connect(fixture.book)
    with con:
        if frozen:
            con.execute(
                "CREATE TRIGGER frozen BEFORE UPDATE OF owner_id ON accounts "
                f"BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END"
            )
        else:
            con.execute("DROP TRIGGER frozen")
    con.close()


@pytest.fixture
def stuck(tmp_path: Path) -> tuple[Fixture, str, str]:
    """A finished sync (6 handoffs), the accounts handed back by a person, a second sync
    that moves them again and dies after 3, and a book that now refuses every move.
    Returns the fixture, the finished run's id and the stuck run's id."""
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=6)
    assert main(fixture.cli("sync")) == 0
    ((finished,),) = fixture.query("SELECT id FROM runs")
    fixture.reassign("h-0", *(a for a in fixture.owners() if a.startswith("a-")))
    fixture.set_routing(extra="  revert_manual_changes: true\n")
    stuck_run = crash_a_run(fixture)
    freeze_ownership(fixture)
    return fixture, str(finished), stuck_run


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_a_failing_recovery_names_the_run_and_the_way_out_and_blocks_no_reader(
    stuck: tuple[Fixture, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fixture, finished, run_id = stuck
    profile = fixture.profile
    plan_file = fixture.folder / "plan.json"
    book = fixture.book.resolve()
    expected = (
        f"rolesync: error: run {run_id} could not be recovered: {book}: cannot write: "
        f"{FROZEN}; inspect it with 'rolesync runs show {run_id} -c {profile}' and, to give "
        f"it up, 'rolesync runs abandon {run_id} -c {profile} --reason TEXT'"
    )
    trying = (
        f"rolesync: run {run_id} was interrupted (interrupted); finishing it: 3 changes had "
        "an outcome, 0 found applied, 3 to write, 0 conflicts"
    )
    capsys.readouterr()
    # Readers first: none of them tries to finish the stuck run.
    assert main(["plan", *fixture.cli("sync")[1:], "-o", str(plan_file)]) == 0
    assert main(["runs", "-c", str(profile)]) == 0
    listing = capsys.readouterr().out
    assert f"{run_id}  test     sync  interrupted" in listing
    assert main(["runs", "show", run_id, "-c", str(profile)]) == 0
    assert main(["report", finished, "-c", str(profile), "--format", "json"]) == 0
    capsys.readouterr()

    for command in (
        fixture.cli("sync"),
        fixture.cli("apply", str(plan_file)),
        [*fixture.cli("rollback"), finished],
    ):
        assert main(command) == 1, command
        # The note that it tries (a warning), then the one error line.
        assert capsys.readouterr().err.splitlines() == [trying, expected], command
    assert fixture.query("SELECT count(*) FROM runs") == [(2,)]  # no new run began
    assert fixture.query("SELECT status, message FROM runs WHERE id = ?", run_id) == [
        ("interrupted", f"recovery failed: {book}: cannot write: {FROZEN}")
    ]


def test_abandon_gives_the_run_up_keeps_its_records_and_the_next_sync_plans_afresh(
    stuck: tuple[Fixture, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fixture, _, run_id = stuck
    assert main(fixture.cli("sync")) == 1  # recovery fails: the profile is stuck
    journal = fixture.query("SELECT * FROM journal WHERE run_id = ? ORDER BY 2, 3", run_id)
    audit = fixture.query("SELECT * FROM audit WHERE run_id = ? ORDER BY seq", run_id)
    # Its first batch, and the intent of the batch the failed recovery could not write.
    assert len(audit) == 3 and len(journal) == 6

    capsys.readouterr()
    reason = "book frozen for the audit; re-planned after"
    assert main(["runs", "abandon", run_id, "-c", str(fixture.profile), "--reason", reason]) == 0
    assert capsys.readouterr().out == (
        f"run {run_id}: abandoned; its journal and audit are kept (3 of 6 changes "
        "applied). The next sync plans afresh.\n"
    )
    message = f"abandoned: {reason} (was interrupted: recovery failed: {fixture.book.resolve()}"
    ((status, note, applied, finished),) = fixture.query(
        "SELECT status, message, applied, finished FROM runs WHERE id = ?", run_id
    )
    assert (status, applied, finished is not None) == ("abandoned", 3, True)
    assert note.startswith(message)
    assert fixture.query("SELECT * FROM journal WHERE run_id = ? ORDER BY 2, 3", run_id) == journal
    assert fixture.query("SELECT * FROM audit WHERE run_id = ? ORDER BY seq", run_id) == audit
    assert main(["runs", "-c", str(fixture.profile)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if run_id in line)
    assert "  abandoned  " in row and f"abandoned: {reason}" in row

    # Abandoned is final: a second abandon is refused and changes nothing.
    assert main(["runs", "abandon", run_id, "-c", str(fixture.profile), "--reason", "x"]) == 1
    assert one_line(capsys.readouterr().err) == (
        f"rolesync: error: run {run_id} is abandoned, not unfinished: only a run that "
        "crashed or was interrupted can be abandoned"
    )

    freeze_ownership(fixture, frozen=False)
    assert main(fixture.cli("sync")) == 0
    capsys.readouterr()
    # Planned afresh from the book: the 3 accounts the abandoned run never moved.
    last = fixture.query("SELECT status, planned, applied FROM runs ORDER BY rowid DESC LIMIT 1")
    assert last == [("ok", 3, 3)]
    owners = fixture.owners()
    assert all(owners[a] != "h-0" for a in owners if a.startswith("a-"))
    assert fixture.query("SELECT status FROM runs WHERE id = ?", run_id) == [("abandoned",)]


def test_abandon_refuses_runs_that_are_not_stuck_and_waits_for_no_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=3)
    assert main(fixture.cli("sync")) == 0
    ((done,),) = fixture.query("SELECT id FROM runs")
    profile = str(fixture.profile)
    capsys.readouterr()
    assert main(["runs", "abandon", done, "-c", profile, "--reason", "why not"]) == 1
    assert one_line(capsys.readouterr().err) == (
        f"rolesync: error: run {done} is ok, not unfinished: only a run that crashed or "
        "was interrupted can be abandoned"
    )
    assert main(["runs", "abandon", "nope", "-c", profile, "--reason", "why not"]) == 2
    assert one_line(capsys.readouterr().err) == (
        f"rolesync: error: no run 'nope' of profile test in {fixture.state_label}"
    )
    assert main(["runs", "abandon", done, "-c", profile, "--reason", "  "]) == 2
    assert one_line(capsys.readouterr().err) == (
        "rolesync: error: --reason must say why the run is given up"
    )
    with pytest.raises(SystemExit) as usage:
        main(["runs", "abandon", done, "-c", profile])
    assert usage.value.code == 2
    assert "the following arguments are required: --reason" in capsys.readouterr().err
    # A run being finished right now holds the lock: abandon does not go under it.
    with hold_run_lock(fixture, NOW):
        assert main(["runs", "abandon", done, "-c", profile, "--reason", "why not"]) == 4
    assert "holds the lock for profile test" in capsys.readouterr().err
    assert fixture.query("SELECT status FROM runs") == [("ok",)]


def test_an_unforeseen_error_in_apply_and_in_its_recovery_is_one_line(tmp_path: Path) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=6)
    profile = load_profile(fixture.profile)
    bug = ValueError("Out of range float values are not JSON compliant")
    # Raises `bug` on every apply: a crash that repeats.
    adapter = WrappedJournalAdapter(LocalAdapter(profile, now=NOW), JournalThatDies, error=bug)
    plan = make_plan(PlanRequest(profile, [fixture.rules], AS_OF), adapter)
    with pytest.raises(RunStoppedError) as stopped:
        apply_plan(profile, plan, adapter, book_accounts=18, mode="sync", clock=lambda: NOW)
    ((run_id, status, message),) = fixture.query("SELECT id, status, message FROM runs")
    cause = "ValueError: Out of range float values are not JSON compliant"
    assert (status, message) == ("interrupted", cause)
    way_out = (
        f"inspect it with 'rolesync runs show {run_id} -c {fixture.profile}' and, to give it "
        f"up, 'rolesync runs abandon {run_id} -c {fixture.profile} --reason TEXT'"
    )
    assert str(stopped.value) == (
        f"run {run_id} stopped during apply: {cause}; what it wrote is journaled and the "
        f"next sync, apply or rollback of profile test finishes it; {way_out}"
    )
    with open_state(profile) as store, pytest.raises(RecoveryError) as failed:
        recover(store, profile, adapter, clock=lambda: NOW)
    assert str(failed.value) == f"run {run_id} could not be recovered: {cause}; {way_out}"
    adapter.close()
