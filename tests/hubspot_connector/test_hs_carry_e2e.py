"""What a handoff carries, end to end against the HubSpot emulator through the CLI: a
hunter's fresh win moves to the farmer with its open renewal and expansion, its contacts
and the hunter's open task (each written once, counted by the emulator), and a handoff
task for each side is created once (associated with the company, rolesync_key set);
`sync` again and the saved plan applied again write nothing; `explain` names what is
carried, and with `--run` what became of it; `rollback` brings every record back and
leaves the tasks; a profile that does not pull contacts and tasks warns and moves none.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hs_adapter_support import METRIC_FIELDS

from handoff_rules import AS_OF, CARRY, RECENT, ROLES, ROUTING
from hs_portal import relaxed
from roleSync.cli import main
from roleSync.emulators.hubspot import HubSpotEmulator
from roleSync.emulators.hubspot.store import Owner
from roleSync.emulators.hubspot.wire import iso_ms, to_ms

PROFILE = """\
version: 1
kind: hubspot
name: t
hubspot:
  host: '{host}'
  auth: {{method: private_app, access_token_env: HUBSPOT_ACCESS_TOKEN}}
  rate_limit: {{burst: 10000, search_per_second: 1000}}
  pull: {{contacts: {pull}, tasks: {pull}}}
deal_kinds: {{newbusiness: new_business, existingbusiness: expansion, renewal: renewal}}
lifecycle: {{customer: customer, lead: prospect}}
metrics: {{write: false, fields: {fields}}}
guardrails: {{"max_changes": 100, "max_share": 1.0}}
"""
WON = AS_OF - timedelta(days=20)
MARKER = "rolesync_key"
# Records by short name -> object type.
CARRIED = {
    "open-renewal": "deals",
    "open-upsell": "deals",
    "c-hank": "contacts",
    "c-xena": "contacts",
    "t-open": "tasks",
}
STAYS = {"won-nb": "deals", "won-up": "deals", "open-nb": "deals", "t-done": "tasks"}
_KIND = {"deals": "deal", "contacts": "contact", "tasks": "task"}


def _ms(day: date) -> int:
    return to_ms(datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC))


@dataclass
class Portal:
    """The arranged portal: the emulator, owner ids by name, and the won company's
    records by short name."""

    emu: HubSpotEmulator
    owners: dict[str, str]
    company: str
    records: dict[str, str]  # name -> id

    def owner(self, name: str) -> str | None:
        """The owner of a record by short name ("acme": the company)."""
        kind = {**CARRIED, **STAYS, "t-xena": "tasks", "acme": "companies"}[name]
        found = self.emu.store.get(kind, self.records[name] if name != "acme" else self.company)
        assert found is not None, name
        return found.get("hubspot_owner_id")

    def handoff_tasks(self) -> list[dict[str, str | None]]:
        return [t for t in self.emu.store.all("tasks") if t.get(MARKER)]

    def writes(self) -> Counter[tuple[str, str]]:
        """API writes (updates and creates) per (object type, id), as the emulator
        counted them."""
        return Counter(self.emu.store.api_writes)

    def key(self, name: str) -> tuple[str, str]:
        return CARRIED.get(name) or STAYS.get(name) or "tasks", self.records[name]


def _arrange(emu: HubSpotEmulator) -> Portal:
    store = emu.store
    owners: dict[str, str] = {}
    for n, name in enumerate(("hank", "fran", "xena")):
        owners[name] = str(101 + n)
        store.add_owner(Owner(owners[name], f"{name}@example.com", name.title(), "", 9001 + n))

    def company(name: str, owner: str) -> str:
        values: dict[str, str | None] = {
            "name": name, "hubspot_owner_id": owners[owner], "lifecyclestage": "customer",
        }  # fmt: skip
        return store.insert(
            "companies", values, created_ms=_ms(date(2022, 1, 3)), updated_ms=_ms(RECENT)
        )

    def deal(company: str, owner: str, kind: str, stage: str, on: date) -> str:
        closes = on if stage.startswith("closed") else AS_OF + timedelta(days=30)
        values: dict[str, str | None] = {
            "dealname": f"{kind} {on}", "hubspot_owner_id": owners[owner],
            "dealtype": kind, "dealstage": stage, "pipeline": "default", "amount": "1000.00",
            "closedate": iso_ms(_ms(closes)),
        }  # fmt: skip
        deal_id = store.insert("deals", values, created_ms=_ms(on))
        store.associate(company, deal_id)
        return deal_id

    # Hank's other win keeps him a hunter; Fran's expansion makes her the farmer.
    old = company("Old win", "hank")
    deal(old, "hank", "newbusiness", "closedwon", date(2023, 1, 10))
    deal(old, "hank", "newbusiness", "closedwon", RECENT)
    farmed = company("Farmed", "fran")
    deal(farmed, "fran", "existingbusiness", "closedwon", RECENT)

    acme = company("Acme", "hank")
    records = {
        "won-nb": deal(acme, "hank", "newbusiness", "closedwon", WON),
        "won-up": deal(acme, "hank", "existingbusiness", "closedwon", WON),
        "open-renewal": deal(acme, "hank", "renewal", "contractsent", WON),
        "open-upsell": deal(acme, "hank", "existingbusiness", "contractsent", WON),
        "open-nb": deal(acme, "hank", "newbusiness", "contractsent", WON),
    }
    for name, owner in (("c-hank", "hank"), ("c-xena", "xena")):
        values: dict[str, str | None] = {
            "firstname": name, "lastname": "Contact", "email": f"{name}@customer.example",
            "hubspot_owner_id": owners[owner],
        }  # fmt: skip
        records[name] = store.insert("contacts", values, created_ms=_ms(RECENT))
        store.link("contacts", records[name], "companies", acme)
    for name, owner, status in (
        ("t-open", "hank", "IN_PROGRESS"),
        ("t-done", "hank", "COMPLETED"),
        ("t-xena", "xena", "NOT_STARTED"),
    ):
        values = {
            "hs_task_subject": name, "hs_task_status": status, "hubspot_owner_id": owners[owner],
            "hs_timestamp": iso_ms(_ms(AS_OF + timedelta(days=2))), "hs_task_type": "TODO",
        }  # fmt: skip
        records[name] = store.insert("tasks", values, created_ms=_ms(RECENT))
        store.link("tasks", records[name], "companies", acme)
    return Portal(emu, owners, acme, records)


@pytest.fixture
def portal() -> Iterator[Portal]:
    with HubSpotEmulator(relaxed()) as emu:
        yield _arrange(emu)
        assert not emu.internal_errors, emu.internal_errors[0]


def _cli(
    tmp_path: Path, portal: Portal, monkeypatch: pytest.MonkeyPatch, *, pull: bool
) -> list[str]:
    """Rules and profile in tmp_path; returns the common CLI options."""
    emu = portal.emu
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "roles.yaml").write_text(ROLES)
    (rules / "routing.yaml").write_text(ROUTING.format(block=CARRY))
    profile = tmp_path / "hubspot.yaml"
    profile.write_text(
        PROFILE.format(
            host=emu.url, fields=json.dumps(METRIC_FIELDS), pull="true" if pull else "false"
        )
    )
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", emu.config.access_token)
    return ["-c", str(profile), "-r", str(rules), "--as-of", AS_OF.isoformat()]


def _state(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of the run state (the profile's `.rolesync/state.db`)."""
    con = sqlite3.connect(tmp_path / ".rolesync" / "state.db")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _line(text: str, start: str) -> str:
    """The one line of `text` that starts with `start` (indentation aside)."""
    (found,) = [line.strip() for line in text.splitlines() if line.strip().startswith(start)]
    return found


