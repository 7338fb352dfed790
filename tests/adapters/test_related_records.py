"""Contacts and tasks in the local book: stored, pulled into the Book by account, and a
book written before they existed still opening, pulling, and getting their tables."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from roleSync.adapters.local import LocalAdapter
from roleSync.adapters.local_store import write_book
from roleSync.demo import prepare
from roleSync.demo_book import generate_demo_book
from roleSync.demo_related import generate_demo_related
from roleSync.model import Account, Book, Contact, Deal, DealKind, DealWindow, Owner, Task
from roleSync.profile import Profile

OWNERS = [Owner("o-hank", "Hank", "hank@example.com"), Owner("o-fran", "Fran", "fran@example.com")]
ACCOUNTS = [Account("a-1", "Acme", "o-hank"), Account("a-2", "Globex", "o-fran")]
WON, OPENED = date(2026, 2, 1), date(2026, 3, 1)
DEALS = [
    Deal("d-1", "a-1", "o-hank", DealKind.NEW_BUSINESS, "Won", True, True, 10.0, WON, WON),
    Deal("d-2", "a-1", None, DealKind.RENEWAL, "Open", False, False, 5.0, OPENED, None),
]
CONTACTS = [
    Contact("c-2", "a-1", None, "Bo Blank", "bo@acme.example"),
    Contact("c-1", "a-1", "o-hank", "Ann Acme", "ann@acme.example"),
    Contact("c-3", "a-2", "o-fran", "Gil Globex", ""),
    Contact("c-4", None, "o-hank", "No Company", ""),
]
TASKS = [
    Task("t-1", "a-1", "o-hank", "QBR", False, date(2026, 7, 1)),
    Task("t-2", "a-1", "o-hank", "Kickoff", True, date(2026, 5, 1)),
    Task("t-3", "a-2", None, "Call", False, None),
]
# The tables of a book as roleSync wrote them before contacts and tasks existed.
OLD_SCHEMA = """
CREATE TABLE owners (id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT '',
  active INTEGER NOT NULL DEFAULT 1);
CREATE TABLE accounts (id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', owner_id TEXT,
  lifecycle TEXT NOT NULL DEFAULT '', segment TEXT NOT NULL DEFAULT '',
  region TEXT NOT NULL DEFAULT '', tier TEXT NOT NULL DEFAULT '', locked INTEGER NOT NULL DEFAULT 0,
  fields TEXT NOT NULL DEFAULT '{}', created TEXT, updated TEXT);
CREATE TABLE deals (id TEXT PRIMARY KEY, account_id TEXT NOT NULL, owner_id TEXT, kind TEXT,
  stage TEXT NOT NULL DEFAULT '', closed INTEGER NOT NULL DEFAULT 0, won INTEGER NOT NULL DEFAULT 0,
  amount REAL, created TEXT NOT NULL, close_date TEXT);
CREATE TABLE owner_fields (owner_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (owner_id, name)) WITHOUT ROWID;
INSERT INTO owners (id, name) VALUES ('o-hank', 'Hank');
INSERT INTO accounts (id, name, owner_id) VALUES ('a-1', 'Acme', 'o-hank');
INSERT INTO deals (id, account_id, owner_id, kind, stage, closed, won, amount, created, close_date)
  VALUES ('d-1', 'a-1', 'o-hank', 'new_business', 'Won', 1, 1, 10.0, '2026-01-01', '2026-02-01');
PRAGMA user_version = 1;
"""


def old_book(path: Path) -> Path:
    conn = sqlite3.connect(path)
    try:
        conn.executescript(OLD_SCHEMA)
    finally:
        conn.close()
    return path


def tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def pull(path: Path, window: DealWindow | None = None) -> Book:
    with LocalAdapter(Profile.for_local_book(path)) as adapter:
        return adapter.pull(window)


def test_contacts_and_tasks_round_trip_into_the_book_by_account(tmp_path: Path) -> None:
    path = tmp_path / "book.db"
    write_book(path, OWNERS, ACCOUNTS, DEALS, contacts=CONTACTS, tasks=TASKS)
    for book in (pull(path), pull(path, DealWindow(date(2026, 6, 30), 365))):
        assert list(book.contacts) == ["c-1", "c-2", "c-3", "c-4"]
        assert book.contacts["c-4"] == CONTACTS[3]
        assert [c.id for c in book.contacts_by_account["a-1"]] == ["c-1", "c-2"]
        assert book.contacts_by_account["a-1"][1].owner_id is None  # blank stays blank
        assert set(book.contacts_by_account) == {"a-1", "a-2"}  # c-4 follows no account
        assert book.tasks["t-1"] == TASKS[0]
        assert [t.id for t in book.open_tasks("a-1")] == ["t-1"]  # t-2 is closed
        assert book.open_tasks("a-2") == [TASKS[2]]
        assert book.open_tasks("a-unknown") == []


def test_write_book_replaces_contacts_and_tasks(tmp_path: Path) -> None:
    path = tmp_path / "book.db"
    write_book(path, OWNERS, ACCOUNTS, DEALS, contacts=CONTACTS, tasks=TASKS)
    write_book(path, OWNERS, ACCOUNTS, DEALS, contacts=CONTACTS[:1])
    book = pull(path)
    assert list(book.contacts) == ["c-2"]
    assert book.tasks == {}


def test_a_book_written_before_contacts_and_tasks_opens_and_pulls(tmp_path: Path) -> None:
    path = old_book(tmp_path / "old.db")
    before = path.read_bytes()
    for book in (pull(path), pull(path, DealWindow(date(2026, 6, 30), 365))):
        assert list(book.accounts) == ["a-1"]
        assert book.deal_count == 1
        assert (book.contacts, book.tasks, book.contacts_by_account) == ({}, {}, {})
    # Pulling writes nothing: the book is as it was, with no new tables.
    assert path.read_bytes() == before
    assert "contacts" not in tables(path)


def test_writing_an_old_book_gives_it_the_new_tables(tmp_path: Path) -> None:
    path = old_book(tmp_path / "old.db")
    write_book(path, OWNERS, ACCOUNTS, DEALS, contacts=CONTACTS, tasks=TASKS)
    assert {"contacts", "tasks"} <= tables(path)
    assert len(pull(path).contacts) == 4


def test_the_demo_book_has_contacts_and_open_tasks_deterministically(tmp_path: Path) -> None:
    as_of = date(2026, 6, 30)
    _, accounts, _ = generate_demo_book(as_of)
    contacts, tasks = generate_demo_related(accounts, as_of)
    assert (contacts, tasks) == generate_demo_related(accounts, as_of)
    assert generate_demo_related(accounts, as_of, seed=7) != (contacts, tasks)
    by_account = {c.account_id for c in contacts}
    assert by_account == {a.id for a in accounts}  # every account has a contact
    assert sum(not t.closed for t in tasks) > len(accounts) // 5
    owners = {a.id: a.owner_id for a in accounts}
    assert all(t.owner_id == owners[t.account_id] for t in tasks if t.account_id)
    # `rolesync demo` writes them into its book.
    profile_path, _ = prepare(tmp_path / "demo", as_of, 2026)
    with LocalAdapter(Profile.for_local_book(tmp_path / "demo" / "demo.db")) as adapter:
        book = adapter.pull()
    assert len(book.contacts) == len(contacts)
    assert len(book.tasks) == len(tasks)
    assert profile_path.is_file()
