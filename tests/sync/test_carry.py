"""Handoff `carry`, first increment: the routing.yaml keys (positioned errors with
did-you-mean), the related changes a plan lists (open renewal and expansion deals,
contacts, open tasks; closed won deals stay with the hunter), their JSON round trip, old
plans still reading; and their writes on the local book: sync moves them with their
account, compare-and-set, and rollback restores them."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from roleSync.adapters.local_store import write_book
from roleSync.cli import main
from roleSync.model import Account, Book, Contact, Deal, DealKind, Owner, Task
from roleSync.plan import Plan
from roleSync.plan.carry import carried_records
from roleSync.plan.types import OwnershipChange, RelatedObject
from roleSync.rules.schema import Handoff

AS_OF = date(2026, 6, 30)
ROLES = """\
version: 1
kind: roles
classify:
  - id: hunter
    role: hunter
    when: {metric: new_business_share, op: gte, value: 0.5}
  - id: farmer
    role: farmer
    when: {metric: new_business_share, op: lte, value: 0.4}
"""
ROUTING = """\
version: 1
kind: routing
handoffs:
  - id: first-win
    carry:
{carry}
routes:
  - id: farmers
    assign: {{pool: {{role: farmer}}}}
"""
CARRY = """\
      - deals: {kinds: [renewal, expansion]}
      - contacts: all
      - tasks: previous_owner
