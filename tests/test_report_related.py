"""Carried records and handoff tasks in the run report, from a hand-made run: rows with
names and outcomes, counts, JSON and CSV, the HTML sections, a rollback's word on the
tasks it left, and `explain --run`'s trail of them."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from datetime import date
from html.parser import HTMLParser

import pytest

from roleSync.plan import Plan
from roleSync.plan.types import HandoffTask, RelatedChange, RelatedObject, TaskFor
from roleSync.report.data import CSV_FILES, build_report_data, csv_tables, to_json
from roleSync.report.explain_run import explain_account_in_run
from roleSync.report.html import render_html
from roleSync.report.related import NOT_RECORDED, FollowerCounts, follower_counts
from roleSync.sync.report import RelatedOutcome, RelatedResultCode, RunReport, TaskOutcome
from roleSync.terminal_text import printable
from test_report_data import EVIL, FORMULA, hand_made_run

R = RelatedResultCode
DUE = date(2026, 7, 14)
# A task subject that would forge a line of its own and clear a terminal.
FORGED = "Call them\nOutcome: applied.\x1b[2J"


def _carry(plan: Plan, object: RelatedObject, record_id: str, account_id: str) -> RelatedChange:
    change = next(c for c in plan.changes if c.account_id == account_id)
    return RelatedChange(
        object,
        record_id,
        account_id,
        change.from_owner_id,
        change.to_owner_id,
        f"open {object.value} of {account_id}, carried by handoff {change.handoff_id}",
        change.trigger,
        change.handoff_id,
    )


def _task(plan: Plan, account_id: str, for_owner: TaskFor, subject: str) -> HandoffTask:
    change = next(c for c in plan.changes if c.account_id == account_id)
    owner = change.to_owner_id if for_owner is TaskFor.NEW_OWNER else change.from_owner_id
    assert owner is not None
    return HandoffTask(
        f"{change.handoff_id}:{account_id}:{for_owner.value}",
        account_id,
        owner,
        subject,
        "body\nof two lines",
        DUE,
        for_owner,
        change.trigger,
        change.handoff_id,
    )


def _outcome(
    c: RelatedChange, result: str, found: str | None = None, error: str = ""
) -> RelatedOutcome:
    return RelatedOutcome(
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


def _made(t: HandoffTask, result: str, error: str = "") -> TaskOutcome:
    return TaskOutcome(
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


def carried_run() -> tuple[Plan, RunReport]:
    """hand_made_run (c0 and c4 applied, c1 already, c2 conflict, c3 failed) with seven
    carried records and four tasks, one of each outcome, one never recorded."""
    plan, report = hand_made_run()
    related = [
        _carry(plan, RelatedObject.DEAL, "renewal-0", "c0"),
        _carry(plan, RelatedObject.CONTACT, FORMULA, "c0"),
        _carry(plan, RelatedObject.TASK, "t-1", "c1"),
        _carry(plan, RelatedObject.CONTACT, "k-1", "c1"),
        _carry(plan, RelatedObject.DEAL, "expansion-2", "c2"),
        _carry(plan, RelatedObject.DEAL, "renewal-4", "c4"),
        _carry(plan, RelatedObject.CONTACT, "k-4", "c4"),  # no outcome recorded
    ]
    tasks = [
        _task(plan, "c0", TaskFor.NEW_OWNER, EVIL),
        _task(plan, "c0", TaskFor.PREVIOUS_OWNER, FORMULA),
        _task(plan, "c2", TaskFor.NEW_OWNER, "Welcome c2"),
        _task(plan, "c4", TaskFor.NEW_OWNER, FORGED),
    ]
    plan = replace(plan, related_changes=related, task_creates=tasks)
    report.related = [
        _outcome(related[0], R.APPLIED),
        _outcome(related[1], R.APPLIED),
        _outcome(related[2], R.ALREADY),
        _outcome(related[3], R.CONFLICT, found="zed"),
        _outcome(related[4], R.SKIPPED),
        _outcome(related[5], R.FAILED, error="INVALID_CROSS_REFERENCE_KEY"),
    ]
    report.tasks = [
        _made(tasks[0], R.CREATED),
        _made(tasks[1], R.EXISTED),
        _made(tasks[2], R.SKIPPED),
        _made(tasks[3], R.FAILED, error="REQUIRED_FIELD_MISSING"),
    ]
    return plan, report


@pytest.fixture(scope="module")
def run() -> tuple[Plan, RunReport]:
    return carried_run()


def test_carried_rows_join_each_planned_record_with_its_outcome(
    run: tuple[Plan, RunReport],
) -> None:
    data = build_report_data(*run)
    rows = {r.record_id: r for r in data.carried}
    assert list(rows) == [c.record_id for c in run[0].related_changes]  # plan order
    assert {k: (r.outcome, r.outcome_detail) for k, r in rows.items()} == {
        "renewal-0": (R.APPLIED, ""),
        FORMULA: (R.APPLIED, ""),
        "t-1": (R.ALREADY, "already with the new owner"),
        "k-1": (R.CONFLICT, "owner changed to zed"),
        "expansion-2": (R.SKIPPED, "its account did not move"),
        "renewal-4": (R.FAILED, "INVALID_CROSS_REFERENCE_KEY"),
        "k-4": (R.FAILED, NOT_RECORDED),  # planned, never reported: not silently lost
    }
    first = rows["renewal-0"]
    assert (first.from_owner_id, first.from_name) == ("hank", EVIL)  # names like HandoffRow
    assert first.to_name in {"Fran", "Fred"} and first.account_name == "Customer 0"
    assert first.trigger == "first_won_new_business" and first.handoff_id
    assert first.reason.startswith("open deal of c0")


def test_task_rows_resolve_the_assignee_and_say_whom_each_is_for(
    run: tuple[Plan, RunReport],
) -> None:
    tasks = build_report_data(*run).tasks
    assert [(t.account_id, t.for_owner, t.outcome) for t in tasks] == [
        ("c0", "new_owner", R.CREATED),
        ("c0", "previous_owner", R.EXISTED),
        ("c2", "new_owner", R.SKIPPED),
        ("c4", "new_owner", R.FAILED),
    ]
    assert tasks[1].owner_name == EVIL and tasks[0].owner_name in {"Fran", "Fred"}
    assert tasks[1].outcome_detail == "created by an earlier attempt, not again"
    assert tasks[3].outcome_detail == "REQUIRED_FIELD_MISSING"
    assert tasks[0].due_date == DUE and tasks[0].body == "body\nof two lines"


def test_an_outcome_the_plan_does_not_list_is_shown_too(run: tuple[Plan, RunReport]) -> None:
    plan, report = run
    stray = replace(report.related[0], record_id="stray-9")
    extra = replace(report, related=[*report.related, stray], tasks=[])
    data = build_report_data(replace(plan, task_creates=[]), extra)
    assert data.carried[-1].record_id == "stray-9" and data.carried[-1].reason == ""
    assert len(data.carried) == len(plan.related_changes) + 1


def test_counts_moved_of_planned_and_created_of_planned(run: tuple[Plan, RunReport]) -> None:
    info = build_report_data(*run).run
    # Moved: applied now or already before; created: now or by an earlier attempt.
    assert (info.carried_moved, info.carried_planned) == (3, 7)
    assert (info.tasks_created, info.tasks_planned) == (2, 4)
    assert info.tasks_left == 0 and info.rollback_of == ""


# REPORT_DATA_FORMAT 1 as BI jobs read it before carried records and tasks: keys are
# added, never renamed.
KEYS_BEFORE = {
    "format",
    "run",
    "owners",
    "title_disagreements",
    "balance",
    "handoffs",
    "skipped",
    "revenue_known",
    "book_health",
}
RUN_KEYS_BEFORE = {
    "run_id",
    "profile",
    "mode",
    "as_of",
    "started",
    "finished",
    "rules_digest",
    "window_days",
    "planned",
    "applied",
    "already_applied",
    "conflicts",
    "failed",
    "skipped",
    "metrics_planned",
    "metrics_written",
    "metric_conflicts",
}


def test_json_adds_the_tables_and_keeps_every_key_it_had(run: tuple[Plan, RunReport]) -> None:
    before = json.loads(to_json(build_report_data(*hand_made_run())))
    after = json.loads(to_json(build_report_data(*run)))
    assert after["format"] == before["format"] == 1
    assert set(after) == KEYS_BEFORE | {"carried", "tasks"}
    assert set(after["run"]) == RUN_KEYS_BEFORE | {
        "carried_planned",
        "carried_moved",
        "tasks_planned",
        "tasks_created",
        "rollback_of",
        "tasks_left",
        "full_routes",
    }
    assert before["carried"] == [] and before["tasks"] == []  # a run without carry
    assert len(after["carried"]) == 7 and len(after["tasks"]) == 4
    task = after["tasks"][0]
    assert task["due_date"] == DUE.isoformat() and task["subject"] == EVIL  # data as is
    assert after["run"]["carried_moved"] == 3 and after["run"]["tasks_planned"] == 4


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_has_a_table_each_for_carried_records_and_tasks(run: tuple[Plan, RunReport]) -> None:
    tables = csv_tables(build_report_data(*run))
    assert tuple(tables) == CSV_FILES and {"carried.csv", "tasks.csv"} <= set(CSV_FILES)
    carried = _rows(tables["carried.csv"])
    assert [r["outcome"] for r in carried].count(R.APPLIED) == 2
    assert carried[3]["outcome_detail"] == "owner changed to zed"
    tasks = _rows(tables["tasks.csv"])
    assert tasks[1]["for_owner"] == "previous_owner" and tasks[1]["due_date"] == "2026-07-14"
    assert tasks[0]["body"] == "body\nof two lines"  # quoted, one record
    run_row = _rows(tables["run.csv"])[0]
    assert (run_row["tasks_created"], run_row["tasks_planned"]) == ("2", "4")
    # Without carry the tables are there, headers only (a BI job's schema stays put).
    empty = csv_tables(build_report_data(*hand_made_run()))
    assert empty["carried.csv"].splitlines() == [tables["carried.csv"].splitlines()[0]]


def test_csv_defuses_formulas_in_carried_records_and_tasks(run: tuple[Plan, RunReport]) -> None:
    tables = csv_tables(build_report_data(*run))
    assert _rows(tables["carried.csv"])[1]["record_id"] == "'" + FORMULA
    assert _rows(tables["tasks.csv"])[1]["subject"] == "'" + FORMULA
    assert FORMULA + "," not in tables["tasks.csv"]


class Sections(HTMLParser):
    """Each <section>'s table rows as cell texts, and the summary cards."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[list[str]]] = {}
        self.headings: dict[str, str] = {}
        self.cards: list[str] = []
        self.paragraphs: list[str] = []
        self._section = ""
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._text: list[str] | None = None
        self._tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self._section = dict(attrs).get("id") or ""
        elif tag == "tr" and self._section:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag in {"h2", "li", "p"}:
            self._text, self._tag = [], tag

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self.rows.setdefault(self._section, []).append(self._row)
            self._row = None
        elif tag == self._tag and self._text is not None:
            text = "".join(self._text)
            if tag == "h2":
                self.headings[self._section] = text
            elif tag == "li":
                self.cards.append(text)
            else:
                self.paragraphs.append(text)
            self._text = None
        elif tag == "section":
            self._section = ""

    def handle_data(self, data: str) -> None:
        for part in (self._cell, self._text):
            if part is not None:
                part.append(data)


