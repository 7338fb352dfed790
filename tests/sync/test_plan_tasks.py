"""Handoff tasks in plans (routing.yaml `tasks`, issue 14): the right tasks with their text
filled, keys stable across re-plans and days, none for a previous owner who left, and
plans without tasks unchanged."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from builders import AS_OF, ROLES, account, inputs, owner, won
from roleSync.adapters.local_store import write_book
from roleSync.cli import main
from roleSync.model import Account, Book, Contact, Deal, DealKind, Owner
from roleSync.plan import Plan, build_plan
from roleSync.plan.handoff_tasks import handoff_task_key
from roleSync.plan.types import HandoffTask, TaskFor
from roleSync.report.explain import Explainer
from roleSync.rules.schema import RolesFile, RoutingFile

ROUTES = [{"id": "all", "assign": {"pool": {"role": "farmer"}}}]
TASKS = {
    "new_owner": {
        "subject": "Welcome {account} ({trigger})",
        "body": "{previous_owner} handed {account} ({account_id}) to {new_owner} on "
        "{trigger_date} by route {route}; due {due_date}. {{literal}}",
        "due_in_days": 3,
    },
    "previous_owner": {"subject": "Introduce {new_owner} to {account}", "due_in_days": 5},
}
KEY = re.compile(r"^rs-[0-9a-f]{32}$")


def _routing(tasks: dict[str, Any] | None = TASKS, **block: Any) -> dict[str, Any]:
    handoff = {"id": "first-win", **block, **({"tasks": tasks} if tasks is not None else {})}
    return {"version": 1, "kind": "routing", "handoffs": [handoff], "routes": ROUTES}


def _book(*, hank_active: bool = True, name: str = "Acme") -> Book:
    """hank hunts (wins on h-1), fran farms; acme, hank's, was first won on 2026-06-01."""
    hunts = [won(f"h-{i}", "h-1", "hank", date(2026, 3, i + 1)) for i in range(3)]
    farms = [
        won(f"f-{i}", "f-1", "fran", date(2026, 3, i + 1), DealKind.EXPANSION) for i in range(3)
    ]
    owners = [owner("hank", active=hank_active), owner("fran")]
    accounts = [account("h-1", "hank"), account("f-1", "fran"), Account("acme", name, "hank")]
    return Book(owners, accounts, [*hunts, *farms, won("acme-1", "acme", "hank", date(2026, 6, 1))])


def _tasks(plan: Plan, account_id: str) -> list[HandoffTask]:
    return [t for t in plan.task_creates if t.account_id == account_id]


def test_a_handoff_with_tasks_plans_one_for_each_owner_with_the_text_filled() -> None:
    plan = build_plan(_book(), inputs(_routing()))
    assert {c.account_id: c.to_owner_id for c in plan.changes} == {"acme": "fran", "h-1": "fran"}
    new, previous = _tasks(plan, "acme")
    assert (new.for_owner, new.owner_id, previous.for_owner, previous.owner_id) == (
        TaskFor.NEW_OWNER,
        "fran",
        TaskFor.PREVIOUS_OWNER,
        "hank",
    )
    assert new.subject == "Welcome Acme (first_won_new_business)"
    assert new.body == (
        "Hank handed Acme (acme) to Fran on 2026-06-01 by route all; due 2026-07-03. {literal}"
    )
    assert new.due_date == AS_OF + timedelta(days=3)
    assert (previous.subject, previous.body) == ("Introduce Fran to Acme", "")
    assert previous.due_date == AS_OF + timedelta(days=5)
    assert (new.trigger, new.handoff_id) == ("first_won_new_business", "first-win")
    assert all(KEY.match(t.key) for t in plan.task_creates)
    assert len({t.key for t in plan.task_creates}) == 4  # two accounts, two tasks each
    assert plan.summary["tasks"] == 4
    assert "tasks_owner_left" not in plan.summary
    # The plan file holds them and reads back as written.
    text = plan.to_json()
    assert Plan.from_json(text, "plan.json").task_creates == plan.task_creates


