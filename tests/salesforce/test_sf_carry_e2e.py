"""What a handoff carries, end to end against the Salesforce emulator through the CLI:
a hunter's fresh win moves to the farmer with its open renewal and expansion, its
contacts and the hunter's open task (each written once, counted by the emulator), and
a handoff task for each side is created once (WhatId the account, the key field set);
`sync` again and the saved plan applied again write nothing; `explain` names what is
carried, and with `--run` what became of it; `rollback` brings every record back and
leaves the tasks; a profile that does not pull contacts and tasks warns and moves none.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sf_helpers import METRIC_FIELDS, new_emulator, writes_of

from handoff_rules import AS_OF, CARRY, RECENT, ROLES, ROUTING
from roleSync.adapters.salesforce.handoff_tasks import TASK_KEY_FIELD
from roleSync.cli import main
from roleSync.emulators.salesforce import SalesforceEmulator

WON = AS_OF - timedelta(days=20)
NB, UP, RENEW = "New Customer", "Existing Customer - Upgrade", "Existing Customer - Replacement"


def _stamp(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)


@dataclass
class Org:
    """The arranged org: the emulator, user ids by name, and the won account's records
    by short name."""

    emu: SalesforceEmulator
    users: dict[str, str]
    account: str
    records: dict[str, tuple[str, str]]  # name -> (sObject, id)

    def owner(self, name: str) -> str:
        """The owner of a record by short name ("acme": the account)."""
        sobject, record_id = self.records[name] if name != "acme" else ("Account", self.account)
        found = self.emu.store.get(sobject, record_id)
        assert found is not None
        return str(found["OwnerId"])

    def handoff_tasks(self) -> list[dict[str, Any]]:
        return [t for t in self.emu.store.all("Task") if t[TASK_KEY_FIELD]]


def _arrange(emu: SalesforceEmulator) -> Org:
    store = emu.store
    users: dict[str, str] = {}
    for n in ("hank", "fran", "xena"):
        users[n] = store.insert(
            "User",
            {"Username": f"{n}@example.com", "LastName": n.title(), "Email": f"{n}@example.com",
             "IsActive": True},
        )  # fmt: skip

    def account(name: str, owner: str, kind: str) -> str:
        return store.insert(
            "Account",
            {"Name": name, "OwnerId": users[owner], "Type": kind,
             "CreatedDate": _stamp(date(2022, 1, 3)), "LastModifiedDate": _stamp(RECENT)},
        )  # fmt: skip

    def deal(account: str, owner: str, kind: str, stage: str, on: date) -> str:
        closed = stage.startswith("Closed")
        return store.insert(
            "Opportunity",
            {"Name": f"{kind} {on}", "AccountId": account, "OwnerId": users[owner],
             "Type": kind, "StageName": stage, "Amount": 1000.0, "CreatedDate": _stamp(on),
             "CloseDate": on if closed else AS_OF + timedelta(days=30)},
        )  # fmt: skip

    # Hank's other win keeps him a hunter; Fran's expansion makes her the farmer.
    old = account("Old win", "hank", "Customer - Direct")
    deal(old, "hank", NB, "Closed Won", date(2023, 1, 10))
    deal(old, "hank", NB, "Closed Won", RECENT)
    farmed = account("Farmed", "fran", "Customer - Direct")
    deal(farmed, "fran", UP, "Closed Won", RECENT)

    acme = account("Acme", "hank", "Customer - Direct")
    open_stage = "Negotiation/Review"
    records = {
        "won-nb": ("Opportunity", deal(acme, "hank", NB, "Closed Won", WON)),
        "won-up": ("Opportunity", deal(acme, "hank", UP, "Closed Won", WON)),
        "open-renewal": ("Opportunity", deal(acme, "hank", RENEW, open_stage, WON)),
        "open-upsell": ("Opportunity", deal(acme, "hank", UP, open_stage, WON)),
        "open-nb": ("Opportunity", deal(acme, "hank", NB, open_stage, WON)),
    }
    for name, owner in (("c-hank", "hank"), ("c-xena", "xena")):
        contact = store.insert(
            "Contact", {"LastName": name, "AccountId": acme, "OwnerId": users[owner]}
        )
        records[name] = ("Contact", contact)
    for name, owner, status in (
        ("t-open", "hank", "In Progress"),
        ("t-done", "hank", "Completed"),
        ("t-xena", "xena", "Not Started"),
    ):
        task = store.insert(
            "Task",
            {"Subject": name, "WhatId": acme, "OwnerId": users[owner], "Status": status,
             "ActivityDate": AS_OF + timedelta(days=2), "Priority": "Normal"},
        )  # fmt: skip
        records[name] = ("Task", task)
    return Org(emu, users, acme, records)


@pytest.fixture
def org() -> Iterator[Org]:
    emu = new_emulator()
    arranged = _arrange(emu)
    with emu:
        yield arranged
        assert not emu.internal_errors, emu.internal_errors[0]


def _cli(tmp_path: Path, org: Org, monkeypatch: pytest.MonkeyPatch, *, pull: bool) -> list[str]:
    """Rules and profile in tmp_path; returns the common CLI options."""
    emu = org.emu
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "roles.yaml").write_text(ROLES)
    (rules / "routing.yaml").write_text(ROUTING.format(block=CARRY))
    switches = "true" if pull else "false"
    profile = tmp_path / "salesforce.yaml"
    profile.write_text(
        "version: 1\nkind: salesforce\nname: t\n"
        f"salesforce: {{instance_url: '{emu.url}', ca_bundle: '{emu.ca_path}',\n"
        "  auth: {method: access_token, access_token_env: SF_ACCESS_TOKEN},\n"
        f"  pull: {{contacts: {switches}, tasks: {switches}}}}}\n"
        f"metrics: {{write: false, fields: {json.dumps(METRIC_FIELDS)}}}\n"
        'guardrails: {"max_changes": 100, "max_share": 1.0}\n'
    )
    monkeypatch.setenv("SF_ACCESS_TOKEN", emu.config.access_token)
    return ["-c", str(profile), "-r", str(rules), "--as-of", AS_OF.isoformat()]


def _state(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of the run state (the profile's `.rolesync/state.db`)."""
    con = sqlite3.connect(tmp_path / ".rolesync" / "state.db")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