def _parsed(page: str) -> Sections:
    parser = Sections()
    parser.feed(page)
    return parser


def test_html_sections_list_carried_records_and_tasks_with_outcomes(
    run: tuple[Plan, RunReport],
) -> None:
    page = render_html(build_report_data(*run))
    shown = _parsed(page)
    assert shown.headings["carried"] == "Records carried (3 of 7 moved)"
    assert shown.headings["tasks"] == "Handoff tasks (2 of 4 created)"
    carried = shown.rows["carried"]
    assert len(carried) == 7
    assert carried[0][:2] == ["deal", "renewal-0"] and carried[0][4] == EVIL  # from, unescaped
    assert carried[3][-1] == "conflict: owner changed to zed"
    assert carried[6][-1] == f"failed: {NOT_RECORDED}"
    assert all(r[6].startswith("first_won_new_business (") for r in carried)  # trigger
    tasks = shown.rows["tasks"]
    assert [r[2] for r in tasks] == ["new owner", "previous owner", "new owner", "new owner"]
    assert tasks[0][4] == EVIL and tasks[1][3] == EVIL and tasks[0][5] == "2026-07-14"
    assert tasks[3][-1] == "failed: REQUIRED_FIELD_MISSING"
    assert "3 of 7records carried" in shown.cards and "2 of 4handoff tasks created" in shown.cards
    assert (
        "3 carried records and 1 handoff task did not go through: see the outcome "
        "columns below." in shown.paragraphs
    )