def test_keys_are_the_same_on_a_re_plan_and_on_another_day_the_due_date_moves() -> None:
    first = build_plan(_book(), inputs(_routing()))
    again = build_plan(_book(), inputs(_routing()))
    assert first.to_json() == again.to_json()
    later = build_plan(_book(), replace(inputs(_routing()), as_of=AS_OF + timedelta(days=9)))
    assert [t.key for t in later.task_creates] == [t.key for t in first.task_creates]
    pairs = zip(later.task_creates, first.task_creates, strict=True)
    assert [t.due_date - d.due_date for t, d in pairs] == [timedelta(days=9)] * 4
    # The key is the handoff's: another block, account, new owner, trigger day or
    # person gives another key.
    base = ("first-win", "acme", "fran", "2026-06-01", TaskFor.NEW_OWNER)
    keys = {
        handoff_task_key(*base),
        handoff_task_key("other", *base[1:]),
        handoff_task_key(base[0], "acme2", *base[2:]),
        handoff_task_key(*base[:2], "frank", *base[3:]),
        handoff_task_key(*base[:3], "2026-06-02", base[4]),
        handoff_task_key(*base[:4], TaskFor.PREVIOUS_OWNER),
        # ids holding the encoding's separators do not collide with their neighbours
        handoff_task_key('first-win", "acme', "", *base[2:]),
    }
    assert len(keys) == 7 and all(KEY.match(k) and len(k) <= 40 for k in keys)


def test_no_task_for_a_previous_owner_who_left_and_the_plan_says_so() -> None:
    left = {
        "id": "left",
        "trigger": "owner_left",
        "tasks": {"new_owner": TASKS["new_owner"]},
        "routes": [{"id": "left-farmers", "assign": {"pool": {"role": "farmer"}}}],
    }
    routing = {"version": 1, "kind": "routing", "handoffs": [left], "routes": ROUTES}
    plan = build_plan(_book(hank_active=False), inputs(routing))
    moved = sorted(c.account_id for c in plan.changes)
    assert moved == ["acme", "h-1"]
    assert [(t.account_id, t.for_owner, t.owner_id) for t in plan.task_creates] == [
        (a, TaskFor.NEW_OWNER, "fran") for a in moved
    ]
    assert plan.summary["tasks"] == 2 and "tasks_owner_left" not in plan.summary
    # A previous-owner task under owner_left would never be created: check refuses it.
    with pytest.raises(ValidationError, match=r"'tasks\.previous_owner' is not meaningful"):
        RoutingFile.model_validate({**routing, "handoffs": [{**left, "tasks": TASKS}]})
    assert {t.trigger for t in plan.task_creates} == {"owner_left"}
    # owner_left fires on the plan's date: the key does not depend on it.
    later = build_plan(
        _book(hank_active=False), replace(inputs(routing), as_of=AS_OF + timedelta(days=1))
    )
    assert [t.key for t in later.task_creates] == [t.key for t in plan.task_creates]


def test_an_inactive_previous_owner_under_another_trigger_gets_no_task_either() -> None:
    plan = build_plan(_book(hank_active=False), inputs(_routing()))
    assert {c.account_id for c in plan.changes} == {"acme", "h-1"}
    assert {t.for_owner for t in plan.task_creates} == {TaskFor.NEW_OWNER}
    assert plan.summary["tasks_owner_left"] == 2


def test_only_the_new_owners_task_when_no_previous_owner_task_is_asked_for() -> None:
    tasks = {"new_owner": {"subject": "Hello {account}"}}
    plan = build_plan(_book(), inputs(_routing(tasks)))
    assert [(t.for_owner, t.due_date, t.body) for t in _tasks(plan, "acme")] == [
        (TaskFor.NEW_OWNER, AS_OF, "")
    ]
    assert "tasks_owner_left" not in plan.summary


def test_values_are_data_never_expanded_again_and_long_text_is_cut() -> None:
    plan = build_plan(_book(name="{route} {{x}} {0.__class__}"), inputs(_routing()))
    assert _tasks(plan, "acme")[0].subject == (
        "Welcome {route} {{x}} {0.__class__} (first_won_new_business)"
    )
    huge = build_plan(_book(name="A\n" + "n" * 40_000), inputs(_routing()))
    new = _tasks(huge, "acme")[0]
    assert len(new.subject) == 255 and new.subject.endswith("…")
    assert new.subject.startswith("Welcome A nnn")  # one line
    assert len(new.body) == 32_000 and new.body.endswith("…")


def test_a_plan_without_tasks_is_the_same_plan_byte_for_byte() -> None:
    with_tasks = json.loads(build_plan(_book(), inputs(_routing())).to_json())
    without = build_plan(_book(), inputs(_routing(None))).to_json()
    assert "task_creates" not in without and '"tasks' not in without
    stripped = copy.deepcopy(with_tasks)
    del stripped["task_creates"], stripped["summary"]["tasks"]
    # Tasks change nothing else in the plan (the rules digest is the builder's constant).
    assert json.loads(without) == stripped


