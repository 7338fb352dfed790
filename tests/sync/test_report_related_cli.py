"""Carried records and handoff tasks through the real commands: a sync on a small local
book, its plan and report then given carried records and tasks by hand (the recorder
fills them in a run), and `runs show`, `explain --run`, `report` and a rollback's
report read them back. Terminal text stays escaped; JSON keeps the data as is."""

from __future__ import annotations

import csv
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pytest
from sync_helpers import make_fixture

from roleSync.cli import main
from roleSync.plan import Plan
from roleSync.plan.types import HandoffTask, RelatedChange, RelatedObject, TaskFor
from roleSync.report.runs import read_run_report
from roleSync.sync.report import RelatedOutcome, RelatedResultCode, TaskOutcome
from test_terminal_escapes import EVIL, EVIL_SHOWN, assert_clean

R = RelatedResultCode
SUBJECT = "Welcome " + EVIL


def run(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main(list(argv))
    return code, stdout.getvalue(), stderr.getvalue()


@dataclass(frozen=True)
class Ran:
    profile: str
    runs: Path
    run_id: str
    rollback_id: str
    account: str  # moved by the run, with carried records and tasks


def _carried(plan: Plan) -> Plan:
    first, second = plan.changes[:2]
    related = [
        RelatedChange(
            RelatedObject.DEAL,
            "renewal-1",
            first.account_id,
            first.from_owner_id,
            first.to_owner_id,
            "open renewal deal",
            first.trigger,
            first.handoff_id,
        ),
        RelatedChange(
            RelatedObject.CONTACT,
            "contact" + EVIL,
            first.account_id,
            first.from_owner_id,
            first.to_owner_id,
            "contact owned by the previous owner",
            first.trigger,
            first.handoff_id,
        ),
        RelatedChange(
            RelatedObject.DEAL,
            "expansion-2",
            second.account_id,
            second.from_owner_id,
            second.to_owner_id,
            "open expansion deal",
            second.trigger,
            second.handoff_id,
        ),
    ]
    tasks = [
        HandoffTask(
            f"{first.handoff_id}:{first.account_id}:new",
            first.account_id,
            first.to_owner_id,
            SUBJECT,
            "body",
            date(2026, 7, 14),
            TaskFor.NEW_OWNER,
            first.trigger,
            first.handoff_id,
        ),
        HandoffTask(
            f"{second.handoff_id}:{second.account_id}:new",
            second.account_id,
            second.to_owner_id,
            "Welcome",
            "body",
            date(2026, 7, 14),
            TaskFor.NEW_OWNER,
            second.trigger,
            second.handoff_id,
        ),
    ]
    return replace(plan, related_changes=related, task_creates=tasks)


def _outcomes(plan: Plan) -> tuple[list[RelatedOutcome], list[TaskOutcome]]:
    results = [(R.APPLIED, None, ""), (R.CONFLICT, "zed", ""), (R.FAILED, None, "boom" + EVIL)]
    related = [
        RelatedOutcome(
            c.object.value,
            c.record_id,
            c.account_id,
            c.from_owner_id,
            c.to_owner_id,
            c.handoff_id,
            c.trigger,
            result,
            found,
            error,
        )
        for c, (result, found, error) in zip(plan.related_changes, results, strict=True)
    ]
    tasks = [
        TaskOutcome(
            t.key,
            t.account_id,
            t.owner_id,
            t.for_owner.value,
            t.subject,
            t.due_date,
            t.handoff_id,
            t.trigger,
            result,
            error,
        )
        for t, (result, error) in zip(
            plan.task_creates, [(R.CREATED, ""), (R.FAILED, "REQUIRED_FIELD_MISSING")], strict=True
        )
    ]
    return related, tasks


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    fixture = make_fixture(tmp_path_factory.mktemp("related"), hunters=1, accounts_per_hunter=4)
    code, _, err = run(*fixture.cli("sync"))
    assert code == 0, err
    runs = fixture.folder / ".rolesync" / "runs"
    (run_dir,) = runs.iterdir()
    plan = _carried(Plan.read(run_dir / "plan.json", history=True))
    (run_dir / "plan.json").write_text(plan.to_json())
    report = read_run_report(run_dir / "report.json")
    report.related, report.tasks = _outcomes(plan)
    report.write(run_dir / "report.json")
    code, _, err = run("rollback", run_dir.name, "-c", str(fixture.profile))
    assert code == 0, err
    (rollback_id,) = {p.name for p in runs.iterdir()} - {run_dir.name}
    return Ran(str(fixture.profile), runs, run_dir.name, rollback_id, plan.changes[0].account_id)


def test_runs_show_counts_carried_records_and_tasks_by_outcome(ran: Ran) -> None:
    code, out, err = run("runs", "show", ran.run_id, "-c", ran.profile)
    assert code == 0, err
    assert "  carried  3 records: 1 applied, 1 conflict, 1 failed\n" in out
    assert "  tasks    2 handoff tasks: 1 created, 1 failed\n" in out
    assert_clean(out, "runs show")
    code, out, err = run("runs", "show", ran.run_id, "-c", ran.profile, "--format", "json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["carried"] == {"applied": 1, "conflict": 1, "failed": 1}
    assert shown["tasks"] == {"created": 1, "failed": 1} and shown["tasks_left"] == 0


def test_runs_show_of_a_run_without_any_says_nothing_of_them(ran: Ran) -> None:
    # Before its report is given tasks left (the next test): the rollback carried none.
    code, out, err = run("runs", "show", ran.rollback_id, "-c", ran.profile, "--format", "json")
    assert code == 0, err
    assert not {"carried", "tasks", "tasks_left"} & set(json.loads(out))
    code, out, _ = run("runs", "show", ran.rollback_id, "-c", ran.profile)
    assert "carried" not in out and "tasks" not in out


def test_a_rollback_says_it_left_the_runs_tasks(ran: Ran, tmp_path: Path) -> None:
    path = ran.runs / ran.rollback_id / "report.json"
    report = read_run_report(path)
    report.tasks_left = 2
    report.write(path)
    code, out, err = run("runs", "show", ran.rollback_id, "-c", ran.profile)
    assert code == 0, err
    assert f"  tasks    2 created by run {ran.run_id} left in the CRM" in out
    target = tmp_path / "rollback.html"
    code, _, err = run("report", ran.rollback_id, "-c", ran.profile, "-o", str(target))
    assert code == 0, err
    page = target.read_text()
    assert f"2 handoff tasks created by run {ran.run_id} were left in the CRM" in page


def test_explain_run_lists_records_and_tasks_escaped(ran: Ran) -> None:
    code, out, err = run("explain", ran.account, "-c", ran.profile, "--run", ran.run_id)
    assert code == 0, err
    assert_clean(out, "explain --run")
    assert "Records carried with it (2):" in out and "Handoff tasks (1):" in out
    assert f"  - contact contact{EVIL_SHOWN} from Hunter 0 to " in out
    assert ": conflict: owner changed to zed\n" in out
    assert f'"Welcome {EVIL_SHOWN}", due 2026-07-14: created' in out
    assert "Trigger: first_won_new_business (" in out


def _table(folder: Path, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader((folder / name).open(encoding="utf-8", newline="")))


def test_report_json_csv_and_html_hold_them(ran: Ran, tmp_path: Path) -> None:
    args = ("report", ran.run_id, "-c", ran.profile)
    code, out, err = run(*args, "--format", "json", "-o", "-")
    assert code == 0, err
    document = json.loads(out)
    assert [r["outcome"] for r in document["carried"]] == ["applied", "conflict", "failed"]
    assert document["tasks"][0]["subject"] == SUBJECT  # JSON keeps the data as is
    assert document["run"]["carried_moved"] == 1 and document["run"]["tasks_created"] == 1
    code, _, err = run(*args, "--format", "csv", "-o", str(tmp_path / "csv"))
    assert code == 0, err
    carried = _table(tmp_path / "csv", "carried.csv")
    assert [r["record_id"] for r in carried] == ["renewal-1", "contact" + EVIL, "expansion-2"]
    tasks = _table(tmp_path / "csv", "tasks.csv")
    assert tasks[1]["outcome_detail"] == "REQUIRED_FIELD_MISSING"
    code, _, err = run(*args, "-o", str(tmp_path / "r.html"))
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert "Records carried (1 of 3 moved)" in page and "Handoff tasks (1 of 2 created)" in page
    assert EVIL not in page  # HTML escapes markup; control characters are inert there
