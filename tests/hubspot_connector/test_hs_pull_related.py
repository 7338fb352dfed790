"""Pulling contacts and open tasks (what a handoff carries) from the emulated portal:
which records and companies, how many requests, incremental changes, faults, archived
owners, and the profile's switch."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from hs_adapter_support import adapter_for

from hs_portal import AS_OF, relaxed
from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotEmulatorConfig, HubSpotFaults
from roleSync.emulators.hubspot.wire import iso_ms, to_ms
from roleSync.model import Book, Contact, Task

BOTH = {"contacts": True, "tasks": True}  # the profile's `pull` switches
COMPANIES, CONTACTS, TASKS = 150, 450, 400


@contextmanager
def related_portal(config: HubSpotEmulatorConfig | None = None) -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator(config or relaxed()) as emu:
        emu.seed(
            owners=12,
            companies=COMPANIES,
            deals=200,
            contacts=CONTACTS,
            tasks=TASKS,
            seed=3,
            as_of=AS_OF,
        )
        yield emu
        assert not emu.internal_errors, emu.internal_errors[0]


def _company(emu: HubSpotEmulator, object_type: str, record_id: str) -> str | None:
    found = emu.store.associated(object_type, record_id, "companies")
    return found[0] if found else None


def _expected(emu: HubSpotEmulator) -> tuple[set[Contact], set[Task]]:
    contacts = set()
    for c in emu.store.all("contacts"):
        company = _company(emu, "contacts", str(c["hs_object_id"]))
        if company is not None:
            name = f"{c.get('firstname') or ''} {c.get('lastname') or ''}".strip()
            owner = c.get("hubspot_owner_id") or None
            contacts.add(
                Contact(str(c["hs_object_id"]), company, owner, name, c.get("email") or "")
            )
    tasks = set()
    for t in emu.store.all("tasks"):
        company = _company(emu, "tasks", str(t["hs_object_id"]))
        if company is not None and t.get("hs_task_status") != "COMPLETED":
            due = date.fromisoformat(str(t["hs_timestamp"])[:10])
            owner = t.get("hubspot_owner_id") or None
            subject = t.get("hs_task_subject") or ""
            tasks.add(Task(str(t["hs_object_id"]), company, owner, subject, False, due))
    return contacts, tasks


def _related(book: Book) -> tuple[set[Contact], set[Task]]:
    return set(book.contacts.values()), set(book.tasks.values())


def test_full_pull_reads_contacts_and_open_tasks_with_their_company(tmp_path: Path) -> None:
    with related_portal() as emu:
        adapter = adapter_for(emu, tmp_path, pull=BOTH)
        book = adapter.pull()
        contacts, tasks = _related(book)
        assert (contacts, tasks) == _expected(emu)
        assert len(contacts) == CONTACTS
        assert 0 < len(tasks) < TASKS  # completed tasks are not carried, so not pulled
        # Each related object: one search probe, ceil(N/100) list pages, and its
        # companies through v4 from the smaller side (the companies: ceil(150/100)).
        per_object = {
            "contacts": 1 + math.ceil(CONTACTS / 100) + math.ceil(COMPANIES / 100),
            "tasks": 1 + math.ceil(TASKS / 100) + math.ceil(COMPANIES / 100),
        }
        report = adapter.last_pull
        assert report is not None
        spent = {o.object: o.requests for o in report.objects}
        assert {k: spent[k] for k in per_object} == per_object
        assert emu.counters["contacts_list"] == math.ceil(CONTACTS / 100)
        adapter.close()


def test_archived_owners_come_through_inactive_with_what_they_hold(tmp_path: Path) -> None:
    with related_portal() as emu:
        book = adapter_for(emu, tmp_path, pull=BOTH).pull()
        archived = {o.id for o in emu.store.owners(archived=True)}
        assert archived and all(book.owners[o].active is False for o in archived)
        held = [c for c in book.contacts.values() if c.owner_id in archived]
        assert held  # the seed gives some contacts to owners who left


def test_incremental_pull_follows_edits_completions_and_archived_records(
    tmp_path: Path,
) -> None:
    with related_portal() as emu:
        book = adapter_for(emu, tmp_path, pull=BOTH).pull()
        store = emu.store
        contacts = sorted(book.contacts.values())
        tasks = sorted(book.tasks.values())
        owner = store.owners()[0].id
        company = sorted(book.accounts)[0]

        store.update("contacts", contacts[0].id, {"hubspot_owner_id": owner})
        store.archive("contacts", contacts[1].id)
        store.update("tasks", tasks[0].id, {"hs_task_status": "COMPLETED"})
        store.archive("tasks", tasks[1].id)
        due = iso_ms(to_ms(AS_OF))
        new_task = store.insert(
            "tasks",
            {"hs_task_subject": "Kickoff", "hs_timestamp": due, "hs_task_status": "NOT_STARTED"},
        )
        store.link("tasks", new_task, "companies", company)

        adapter = adapter_for(emu, tmp_path, pull=BOTH)
        again = adapter.pull()
        report = adapter.last_pull
        assert report is not None
        assert not any(o.full for o in report.objects if o.object in {"contacts", "tasks"})
        assert again.contacts[contacts[0].id].owner_id == owner
        assert contacts[1].id not in again.contacts
        assert tasks[0].id not in again.tasks and tasks[1].id not in again.tasks
        assert again.tasks[new_task].account_id == company
        assert _related(again) == _expected(emu)


def test_nothing_changed_costs_a_few_requests_per_object(tmp_path: Path) -> None:
    with related_portal() as emu:
        adapter_for(emu, tmp_path, pull=BOTH).pull()
        adapter = adapter_for(emu, tmp_path, pull=BOTH)
        adapter.pull()
        report = adapter.last_pull
        assert report is not None
        spent = {o.object: o.requests for o in report.objects if not o.full}
        # Search, the archived list, and the company of the records the overlap re-reads.
        assert spent["contacts"] <= 3 and spent["tasks"] <= 3


@pytest.mark.parametrize(
    ("faults", "counter"),
    [
        (HubSpotFaults(rate_limit_every=3), "fault_rate_limit"),
        (HubSpotFaults(unavailable_every=4), "fault_unavailable"),
        (HubSpotFaults(drop_every=5), "fault_drop"),
    ],
    ids=["429", "503", "dropped"],
)
def test_faults_during_the_pull_still_end_with_every_record(
    faults: HubSpotFaults, counter: str, tmp_path: Path
) -> None:
    with related_portal(relaxed(faults=faults)) as emu:
        book = adapter_for(emu, tmp_path, pull=BOTH).pull()
        assert emu.counters[counter] > 0
        assert _related(book) == _expected(emu)


def test_the_switch_is_off_by_default_and_turning_it_off_empties_the_tables(
    tmp_path: Path,
) -> None:
    with related_portal() as emu:
        book = adapter_for(emu, tmp_path).pull()
        assert not book.contacts and not book.tasks
        assert emu.counters["contacts_list"] == 0

        # Switched on later: companies are pulled incrementally, so the new objects'
        # companies are read from their own side.
        assert _related(adapter_for(emu, tmp_path, pull=BOTH).pull()) == _expected(emu)
        book = adapter_for(emu, tmp_path, pull={"contacts": True, "tasks": False}).pull()
        assert book.contacts and not book.tasks
        with sqlite3.connect(tmp_path / ".rolesync" / "mirror.db") as conn:
            assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (0,)
            cursors = {row[0] for row in conn.execute("SELECT object FROM cursors")}
        assert "tasks" not in cursors and "contacts" in cursors
