"""Pulling Contacts and open Tasks (what a handoff carries) from an emulated org: which
records, how many queries, incremental changes, faults, and the profile's switch."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sf_helpers import adapter_for, fast_policy, new_emulator

from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceFaults
from roleSync.model import Book, Contact, Task

BOTH = {"contacts": True, "tasks": True}  # the profile's `pull` switches
CONTACTS = 2500  # more than one query page (2,000 records)


def _seeded(faults: SalesforceFaults | None = None) -> SalesforceEmulator:
    emu = new_emulator(faults)
    emu.seed(users=12, accounts=300, opportunities=700, contacts=CONTACTS, tasks=600, seed=3)
    return emu


@pytest.fixture
def related_org() -> Iterator[SalesforceEmulator]:
    emu = _seeded()
    with emu:
        yield emu


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _expected_contacts(emu: SalesforceEmulator) -> set[Contact]:
    return {
        Contact(
            _text(c["Id"]),
            _text(c["AccountId"]),
            _text(c["OwnerId"]) or None,
            _text(c["Name"]),
            _text(c["Email"]),
        )
        for c in emu.store.all("Contact")
        if c["AccountId"]
    }


def _expected_tasks(emu: SalesforceEmulator) -> set[Task]:
    expected = set()
    for t in emu.store.all("Task"):
        what, due = _text(t["WhatId"]), t["ActivityDate"]
        if not t["IsClosed"] and what.startswith("001"):
            assert due is None or isinstance(due, date)
            owner = _text(t["OwnerId"]) or None
            expected.add(Task(_text(t["Id"]), what, owner, _text(t["Subject"]), False, due))
    return expected


def _related(book: Book) -> tuple[set[Contact], set[Task]]:
    return set(book.contacts.values()), set(book.tasks.values())


def test_full_pull_reads_contacts_and_open_account_tasks_in_pages_of_2000(
    related_org: SalesforceEmulator, tmp_path: Path
) -> None:
    store = related_org.store
    opportunity = store.all("Opportunity")[0]
    # A task about an opportunity (AccountId set, WhatId not an account) is not one.
    store.insert("Task", {"Subject": "Demo", "WhatId": opportunity["Id"], "Status": "Not Started"})
    related_org.reset_counters()

    adapter = adapter_for(related_org, tmp_path, pull=BOTH)
    book = adapter.pull()

    contacts, tasks = _related(book)
    assert contacts == _expected_contacts(related_org)
    assert len(contacts) == CONTACTS
    assert tasks == _expected_tasks(related_org)
    all_tasks = store.all("Task")
    assert 0 < len(tasks) < len(all_tasks)  # completed ones and the opportunity's are not
    # Users, Accounts and Opportunities one page each; Contacts and Tasks ceil(N/2000).
    assert related_org.counters["api_requests"] == 3 + math.ceil(CONTACTS / 2000) + 1
    # Open tasks by account, as handoffs will carry them.
    some = next(iter(tasks))
    assert some in book.open_tasks(some.account_id or "")


def test_incremental_pull_follows_edits_completions_and_deletions(
    related_org: SalesforceEmulator, tmp_path: Path
) -> None:
    adapter = adapter_for(related_org, tmp_path, pull=BOTH)
    book = adapter.pull()
    store = related_org.store
    contacts = sorted(book.contacts.values())
    tasks = sorted(book.tasks.values())
    account = sorted(book.accounts)[0]
    other_owner = next(o.id for o in book.owners.values() if o.active)

    store.update("Contact", contacts[0].id, {"OwnerId": other_owner})
    store.update("Contact", contacts[1].id, {"AccountId": None})  # no company any more
    store.delete("Contact", contacts[2].id)
    store.update("Task", tasks[0].id, {"Status": "Completed"})
    store.delete("Task", tasks[1].id)
    new_task = store.insert(
        "Task", {"Subject": "Kickoff", "WhatId": account, "ActivityDate": "2026-07-01"}
    )
    related_org.reset_counters()

    again = adapter.pull()

    assert related_org.counters["api_requests"] == 5  # one query per object
    by_id = again.contacts
    assert by_id[contacts[0].id].owner_id == other_owner
    assert contacts[1].id not in by_id and contacts[2].id not in by_id
    open_ids = set(again.tasks)
    assert tasks[0].id not in open_ids and tasks[1].id not in open_ids
    assert new_task in open_ids
    assert again.tasks[new_task].due == date(2026, 7, 1)
    assert _related(again) == (_expected_contacts(related_org), _expected_tasks(related_org))


def test_pull_with_nothing_new_costs_one_query_per_object(
    related_org: SalesforceEmulator, tmp_path: Path
) -> None:
    adapter_for(related_org, tmp_path, pull=BOTH).pull()
    related_org.reset_counters()
    adapter_for(related_org, tmp_path, pull=BOTH).pull()  # a new run: state from the mirror
    assert related_org.counters["api_requests"] == 5


def test_owners_who_left_come_through_inactive(
    related_org: SalesforceEmulator, tmp_path: Path
) -> None:
    book = adapter_for(related_org, tmp_path, pull=BOTH).pull()
    inactive = {_text(u["Id"]) for u in related_org.store.all("User") if not u["IsActive"]}
    assert inactive
    assert all(book.owners[i].active is False for i in inactive)
    held = [c for c in book.contacts.values() if c.owner_id in inactive]
    assert held  # the seed gives some contacts to users who left
    assert all(not book.owners[str(c.owner_id)].active for c in held)


@pytest.mark.parametrize(
    ("faults", "counter"),
    [
        (SalesforceFaults(unavailable_every=3), "fault_unavailable"),
        (SalesforceFaults(drop_every=4), "fault_drop"),
        (SalesforceFaults(invalid_session_after=4), "fault_invalid_session"),
    ],
    ids=["503", "dropped", "expired-session"],
)
def test_faults_during_the_pull_still_end_with_every_record(
    faults: SalesforceFaults, counter: str, tmp_path: Path
) -> None:
    emu = _seeded(faults)
    # An expired session is renewed only by a method that can get a new token.
    method = "refresh_token" if faults.invalid_session_after is not None else "access_token"
    with emu:
        adapter = adapter_for(
            emu, tmp_path, policy=fast_policy(max_attempts=8), method=method, pull=BOTH
        )
        book = adapter.pull()
        assert emu.counters[counter] > 0
        assert _related(book) == (_expected_contacts(emu), _expected_tasks(emu))


def test_the_switch_is_off_by_default_and_turning_it_off_empties_the_tables(
    related_org: SalesforceEmulator, tmp_path: Path
) -> None:
    book = adapter_for(related_org, tmp_path).pull()
    assert not book.contacts and not book.tasks
    assert related_org.counters["api_requests"] == 3  # no Contact or Task query
    mirror = tmp_path / ".rolesync" / "mirror.db"
    with sqlite3.connect(mirror) as conn:  # a mirror from before contacts and tasks
        conn.execute("DROP TABLE contacts")
        conn.execute("DROP TABLE tasks")

    assert adapter_for(related_org, tmp_path, pull=BOTH).pull().contacts
    off = adapter_for(related_org, tmp_path, pull={"contacts": False, "tasks": True})
    book = off.pull()
    assert not book.contacts and book.tasks
    with sqlite3.connect(mirror) as conn:
        assert conn.execute("SELECT count(*) FROM contacts").fetchone() == (0,)
        cursors = {row[0] for row in conn.execute("SELECT object FROM cursors")}
    assert "Contact" not in cursors and "Task" in cursors