"""


def _deal(did: str, account: str, owner: str | None, kind: DealKind, *, won: bool) -> Deal:
    recent = AS_OF - timedelta(days=20)
    stage = "Closed Won" if won else "Proposal"
    return Deal(did, account, owner, kind, stage, won, won, 100.0, recent, recent if won else None)


def _fixture(tmp_path: Path, carry: str = CARRY) -> list[str]:
    """Hank hunts, Fran farms; Hank's account `acme` was won 20 days ago and holds open
    deals, contacts and tasks. Returns the common CLI options."""
    owners = [Owner(o, o.upper(), f"{o}@example.com") for o in ("h", "f", "x")]
    accounts = [Account("acme", "Acme", "h"), Account("farmed", "Farmed", "f")]
    deals = [
        _deal("won-nb", "acme", "h", DealKind.NEW_BUSINESS, won=True),
        _deal("won-up", "acme", "h", DealKind.EXPANSION, won=True),  # closed: stays
        _deal("open-renewal", "acme", "h", DealKind.RENEWAL, won=False),
        _deal("open-upsell", "acme", "h", DealKind.EXPANSION, won=False),
        _deal("open-nb", "acme", "h", DealKind.NEW_BUSINESS, won=False),  # kind not carried
        _deal("farm-1", "farmed", "f", DealKind.EXPANSION, won=True),
        _deal("farm-2", "farmed", "f", DealKind.RENEWAL, won=True),
    ]
    contacts = [Contact("c-hank", "acme", "h"), Contact("c-blank", "acme", None)]
    tasks = [
        Task("t-open", "acme", "h", "QBR"),
        Task("t-done", "acme", "h", "Kickoff", closed=True),  # closed: stays
        Task("t-other", "acme", "x", "Someone else's"),  # not the previous owner's
    ]
    write_book(tmp_path / "book.db", owners, accounts, deals, contacts=contacts, tasks=tasks)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "roles.yaml").write_text(ROLES)
    (rules / "routing.yaml").write_text(ROUTING.format(carry=carry))
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "version: 1\nkind: local\nname: t\nlocal: {path: book.db}\nmetrics: {write: false}\n"
        'guardrails: {"max_changes": 100, "max_share": 1.0}\n'
    )
    return ["-c", str(profile), "-r", str(rules), "--as-of", AS_OF.isoformat()]


def _owners(tmp_path: Path) -> dict[str, str | None]:
    con = sqlite3.connect(tmp_path / "book.db")
    try:
        found: dict[str, str | None] = {}
        for table in ("accounts", "deals", "contacts", "tasks"):
            found.update(con.execute(f"SELECT id, owner_id FROM {table}").fetchall())
        return found
    finally:
        con.close()


def test_plan_lists_the_carried_records_and_leaves_closed_won_deals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = _fixture(tmp_path)
    out = tmp_path / "plan.json"
    assert main(["plan", *common, "-o", str(out)]) == 0
    said = capsys.readouterr().err
    assert "plan: 1 ownership changes, 5 carried records, 0 metric writes" in said, said
    plan = json.loads(out.read_text())
    assert [(c["account_id"], c["to_owner_id"]) for c in plan["changes"]] == [("acme", "f")]
    carried = {(r["object"], r["record_id"]): r for r in plan["related_changes"]}
    assert set(carried) == {
        ("deal", "open-renewal"),
        ("deal", "open-upsell"),
        ("contact", "c-hank"),
        ("contact", "c-blank"),
        ("task", "t-open"),
    }
    renewal = carried[("deal", "open-renewal")]
    assert (renewal["account_id"], renewal["from_owner_id"], renewal["to_owner_id"]) == (
        "acme",
        "h",
        "f",
    )
    assert (renewal["trigger"], renewal["handoff_id"]) == ("first_won_new_business", "first-win")
    assert renewal["reason"].startswith("open renewal deal open-renewal of account acme")
    assert carried[("contact", "c-blank")]["from_owner_id"] is None
    assert plan["summary"]["carried"] == 5
    # The plan file reads back as it was written.
    assert Plan.from_json(out.read_text(), str(out)).to_json() == out.read_text()


def _state(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(tmp_path / ".rolesync" / "state.db")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_sync_moves_the_carried_records_and_rollback_restores_every_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = _fixture(tmp_path)
    before = _owners(tmp_path)
    assert main(["sync", *common]) == 0
    said = capsys.readouterr().out
    assert "carried records 5/5" in said, said
    after = _owners(tmp_path)
    carried = {"open-renewal", "open-upsell", "c-hank", "c-blank", "t-open"}
    assert {k for k in after if after[k] != before[k]} == {"acme", *carried}
    assert {after[k] for k in ("acme", *carried)} == {"f"}
    # Closed won deals stay with the hunter who won them; so do a closed task, another
    # person's task (`tasks: previous_owner`) and an open deal of a kind not carried.
    assert (after["won-nb"], after["won-up"], after["open-nb"], after["t-done"]) == ("h",) * 4
    assert after["t-other"] == "x"
    ((run_id,),) = _state(tmp_path, "SELECT id FROM runs")
    audited = _state(tmp_path, f"SELECT entry, result FROM related_audit WHERE run_id = '{run_id}'")
    assert sorted(audited) == sorted(
        [
            ("deal:open-renewal", "applied"),
            ("deal:open-upsell", "applied"),
            ("contact:c-hank", "applied"),
            ("contact:c-blank", "applied"),
            ("task:t-open", "applied"),
        ]
    )
    profile = common[1]
    assert main(["rollback", str(run_id), "-c", profile]) == 0
    said = capsys.readouterr().out
    restored = _owners(tmp_path)
    # Everything is back, except the contact that had no owner: roleSync never clears
    # an owner, and says so.
    assert restored == {**before, "c-blank": "f"}
    assert "c-blank had no owner before run" in said, said
    assert "carried records 4/4" in said, said


def test_a_record_someone_moved_since_the_plan_is_a_conflict_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = _fixture(tmp_path)
    out = tmp_path / "plan.json"
    assert main(["plan", *common, "-o", str(out)]) == 0
    con = sqlite3.connect(tmp_path / "book.db")
    with con:
        con.execute("UPDATE deals SET owner_id = 'x' WHERE id = 'open-renewal'")
        con.execute("UPDATE tasks SET closed = 1 WHERE id = 't-open'")
    con.close()
    # The apply of the saved plan re-checks against the book: the closed task is refused.
    assert main(["apply", str(out), *common[:4]]) == 1
    said = capsys.readouterr()
    after = _owners(tmp_path)
    assert after["open-renewal"] == "x" and after["t-open"] == "h"
    assert after["acme"] == after["open-upsell"] == after["c-hank"] == "f"
    results = {str(e): r for e, r in _state(tmp_path, "SELECT entry, result FROM related_audit")}
    assert results["deal:open-renewal"] == "conflict"
    assert results["task:t-open"] == "failed"
    assert "task t-open is not an open task of account acme" in said.out + said.err


def test_a_plan_without_carry_has_no_related_changes_key_and_old_plans_read(
    tmp_path: Path,
) -> None:
    common = _fixture(tmp_path, carry="      []")
    out = tmp_path / "plan.json"
    assert main(["plan", *common, "-o", str(out)]) == 0
    text = out.read_text()
    assert "related_changes" not in text and "carried" not in text
    assert Plan.from_json(text, str(out)).related_changes == []


def test_a_plan_carrying_one_record_twice_is_refused_with_its_position(tmp_path: Path) -> None:
    common = _fixture(tmp_path)
    out = tmp_path / "plan.json"
    assert main(["plan", *common, "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    data["related_changes"].append(data["related_changes"][0])
    out.write_text(json.dumps(data, indent=2, sort_keys=True))
    with pytest.raises(Exception) as caught:  # InputError, positioned
        Plan.from_json(out.read_text(), str(out))
    text = str(caught.value)
    first = data["related_changes"][0]
    assert f"{first['object']} {first['record_id']} is carried twice in this plan" in text
    assert text.startswith(f"{out}:") and "[plan-duplicate]" in text


@pytest.mark.parametrize(
    ("carry", "expected"),
    [
        (
            "      - contact: all\n",
            ":6:9: error: unknown key 'contact'; did you mean 'contacts'? [unknown-key]",
        ),
        (
            "      - deals: {kinds: [renewl]}\n",
            ":6:25: error: handoffs.0.carry.0.deals.kinds.0: unknown value 'renewl'; "
            "did you mean 'renewal'? [unknown-value]",
        ),
        (
            "      - tasks: previous\n",
            ":6:16: error: handoffs.0.carry.0.tasks: unknown value 'previous'; "
            "did you mean 'previous_owner'? [unknown-value]",
        ),
        (
            "      - {contacts: all, tasks: all}\n",
            ":6:9: error: handoffs.0.carry.0: each carry entry names exactly one of deals, "
            "contacts or tasks [carry-entry]",
        ),
        (
            "      - contacts: all\n      - contacts: previous_owner\n",
            ": error: handoffs.0.carry: carry names contacts twice [carry-twice]",
        ),
    ],
)
def test_check_points_at_unknown_carry_objects_and_kinds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], carry: str, expected: str
) -> None:
    _fixture(tmp_path, carry=carry)
    rules = tmp_path / "rules"
    assert main(["check", str(rules / "roles.yaml"), str(rules / "routing.yaml")]) == 1
    lines = [line for line in "".join(capsys.readouterr()).splitlines() if "error:" in line]
    assert len(lines) == 1, lines
    assert lines[0].startswith(str(rules / "routing.yaml")), lines
    assert expected in lines[0], lines


def test_previous_owner_scope_and_records_already_with_the_new_owner_stay_out() -> None:
    opened = AS_OF - timedelta(days=5)
    deals = [
        Deal("r-h", "acme", "h", DealKind.RENEWAL, "Open", False, False, 1.0, opened, None),
        Deal("r-x", "acme", "x", DealKind.RENEWAL, "Open", False, False, 1.0, opened, None),
        Deal("r-lost", "acme", "h", DealKind.RENEWAL, "Lost", True, False, 1.0, opened, opened),
    ]
    contacts = [Contact("c-f", "acme", "f"), Contact("c-h", "acme", "h")]
    book = Book([], [Account("acme", "Acme", "h")], deals, contacts=contacts)
    block = Handoff.model_validate(
        {
            "id": "farm",
            "carry": [
                {"deals": {"kinds": ["renewal"], "whose": "previous_owner"}},
                {"contacts": "all"},
            ],
        }
    )
    change = OwnershipChange("acme", "Acme", "h", "f", "r", "why", "first_won_new_business", "farm")
    carried = carried_records(book, [change], [block])
    assert [(r.object, r.record_id) for r in carried] == [
        (RelatedObject.DEAL, "r-h"),  # r-x is not the previous owner's, r-lost is closed
        (RelatedObject.CONTACT, "c-h"),  # c-f is with the new owner already
    ]