@pytest.mark.parametrize("tasks", [True, False])
def test_plan_command_says_how_many_tasks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tasks: bool
) -> None:
    owners = [Owner(o, o.upper(), f"{o}@example.com") for o in ("h", "f")]
    accounts = [Account("acme", "Acme", "h"), Account("farmed", "Farmed", "f")]
    recent = AS_OF - timedelta(days=20)
    deals = [
        won("won-nb", "acme", "h", recent),
        won("farm-1", "farmed", "f", recent, DealKind.EXPANSION),
    ]
    write_book(tmp_path / "book.db", owners, accounts, deals)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "roles.yaml").write_text(
        "version: 1\nkind: roles\nclassify:\n"
        "  - {id: hunter, role: hunter, when: {metric: new_business_share, op: gte, value: 0.5}}\n"
        "  - {id: farmer, role: farmer, when: {metric: new_business_share, op: lte, value: 0.4}}\n"
    )
    block = (
        "    tasks:\n      new_owner: {subject: 'Welcome {account}'}\n"
        "      previous_owner: {subject: 'Introduce {new_owner}', due_in_days: 2}\n"
        if tasks
        else ""
    )
    (rules / "routing.yaml").write_text(
        "version: 1\nkind: routing\nhandoffs:\n  - id: first-win\n"
        + block
        + "routes:\n  - {id: farmers, assign: {pool: {role: farmer}}}\n"
    )
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "version: 1\nkind: local\nname: t\nlocal: {path: book.db}\nmetrics: {write: false}\n"
    )
    out = tmp_path / "plan.json"
    common = ["-c", str(profile), "-r", str(rules), "--as-of", AS_OF.isoformat()]
    assert main(["plan", *common, "-o", str(out)]) == 0
    said = capsys.readouterr().err
    if tasks:
        assert "plan: 1 ownership changes, 2 tasks, 0 metric writes" in said, said
        plan = Plan.read(out)
        assert [(t.owner_id, t.subject) for t in plan.task_creates] == [
            ("f", "Welcome Acme"),
            ("h", "Introduce F"),
        ]
    else:
        assert "plan: 1 ownership changes, 0 metric writes" in said, said
        assert "task" not in out.read_text()


def _explained(book: Book, routing: dict[str, Any], account_id: str) -> str:
    explainer = Explainer(
        book, RolesFile.model_validate(ROLES), RoutingFile.model_validate(routing), AS_OF
    )
    return explainer.explain_account(book.accounts[account_id])


def test_explain_shows_the_trigger_the_records_carried_and_the_tasks_to_create() -> None:
    base = _book()
    renewal = Deal(
        "acme-renewal", "acme", "hank", DealKind.RENEWAL, "Proposal", False, False, 50.0,
        date(2026, 6, 2), None,
    )  # fmt: skip
    book = Book(
        base.owners.values(),
        base.accounts.values(),
        [*base.deals, renewal],
        contacts=[Contact("c-1", "acme", "hank", "Carol")],
    )
    routing = _routing(carry=[{"deals": {"kinds": ["renewal"]}}, {"contacts": "all"}])
    text = _explained(book, routing, "acme")
    assert "Handoff trigger: first_won_new_business (handoff first-win)" in text
    assert "first new business won on 2026-06-01" in text
    lines = text.splitlines()
    start = lines.index("Carried with it (handoff first-win, carry): 2 records")
    assert lines[start + 1].startswith(
        "  deal acme-renewal, from Hank: open renewal deal acme-renewal of account acme"
    )
    assert lines[start + 2].startswith("  contact c-1, from Hank: contact c-1 of account acme")
    assert lines[start + 3 :] == [
        "Tasks to create (handoff first-win, tasks):",
        '  for Fran, the new owner: "Welcome Acme (first_won_new_business)", due 2026-07-03',
        '  for Hank, the previous owner: "Introduce Fran to Acme", due 2026-07-05',
    ]


def test_explain_says_why_a_previous_owner_gets_no_task_and_stays_quiet_without_tasks() -> None:
    text = _explained(_book(hank_active=False), _routing(), "acme")
    assert text.splitlines()[-2:] == [
        '  for Fran, the new owner: "Welcome Acme (first_won_new_business)", due 2026-07-03',
        "  none for the previous owner Hank: they left (inactive or not in the book), and no "
        "task goes to someone who left",
    ]
    plain = _explained(_book(), _routing(None), "acme")
    assert plain.splitlines()[-1].startswith("Outcome: hand off to Fran")
    assert "Tasks to create" not in plain and "Carried" not in plain