_KIND = {"Opportunity": "deal", "Contact": "contact", "Task": "task"}


def _line(text: str, start: str) -> str:
    """The one line of `text` that starts with `start` (indentation aside)."""
    (found,) = [line.strip() for line in text.splitlines() if line.strip().startswith(start)]
    return found


CARRIED = ("open-renewal", "open-upsell", "c-hank", "c-xena", "t-open")
STAYS = ("won-nb", "won-up", "open-nb", "t-done")


def test_a_handoff_carries_its_records_and_tasks_once_and_rollback_brings_them_back(
    tmp_path: Path,
    org: Org,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    common = _cli(tmp_path, org, monkeypatch, pull=True)
    users, emu = org.users, org.emu
    ids = {name: record_id for name, (_, record_id) in org.records.items()}
    plan_file = tmp_path / "plan.json"
    assert main(["plan", *common, "-o", str(plan_file)]) == 0
    assert emu.counters["write_requests"] == 0
    plan = json.loads(plan_file.read_text())
    assert [(c["account_id"], c["to_owner_id"]) for c in plan["changes"]] == [
        (org.account, users["fran"])
    ]
    assert {r["record_id"] for r in plan["related_changes"]} == {ids[n] for n in CARRIED}
    capsys.readouterr()
    _explains_the_plan(org, common, capsys)

    # 1. sync: the account and what it carries go to Fran, each written once.
    assert main(["sync", *common]) == 0
    said = capsys.readouterr().out
    assert "carried records 5/5" in said and "handoff tasks 2/2" in said, said
    assert org.owner("acme") == users["fran"]
    assert {n: org.owner(n) for n in CARRIED} == dict.fromkeys(CARRIED, users["fran"])
    assert {n: org.owner(n) for n in STAYS} == dict.fromkeys(STAYS, users["hank"])
    assert org.owner("t-xena") == users["xena"]
    written = writes_of(emu)
    assert dict(written) == {org.account: 1, **{ids[n]: 1 for n in CARRIED}}
    tasks = {str(t["OwnerId"]): t for t in org.handoff_tasks()}
    assert set(tasks) == {users["fran"], users["hank"]} and len(org.handoff_tasks()) == 2
    new, old = tasks[users["fran"]], tasks[users["hank"]]
    assert (new["Subject"], new["ActivityDate"]) == ("Welcome Acme from Hank", date(2026, 7, 3))
    assert new["Description"] == "Handed over by first_won_new_business on 2026-06-10."
    assert (old["Subject"], old["ActivityDate"]) == ("Introduce Fran to Acme", date(2026, 7, 5))
    assert new["WhatId"] == old["WhatId"] == org.account
    assert new["IsClosed"] is False and old["IsClosed"] is False
    # The key field holds the planned task's key (its exactly-once marker).
    planned = {t["for_owner"]: t["key"] for t in plan["task_creates"]}
    assert planned == {"new_owner": new[TASK_KEY_FIELD], "previous_owner": old[TASK_KEY_FIELD]}
    ((first,),) = _state(tmp_path, "SELECT id FROM runs")
    task_ids = sorted(str(t["Id"]) for t in org.handoff_tasks())

    # 2. Again, and the saved plan applied again: no write, no new task.
    before = emu.counters["write_requests"]
    assert main(["sync", *common]) == 0
    assert main(["apply", str(plan_file), *common[:4]]) == 0
    capsys.readouterr()
    assert emu.counters["write_requests"] == before
    assert dict(writes_of(emu)) == dict(written)
    assert sorted(str(t["Id"]) for t in org.handoff_tasks()) == task_ids
    audited = _state(
        tmp_path,
        "SELECT r.mode, a.result, count(*) FROM related_audit a JOIN runs r ON r.id = a.run_id "
        "GROUP BY 1, 2 ORDER BY 1, 2",
    )
    assert audited == [
        ("apply", "already-applied", 5),
        ("apply", "already-created", 2),
        ("sync", "applied", 5),
        ("sync", "created", 2),
    ]

    # 3. explain --run: what became of each carried record and task.
    assert main(["explain", org.account, *common[:4], "--run", first]) == 0
    said = capsys.readouterr().out
    assert "Records carried with it (5):" in said, said
    for name in CARRIED:
        sobject, record_id = org.records[name]
        assert _line(said, f"- {_KIND[sobject]} {record_id} from ").endswith(" to Fran: applied")
    assert "Handoff tasks (2):" in said, said
    assert _line(said, "- for the new owner Fran:") == (
        '- for the new owner Fran: "Welcome Acme from Hank", due 2026-07-03: created'
    )
    assert _line(said, "- for the previous owner Hank:") == (
        '- for the previous owner Hank: "Introduce Fran to Acme", due 2026-07-05: created'
    )

    # 4. rollback: the account and every carried record back with Hank, each written
    # once more; the tasks stay, and the output says so.
    assert main(["rollback", first, "-c", common[1]]) == 0
    said = capsys.readouterr().out
    assert "carried records 5/5" in said, said
    assert "2 handoff tasks created by the run rolled back were left in the CRM" in said, said
    assert org.owner("acme") == users["hank"]
    assert org.owner("c-xena") == users["xena"] and org.owner("t-xena") == users["xena"]
    back = [n for n in CARRIED if n != "c-xena"]
    assert {n: org.owner(n) for n in back} == dict.fromkeys(back, users["hank"])
    assert dict(writes_of(emu)) == {org.account: 2, **{ids[n]: 2 for n in CARRIED}}
    assert sorted(str(t["Id"]) for t in org.handoff_tasks()) == task_ids


def _explains_the_plan(org: Org, common: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """`explain ACCOUNT` lists the records the plan carries (not the closed won deals,
    the new business deal, the completed task or Xena's), and the tasks it creates."""
    assert main(["explain", org.account, *common]) == 0
    said = capsys.readouterr().out
    carried = said[said.index("Carried with it (handoff first-win, carry): 5 records") :]
    for name in CARRIED:
        sobject, record_id = org.records[name]
        assert f"  {_KIND[sobject]} {record_id}, from " in carried, (name, said)
    for name in (*STAYS, "t-xena"):
        assert org.records[name][1] not in carried, (name, said)
    assert _line(said, "for Fran, the new owner:") == (
        'for Fran, the new owner: "Welcome Acme from Hank", due 2026-07-03'
    )
    assert _line(said, "for Hank, the previous owner:") == (
        'for Hank, the previous owner: "Introduce Fran to Acme", due 2026-07-05'
    )
    assert org.emu.counters["write_requests"] == 0


def test_a_profile_not_pulling_contacts_and_tasks_warns_and_moves_none(
    tmp_path: Path,
    org: Org,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    common = _cli(tmp_path, org, monkeypatch, pull=False)
    assert main(["sync", *common]) == 0
    err = capsys.readouterr().err
    for name in ("contacts", "tasks"):
        assert f"not pull, so none move: set salesforce.pull.{name}: true" in err, err
    users, written = org.users, writes_of(org.emu)
    for name in ("c-hank", "c-xena", "t-open"):
        assert written[org.records[name][1]] == 0, name
    assert org.owner("c-hank") == users["hank"] and org.owner("t-open") == users["hank"]
    # The deals are carried all the same.
    assert org.owner("open-renewal") == org.owner("open-upsell") == users["fran"]
