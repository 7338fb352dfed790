"""Book health of contacts and tasks: unknown accounts and owners are findings, positioned
at their CSV row on import, and a book without the tables is still scanned."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from roleSync.adapters.local_import import import_csv
from roleSync.adapters.local_store import write_book
from roleSync.errors import InputError
from roleSync.health import health_hook, scan
from roleSync.model import Account, Contact, Owner, Task
from roleSync.profile import Profile, load_profile

EXAMPLE = Path(__file__).resolve().parents[2] / "connectors" / "local.example.yaml"
OWNERS = [Owner("o1", "One", "one@example.com"), Owner("o2", "Two", "two@example.com")]
ACCOUNTS = [Account("a1", "Acme", "o1"), Account("a2", "Globex", "o2")]
CONTACTS = [
    Contact("c1", "a1", "o1"),
    Contact("c2", "a-404", "o1"),  # unknown account
    Contact("c3", "a-404", None),  # the same unknown account
    Contact("c4", None, "ghost"),  # no account (allowed), unknown owner
    Contact("c5", "", ""),  # blank account and owner: neither unknown
]
TASKS = [
    Task("t1", "a2", "o2", "Call", False, date(2026, 7, 1)),
    Task("t2", "a-gone", "gone", "Old", True, None),  # both unknown
]


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    path = tmp_path / "crm.yaml"
    shutil.copy(EXAMPLE, path)
    return load_profile(path)


def test_unknown_accounts_and_owners_of_contacts_and_tasks_are_errors(profile: Profile) -> None:
    write_book(profile.book_path, OWNERS, ACCOUNTS, [], contacts=CONTACTS, tasks=TASKS)
    health = scan(profile)
    found = {(f.code, f.rows): (f.count, f.examples, f.severity.value) for f in health.findings}
    assert found == {
        ("unknown-account", "contacts"): (2, ("c2",), "error"),
        ("unknown-account", "tasks"): (1, ("t2",), "error"),
        ("unknown-owner", "contacts"): (1, ("c4",), "error"),
        ("unknown-owner", "tasks"): (1, ("t2",), "error"),
    }
    messages = [str(d) for d in health.diagnostics(profile)]
    assert any(
        "error: 2 contacts point at an account the book does not have (e.g. c2)" in m
        and m.endswith("[unknown-account]")
        for m in messages
    )
    assert any("1 tasks name an owner the book does not have (e.g. t2)" in m for m in messages)


def test_a_book_without_contacts_and_tasks_tables_is_scanned(profile: Profile) -> None:
    write_book(profile.book_path, OWNERS, ACCOUNTS, [])
    conn = sqlite3.connect(profile.book_path)
    conn.executescript("DROP TABLE contacts; DROP TABLE tasks;")
    conn.close()
    health = scan(profile)
    assert health.scanned and health.findings == ()


def test_an_import_of_contacts_with_unknown_references_is_positioned_and_writes_nothing(
    profile: Profile, tmp_path: Path
) -> None:
    write_book(profile.book_path, OWNERS, ACCOUNTS, [])
    before = profile.book_path.read_bytes()
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "Id,AccountId,OwnerId,Name,Email\nc1,a1,o1,Ann,\nc2,a-404,o1,Bo,\nc3,a2,ghost,Cy,\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        import_csv(profile, None, None, None, contacts=contacts, health=health_hook(profile))
    lines = [str(d) for d in caught.value.diagnostics]
    assert len(lines) == 2
    assert lines[0].startswith(
        f"{contacts}:3:2: error: 1 contacts point at an account the book does not have "
        "(e.g. c2); the profile key is at "
    )
    assert lines[0].endswith("[unknown-account]")
    assert lines[1].startswith(
        f"{contacts}:4:3: error: 1 contacts name an owner the book does not have (e.g. c3)"
    )
    assert lines[1].endswith("[unknown-owner]")
    assert profile.book_path.read_bytes() == before