def _explains_the_plan(
    portal: Portal, common: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`explain ACCOUNT` lists the records the plan carries (not the closed won deals,
    the new business deal, the completed task or Xena's), and the tasks it creates."""
    assert main(["explain", portal.company, *common]) == 0
    said = capsys.readouterr().out
    carried = said[said.index("Carried with it (handoff first-win, carry): 5 records") :]
    for name, kind in CARRIED.items():
        assert f"  {_KIND[kind]} {portal.records[name]}, from " in carried, (name, said)
    for name, kind in (*STAYS.items(), ("t-xena", "tasks")):
        assert f"{_KIND[kind]} {portal.records[name]}," not in carried, (name, said)
    assert _line(said, "for Fran, the new owner:") == (
        'for Fran, the new owner: "Welcome Acme from Hank", due 2026-07-03'
    )
    assert _line(said, "for Hank, the previous owner:") == (
        'for Hank, the previous owner: "Introduce Fran to Acme", due 2026-07-05'
    )
    assert portal.emu.counters["write_requests"] == 0


def test_a_handoff_carries_its_records_and_tasks_once_and_rollback_brings_them_back(
    tmp_path: Path,
    portal: Portal,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    common = _cli(tmp_path, portal, monkeypatch, pull=True)
    owners, emu, ids = portal.owners, portal.emu, portal.records
    plan_file = tmp_path / "plan.json"
    assert main(["plan", *common, "-o", str(plan_file)]) == 0
    assert emu.counters["write_requests"] == 0
    plan = json.loads(plan_file.read_text())
    assert [(c["account_id"], c["to_owner_id"]) for c in plan["changes"]] == [
        (portal.company, owners["fran"])
    ]
    assert {r["record_id"] for r in plan["related_changes"]} == {ids[n] for n in CARRIED}
    capsys.readouterr()
    _explains_the_plan(portal, common, capsys)

    # 1. sync: the company and what it carries go to Fran, each written once.
    assert main(["sync", *common]) == 0
    said = capsys.readouterr().out
    assert "carried records 5/5" in said and "handoff tasks 2/2" in said, said
    assert portal.owner("acme") == owners["fran"]
    assert {n: portal.owner(n) for n in CARRIED} == dict.fromkeys(CARRIED, owners["fran"])
    assert {n: portal.owner(n) for n in STAYS} == dict.fromkeys(STAYS, owners["hank"])
    assert portal.owner("t-xena") == owners["xena"]
    made = portal.handoff_tasks()
    assert len(made) == 2
    tasks = {t["hubspot_owner_id"]: t for t in made}
    new, old = tasks[owners["fran"]], tasks[owners["hank"]]
    assert (new["hs_task_subject"], old["hs_task_subject"]) == (
        "Welcome Acme from Hank",
        "Introduce Fran to Acme",
    )
    assert new["hs_task_body"] == "Handed over by first_won_new_business on 2026-06-10."
    assert str(new["hs_timestamp"]).startswith("2026-07-03")
    assert str(old["hs_timestamp"]).startswith("2026-07-05")
    assert new["hs_task_status"] == old["hs_task_status"] == "NOT_STARTED"
    for task in made:
        assert emu.store.associated("tasks", str(task["hs_object_id"]), "companies") == [
            portal.company
        ]
    # rolesync_key holds the planned task's key (its exactly-once marker).
    planned = {t["for_owner"]: t["key"] for t in plan["task_creates"]}
    assert planned == {"new_owner": new[MARKER], "previous_owner": old[MARKER]}
    task_ids = sorted(str(t["hs_object_id"]) for t in made)
    written = portal.writes()
    assert dict(written) == {
        ("companies", portal.company): 1,
        **{portal.key(n): 1 for n in CARRIED},
        **{("tasks", t): 1 for t in task_ids},  # their creates
    }
    ((first,),) = _state(tmp_path, "SELECT id FROM runs")

    # 2. Again, and the saved plan applied again: no write, no new task.
    before = emu.counters["write_requests"]
    assert main(["sync", *common]) == 0
    assert main(["apply", str(plan_file), *common[:4]]) == 0
    capsys.readouterr()
    assert emu.counters["write_requests"] == before
    assert portal.writes() == written
    assert sorted(str(t["hs_object_id"]) for t in portal.handoff_tasks()) == task_ids
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
    assert main(["explain", portal.company, *common[:4], "--run", first]) == 0
    said = capsys.readouterr().out
    assert "Records carried with it (5):" in said, said
    for name, kind in CARRIED.items():
        line = _line(said, f"- {_KIND[kind]} {ids[name]} from ")
        assert line.endswith(" to Fran: applied"), line
    assert "Handoff tasks (2):" in said, said
    assert _line(said, "- for the new owner Fran:") == (
        '- for the new owner Fran: "Welcome Acme from Hank", due 2026-07-03: created'
    )
    assert _line(said, "- for the previous owner Hank:") == (
        '- for the previous owner Hank: "Introduce Fran to Acme", due 2026-07-05: created'
    )

    # 4. rollback: the company and every carried record back with their owners before
    # (Hank; Xena's contact to Xena), each written once more; the tasks stay, and the
    # output says so.
    assert main(["rollback", first, "-c", common[1]]) == 0
    said = capsys.readouterr().out
    assert "carried records 5/5" in said, said
    assert "2 handoff tasks created by the run rolled back were left in the CRM" in said, said
    assert portal.owner("acme") == owners["hank"]
    assert portal.owner("c-xena") == owners["xena"] and portal.owner("t-xena") == owners["xena"]
    back = [n for n in CARRIED if n != "c-xena"]
    assert {n: portal.owner(n) for n in back} == dict.fromkeys(back, owners["hank"])
    assert dict(portal.writes()) == {
        ("companies", portal.company): 2,
        **{portal.key(n): 2 for n in CARRIED},
        **{("tasks", t): 1 for t in task_ids},
    }
    assert sorted(str(t["hs_object_id"]) for t in portal.handoff_tasks()) == task_ids


def test_a_profile_not_pulling_contacts_and_tasks_warns_and_moves_none(
    tmp_path: Path,
    portal: Portal,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    common = _cli(tmp_path, portal, monkeypatch, pull=False)
    assert main(["sync", *common]) == 0
    err = capsys.readouterr().err
    for name in ("contacts", "tasks"):
        assert f"not pull, so none move: set hubspot.pull.{name}: true" in err, err
    owners, written = portal.owners, portal.writes()
    for name in ("c-hank", "c-xena", "t-open"):
        assert written[portal.key(name)] == 0, name
    assert portal.owner("c-hank") == owners["hank"] and portal.owner("t-open") == owners["hank"]
    # The deals are carried all the same.
    assert portal.owner("open-renewal") == portal.owner("open-upsell") == owners["fran"]