def test_html_sections_escape_and_add_no_inline_code(run: tuple[Plan, RunReport]) -> None:
    page = render_html(build_report_data(*run))
    assert EVIL not in page and FORMULA not in page
    assert page.count("<script") == 1 and page.count("<style") == 1
    assert not re.search(r"<[^>]*\s(style|on[a-z]+)=", page)
    assert "&lt;script&gt;" in page[page.index('id="handoff-tasks"') :]


def test_a_run_without_carry_or_tasks_says_none_and_shows_no_cards() -> None:
    shown = _parsed(render_html(build_report_data(*hand_made_run())))
    assert shown.rows["carried"] == [["none"]] and shown.rows["tasks"] == [["none"]]
    assert shown.headings["carried"] == "Records carried (0 of 0 moved)"
    assert not any("carried" in c or "tasks" in c for c in shown.cards)
    assert not any("left in the CRM" in p for p in shown.paragraphs)


def _rollback(left: int) -> RunReport:
    report = hand_made_run()[1]
    return replace(report, mode="rollback", rules_digest="rollback:r0", tasks_left=left)


@pytest.mark.parametrize(
    ("left", "said"),
    [
        (2, "2 handoff tasks created by run r0 were left in the CRM"),
        (1, "1 handoff task created by run r0 was left in the CRM"),
    ],
)
def test_a_rollback_says_which_run_left_how_many_tasks(left: int, said: str) -> None:
    plan = hand_made_run()[0]
    data = build_report_data(plan, _rollback(left))
    assert data.run.rollback_of == "r0" and data.run.tasks_left == left
    shown = _parsed(render_html(data))
    lines = [p for p in shown.paragraphs if "left in the CRM" in p]
    assert len(lines) == 2  # under the cards, and in the tasks section
    assert all(p.startswith(said + ": a rollback never deletes a task") for p in lines)
    assert f"{left}handoff tasks left in the CRM" in shown.cards
    assert json.loads(to_json(data))["run"]["tasks_left"] == left


def test_a_rollback_without_tasks_left_says_nothing_of_them() -> None:
    page = render_html(build_report_data(hand_made_run()[0], _rollback(0)))
    assert "left in the CRM" not in page


def test_explain_run_lists_the_accounts_records_and_tasks_with_outcomes(
    run: tuple[Plan, RunReport],
) -> None:
    plan, report = run
    text = explain_account_in_run(plan, report, "r1", "c0")
    assert text is not None
    lines = text.splitlines()
    handoff_id = plan.changes[0].handoff_id
    assert f"Trigger: first_won_new_business ({handoff_id})" in lines
    to = next(o.name for o in plan.owners if o.owner_id == plan.changes[0].to_owner_id)
    start = lines.index("Records carried with it (2):")
    assert lines[start + 1] == f"  - deal renewal-0 from {printable(EVIL)} to {to}: applied"
    assert lines[start + 2] == f"      why: open deal of c0, carried by handoff {handoff_id}"
    assert lines[start + 3].startswith(f"  - contact {FORMULA} from ")
    tasks = lines[lines.index("Handoff tasks (2):") + 1 :]
    assert tasks == [
        f'  - for the new owner {to}: "{EVIL}", due 2026-07-14: created',
        f'  - for the previous owner {EVIL}: "{FORMULA}", due 2026-07-14: '
        "already-created: created by an earlier attempt, not again",
    ]
    conflict = explain_account_in_run(plan, report, "r1", "c1")
    assert conflict is not None and "conflict: owner changed to zed" in conflict


def test_explain_run_escapes_each_value_so_none_forges_a_line(
    run: tuple[Plan, RunReport],
) -> None:
    plan, report = run
    text = explain_account_in_run(plan, report, "r1", "c4")
    assert text is not None
    assert "Outcome: applied." in text.splitlines()  # the account's own line, once
    assert text.splitlines().count("Outcome: applied.") == 1
    assert '"Call them\\nOutcome: applied.\\x1b[2J"' in text and "\x1b" not in text
    assert "failed: REQUIRED_FIELD_MISSING" in text
    assert f"contact k-4 from {printable(EVIL)}" in text and NOT_RECORDED in text


def test_explain_run_without_a_report_says_outcomes_are_not_recorded(
    run: tuple[Plan, RunReport],
) -> None:
    text = explain_account_in_run(run[0], None, "r1", "c0")
    assert text is not None
    followers = [line for line in text.splitlines() if line.startswith("  - ") and ": " in line]
    assert followers and all(line.endswith(": not recorded") for line in followers[-4:])


def test_an_account_without_followers_has_no_such_lines() -> None:
    plan, report = hand_made_run()
    text = explain_account_in_run(plan, report, "r1", "c0")
    assert text is not None and "Records carried" not in text and "Handoff tasks" not in text


def test_follower_counts_read_a_report_document_defensively(run: tuple[Plan, RunReport]) -> None:
    document = json.loads(run[1].to_json())
    counts = follower_counts(document)
    assert counts.carried == {
        R.APPLIED: 2,
        R.ALREADY: 1,
        R.CONFLICT: 1,
        R.SKIPPED: 1,
        R.FAILED: 1,
    }
    assert list(counts.tasks) == [R.CREATED, R.EXISTED, R.SKIPPED, R.FAILED]
    assert counts.lines(None) == [
        "  carried  6 records: 2 applied, 1 already-applied, 1 conflict, 1 skipped, 1 failed",
        "  tasks    4 handoff tasks: 1 created, 1 already-created, 1 skipped, 1 failed",
    ]
    hostile = {
        "related": [{"result": 3}, "x", {"result": "applied"}],
        "tasks": {},
        "tasks_left": True,
    }
    assert follower_counts(hostile) == FollowerCounts({R.APPLIED: 1, "unreadable": 2}, {}, 0)
    assert not follower_counts({}) and not follower_counts({"tasks_left": -3})
    assert follower_counts({"tasks_left": 2}).lines("r0") == [
        "  tasks    2 created by run r0 left in the CRM (a rollback never deletes tasks)"
    ]


def test_a_carriage_return_from_the_crm_stays_inside_its_csv_field(
    run: tuple[Plan, RunReport],
) -> None:
    plan, report = run
    cr = "Acme\rGmbH"
    plan = replace(plan, changes=[replace(plan.changes[0], account_name=cr), *plan.changes[1:]])
    related = [replace(plan.related_changes[0], record_id=cr), *plan.related_changes[1:]]
    report = replace(
        report, related=[replace(report.related[0], record_id=cr), *report.related[1:]]
    )
    tables = csv_tables(build_report_data(replace(plan, related_changes=related), report))
    handoffs = _rows(tables["handoffs.csv"])
    assert len(handoffs) == 5 and handoffs[0]["account_name"] == cr
    carried = _rows(tables["carried.csv"])
    assert (
        len(carried) == 7 and carried[0]["record_id"] == cr and carried[0]["outcome"] == "applied"
    )
    # Records still end in "\n" alone; a CR appears only inside a quoted field.
    assert "\r" not in tables["run.csv"] and tables["run.csv"].endswith("\n")
    assert '"Acme\rGmbH"' in tables["carried.csv"]
