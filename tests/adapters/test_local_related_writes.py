"""The local book writes what a handoff carries: carried deals, contacts and tasks
(compare-and-set, journaled in batches) and handoff tasks (created once, by key)."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path

import pytest

from roleSync.adapters.base import RelatedResult, RelatedWriter
from roleSync.adapters.local import BATCH_DELAY_ENV, LocalAdapter
from roleSync.adapters.local_import import import_csv
from roleSync.adapters.local_related import task_row_id
from roleSync.adapters.local_store import BookError, write_book
from roleSync.health import scan
from roleSync.model import Account, Contact, Deal, DealKind, Owner, Task
from roleSync.plan.types import (
    HandoffTask,
    RelatedChange,
    RelatedObject,
    TaskFor,
)
from roleSync.profile import Profile, load_profile

EXAMPLE = Path(__file__).resolve().parents[2] / "connectors" / "local.example.yaml"
DUE = date(2026, 7, 7)
OWNERS = [
    Owner("o-hank", "Hank Hunter", "hank@example.com"),
    Owner("o-fran", "Fran Farmer", "fran@example.com"),
    Owner("o-gail", "Gail Grower", "gail@example.com"),
    Owner("o-ivan", "Ivan Idle", "ivan@example.com", active=False),
]
ACCOUNTS = [Account("a-1", "Acme", "o-fran"), Account("a-2", "Globex", "o-fran")]
WON, OPENED = date(2026, 2, 1), date(2026, 3, 1)
DEALS = [
    Deal("d-won", "a-1", "o-hank", DealKind.NEW_BUSINESS, "Won", True, True, 10.0, WON, WON),
    Deal("d-ren", "a-1", "o-hank", DealKind.RENEWAL, "Open", False, False, 5.0, OPENED, None),
    Deal("d-exp", "a-1", "o-hank", DealKind.EXPANSION, "Open", False, False, 3.0, OPENED, None),
    Deal("d-lost", "a-2", "o-hank", DealKind.RENEWAL, "Lost", True, False, 1.0, OPENED, WON),
]
CONTACTS = [
    Contact("c-1", "a-1", "o-hank", "Ann Acme", "ann@acme.example"),
    Contact("c-2", "a-1", "o-hank", "Bo Acme", "bo@acme.example"),
]
TASKS = [
    Task("t-open", "a-1", "o-hank", "QBR", False, date(2026, 7, 1)),
    Task("t-done", "a-1", "o-hank", "Kickoff", True, date(2026, 5, 1)),
]


@pytest.fixture
def book_path(tmp_path: Path) -> Path:
    path = tmp_path / "book.db"
    write_book(path, OWNERS, ACCOUNTS, DEALS, contacts=CONTACTS, tasks=TASKS)
    return path


@pytest.fixture
def adapter(book_path: Path) -> Iterator[LocalAdapter]:
    with LocalAdapter(Profile.for_local_book(book_path)) as local:
        yield local


def carry(
    kind: RelatedObject, record_id: str, from_owner: str | None = "o-hank", to: str = "o-fran"
) -> RelatedChange:
    return RelatedChange(kind, record_id, "a-1", from_owner, to, "carried by the handoff")


DEAL, CONTACT, TASK = RelatedObject.DEAL, RelatedObject.CONTACT, RelatedObject.TASK


def handoff_task(key: str, account: str = "a-1", owner: str = "o-fran") -> HandoffTask:
    return HandoffTask(
        key,
        account,
        owner,
        f"Take over {account}",
        "Hank handed this account to you.\nSay hello.",
        DUE,
        TaskFor.NEW_OWNER,
        trigger="first_won_new_business",
        handoff_id="hunter-to-farmer",
    )


def sql(path: Path, statement: str, *params: object) -> list[tuple[object, ...]]:
    """Another connection (a human in the CRM, or a reader checking what is committed)."""
    conn = sqlite3.connect(path)
    try:
        with conn:
            return conn.execute(statement, params).fetchall()
    finally:
        conn.close()


def owner(path: Path, table: str, record_id: str) -> object:
    rows = sql(path, f"SELECT owner_id FROM {table} WHERE id = ?", record_id)
    return rows[0][0] if rows else "gone"


def handoff_rows(path: Path) -> list[tuple[object, ...]]:
    return sql(
        path,
        "SELECT rolesync_key, id, account_id, owner_id, subject, body, closed, due FROM tasks "
        "WHERE rolesync_key IS NOT NULL ORDER BY rolesync_key",
    )


class RecordingJournal:
    """Records each call, with what another connection sees of the book at that moment."""

    def __init__(self, path: Path, fail_result_from: int | None = None) -> None:
        self.path = path
        self.fail_result_from = fail_result_from
        self.calls: list[tuple[str, int, list[str]]] = []
        self.seen: list[dict[str, object]] = []

    def _look(self) -> dict[str, object]:
        return {
            "d-ren": owner(self.path, "deals", "d-ren"),
            "tasks": len(handoff_rows(self.path)),
        }

    def intent(self, batch_no: int, entries: Sequence[RelatedChange | HandoffTask]) -> None:
        names = [e.key if isinstance(e, HandoffTask) else e.record_id for e in entries]
        self.calls.append(("intent", batch_no, names))
        self.seen.append(self._look())

    def result(self, batch_no: int, result: RelatedResult) -> None:
        if self.fail_result_from is not None and batch_no >= self.fail_result_from:
            raise RuntimeError("killed after the commit, before the journal's result")
        decided = (
            result.applied
            + result.already_applied
            + list(result.conflicts)
            + list(result.failed)
            + result.tasks_created
            + result.tasks_existing
            + list(result.tasks_failed)
        )
        self.calls.append(("result", batch_no, sorted(decided)))
        self.seen.append(self._look())


# -- carried records ----------------------------------------------------------------


def test_the_local_adapter_is_a_related_writer(adapter: LocalAdapter) -> None:
    assert isinstance(adapter, RelatedWriter)


def test_open_deals_contacts_and_open_tasks_move_to_the_new_owner(
    book_path: Path, adapter: LocalAdapter
) -> None:
    changes = [
        carry(DEAL, "d-ren"),
        carry(DEAL, "d-exp"),
        carry(CONTACT, "c-1"),
        carry(CONTACT, "c-2"),
        carry(TASK, "t-open"),
    ]
    result = adapter.apply_related(changes, [])
    assert result.applied == [
        "deal:d-ren",
        "deal:d-exp",
        "contact:c-1",
        "contact:c-2",
        "task:t-open",
    ]
    assert (result.conflicts, result.failed, result.already_applied) == ({}, {}, [])
    book = adapter.pull()
    deals = {d.id: d.owner_id for d in book.deals}
    # The closed won deal stays with the hunter: it was not carried.
    assert (deals["d-ren"], deals["d-exp"], deals["d-won"]) == ("o-fran", "o-fran", "o-hank")
    assert {c.owner_id for c in book.contacts.values()} == {"o-fran"}
    assert book.tasks["t-open"].owner_id == "o-fran"
    # Applying the same changes again writes nothing and says so.
    again = adapter.apply_related(changes, [])
    assert again.applied == []
    assert again.already_applied == [
        "deal:d-ren",
        "deal:d-exp",
        "contact:c-1",
        "contact:c-2",
        "task:t-open",
    ]


def test_a_closed_deal_or_task_is_a_conflict_and_never_moves(
    book_path: Path, adapter: LocalAdapter
) -> None:
    # d-ren and t-open closed after the plan was made; d-won and d-lost were closed before.
    sql(book_path, "UPDATE deals SET closed = 1, won = 1 WHERE id = 'd-ren'")
    sql(book_path, "UPDATE tasks SET closed = 1 WHERE id = 't-open'")
    changes = [
        carry(DEAL, "d-ren"),
        carry(DEAL, "d-won"),
        carry(DEAL, "d-lost"),
        carry(TASK, "t-open"),
        carry(TASK, "t-done"),
        carry(DEAL, "d-exp"),
    ]
    result = adapter.apply_related(changes, [])
    assert result.conflicts == {
        "deal:d-ren": "o-hank",
        "deal:d-won": "o-hank",
        "deal:d-lost": "o-hank",
        "task:t-open": "o-hank",
        "task:t-done": "o-hank",
    }
    assert result.applied == ["deal:d-exp"]
    for table, record in [("deals", "d-ren"), ("deals", "d-won"), ("tasks", "t-open")]:
        assert owner(book_path, table, record) == "o-hank"


def test_a_record_moved_since_the_plan_is_a_conflict_and_left_alone(
    book_path: Path, adapter: LocalAdapter
) -> None:
    sql(book_path, "UPDATE deals SET owner_id = 'o-gail' WHERE id = 'd-ren'")
    sql(book_path, "UPDATE contacts SET owner_id = NULL WHERE id = 'c-1'")
    changes = [carry(DEAL, "d-ren"), carry(CONTACT, "c-1"), carry(CONTACT, "c-2")]
    result = adapter.apply_related(changes, [])
    assert result.conflicts == {"deal:d-ren": "o-gail", "contact:c-1": None}
    assert result.applied == ["contact:c-2"]
    assert owner(book_path, "deals", "d-ren") == "o-gail"
    assert owner(book_path, "contacts", "c-1") is None


def test_gone_records_and_unusable_target_owners_are_failed(
    book_path: Path, adapter: LocalAdapter
) -> None:
    sql(book_path, "DELETE FROM contacts WHERE id = 'c-2'")
    changes = [
        carry(DEAL, "d-404"),
        carry(CONTACT, "c-2"),
        carry(DEAL, "d-ren", to="o-ivan"),
        carry(TASK, "t-open", to="o-nobody"),
    ]
    result = adapter.apply_related(changes, [])
    assert result.failed == {
        "deal:d-404": "deal no longer exists",
        "contact:c-2": "contact no longer exists",
        "deal:d-ren": "target owner o-ivan is inactive",
        "task:t-open": "target owner o-nobody no longer exists",
    }
    assert result.applied == []
    assert owner(book_path, "deals", "d-ren") == "o-hank"
    assert owner(book_path, "tasks", "t-open") == "o-hank"


def test_a_book_without_contacts_and_tasks_tables_fails_those_records_clearly(
    book_path: Path, adapter: LocalAdapter
) -> None:
    sql(book_path, "DROP TABLE contacts")
    sql(book_path, "DROP TABLE tasks")
    result = adapter.apply_related(
        [carry(CONTACT, "c-1"), carry(TASK, "t-open"), carry(DEAL, "d-ren")], []
    )
    assert result.failed == {
        "contact:c-1": "the book has no contacts table (written before contacts existed); "
        "import contacts first",
        "task:t-open": "the book has no tasks table (written before tasks existed); "
        "import tasks first",
    }
    assert result.applied == ["deal:d-ren"]


# -- handoff tasks ------------------------------------------------------------------


def test_handoff_tasks_are_created_once_across_calls(
    book_path: Path, adapter: LocalAdapter
) -> None:
    tasks = [handoff_task("hk-1"), handoff_task("hk-2", account="a-2", owner="o-hank")]
    first = adapter.apply_related([], tasks)
    assert (first.tasks_created, first.tasks_existing, first.tasks_failed) == (
        ["hk-1", "hk-2"],
        [],
        {},
    )
    second = adapter.apply_related([], tasks)
    assert (second.tasks_created, second.tasks_existing) == ([], ["hk-1", "hk-2"])
    body = "Hank handed this account to you.\nSay hello."
    assert handoff_rows(book_path) == [
        ("hk-1", task_row_id("hk-1"), "a-1", "o-fran", "Take over a-1", body, 0, "2026-07-07"),
        ("hk-2", task_row_id("hk-2"), "a-2", "o-hank", "Take over a-2", body, 0, "2026-07-07"),
    ]
    assert task_row_id("hk-1").startswith("rst-")
    # The new tasks are open tasks of their accounts, pulled like any other.
    book = adapter.pull()
    assert Task(task_row_id("hk-1"), "a-1", "o-fran", "Take over a-1", False, DUE) in (
        book.open_tasks("a-1")
    )


def test_handoff_tasks_for_a_gone_account_or_an_unusable_assignee_are_failed(
    book_path: Path, adapter: LocalAdapter
) -> None:
    tasks = [
        handoff_task("hk-gone", account="a-404"),
        handoff_task("hk-idle", owner="o-ivan"),
        handoff_task("hk-ok"),
    ]
    result = adapter.apply_related([], tasks)
    assert result.tasks_failed == {
        "hk-gone": "account a-404 no longer exists",
        "hk-idle": "assignee o-ivan is inactive",
    }
    assert result.tasks_created == ["hk-ok"]
    assert [row[0] for row in handoff_rows(book_path)] == ["hk-ok"]


def test_a_task_id_taken_by_another_task_fails_that_task_only(
    book_path: Path, adapter: LocalAdapter
) -> None:
    sql(
        book_path,
        "INSERT INTO tasks (id, account_id, owner_id, subject) VALUES (?, 'a-1', 'o-hank', 'x')",
        task_row_id("hk-1"),
    )
    result = adapter.apply_related([], [handoff_task("hk-1"), handoff_task("hk-2")])
    assert result.tasks_failed == {
        "hk-1": f"the book already holds a task {task_row_id('hk-1')} that is not this handoff's"
    }
    assert result.tasks_created == ["hk-2"]


def test_a_crash_after_the_task_commit_creates_no_task_twice(
    book_path: Path, adapter: LocalAdapter
) -> None:
    adapter.batch_size = 2
    tasks = [handoff_task(f"hk-{n}") for n in range(3)]
    dying = RecordingJournal(book_path, fail_result_from=0)
    with pytest.raises(RuntimeError, match="before the journal's result"):
        adapter.apply_related([carry(DEAL, "d-ren")], tasks, dying)
    # Killed after the deal's batch committed, before its result: no task written yet.
    assert handoff_rows(book_path) == []
    # Again, killed this time after the first task batch committed.
    dying = RecordingJournal(book_path, fail_result_from=1)
    with pytest.raises(RuntimeError):
        adapter.apply_related([carry(DEAL, "d-ren")], tasks, dying)
    assert [row[0] for row in handoff_rows(book_path)] == ["hk-0", "hk-1"]
    # The next attempt finds them by key and creates only the one left.
    journal = RecordingJournal(book_path)
    result = adapter.apply_related([carry(DEAL, "d-ren")], tasks, journal)
    assert result.already_applied == ["deal:d-ren"]
    assert (result.tasks_created, result.tasks_existing) == (["hk-2"], ["hk-0", "hk-1"])
    assert journal.calls[2:] == [
        ("intent", 1, []),
        ("result", 1, ["hk-0", "hk-1"]),
        ("intent", 2, ["hk-2"]),
        ("result", 2, ["hk-2"]),
    ]
    assert [row[0] for row in handoff_rows(book_path)] == ["hk-0", "hk-1", "hk-2"]
    (count,) = sql(book_path, "SELECT count(*) FROM tasks WHERE id LIKE 'rst-%'")[0]
    assert count == 3


def test_the_journal_sees_each_intent_before_its_commit_and_the_result_after(
    book_path: Path, adapter: LocalAdapter
) -> None:
    adapter.batch_size = 2
    sql(book_path, "UPDATE deals SET owner_id = 'o-gail' WHERE id = 'd-exp'")
    journal = RecordingJournal(book_path)
    changes = [carry(DEAL, "d-exp"), carry(DEAL, "d-ren"), carry(CONTACT, "c-1")]
    tasks = [handoff_task("hk-1"), handoff_task("hk-2"), handoff_task("hk-3")]
    result = adapter.apply_related(changes, tasks, journal)
    assert journal.calls == [
        # The conflict is decided before the intent: it is only in the result.
        ("intent", 0, ["d-ren"]),
        ("result", 0, ["deal:d-exp", "deal:d-ren"]),
        ("intent", 1, ["c-1"]),
        ("result", 1, ["contact:c-1"]),
        # Tasks in batches of their own, never with records.
        ("intent", 2, ["hk-1", "hk-2"]),
        ("result", 2, ["hk-1", "hk-2"]),
        ("intent", 3, ["hk-3"]),
        ("result", 3, ["hk-3"]),
    ]
    # What another connection saw: nothing committed at an intent, all of it at a result.
    assert journal.seen == [
        {"d-ren": "o-hank", "tasks": 0},
        {"d-ren": "o-fran", "tasks": 0},
        {"d-ren": "o-fran", "tasks": 0},
        {"d-ren": "o-fran", "tasks": 0},
        {"d-ren": "o-fran", "tasks": 0},
        {"d-ren": "o-fran", "tasks": 2},
        {"d-ren": "o-fran", "tasks": 2},
        {"d-ren": "o-fran", "tasks": 3},
    ]
    assert result.conflicts == {"deal:d-exp": "o-gail"}
    assert result.applied == ["deal:d-ren", "contact:c-1"]
    assert result.tasks_created == ["hk-1", "hk-2", "hk-3"]


def test_a_record_moved_between_intent_and_commit_is_a_conflict(
    book_path: Path, adapter: LocalAdapter
) -> None:
    class QuickHuman(RecordingJournal):
        def intent(self, batch_no: int, entries: Sequence[RelatedChange | HandoffTask]) -> None:
            super().intent(batch_no, entries)
            sql(self.path, "UPDATE deals SET owner_id = 'o-gail' WHERE id = 'd-ren'")

    result = adapter.apply_related([carry(DEAL, "d-ren")], [], QuickHuman(book_path))
    assert result.conflicts == {"deal:d-ren": "o-gail"}
    assert owner(book_path, "deals", "d-ren") == "o-gail"


# -- book errors --------------------------------------------------------------------


def test_a_book_error_is_one_line_naming_the_book_and_rolls_back_its_batch(
    book_path: Path, adapter: LocalAdapter
) -> None:
    adapter.batch_size = 2
    # The third record's write fails inside the second batch's transaction.
    sql(
        book_path,
        "CREATE TRIGGER refuse BEFORE UPDATE ON contacts WHEN NEW.id = 'c-2' "
        "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END",
    )
    changes = [carry(DEAL, "d-ren"), carry(DEAL, "d-exp"), carry(CONTACT, "c-1")]
    changes.append(carry(CONTACT, "c-2"))
    with pytest.raises(BookError) as caught:
        adapter.apply_related(changes, [], RecordingJournal(book_path))
    message = str(caught.value)
    assert str(book_path.resolve()) in message and "disk on fire" in message
    assert "\n" not in message
    # The first batch stays written; nothing of the second is.
    assert owner(book_path, "deals", "d-ren") == "o-fran"
    assert owner(book_path, "contacts", "c-1") == "o-hank"
    # Without a journal everything is one transaction: nothing written at all.
    sql(book_path, "UPDATE deals SET owner_id = 'o-hank'")
    with pytest.raises(BookError):
        adapter.apply_related(changes, [handoff_task("hk-1")])
    assert owner(book_path, "deals", "d-ren") == "o-hank"
    assert handoff_rows(book_path) == []


# -- older books, import and the health gate ----------------------------------------

# The tasks table as roleSync wrote it before handoff tasks: no body, no rolesync_key.
OLD_TASKS = """
DROP TABLE tasks;
CREATE TABLE tasks (id TEXT PRIMARY KEY, account_id TEXT, owner_id TEXT,
  subject TEXT NOT NULL DEFAULT '', closed INTEGER NOT NULL DEFAULT 0, due TEXT);
CREATE INDEX tasks_by_account ON tasks (account_id);
CREATE INDEX tasks_by_owner ON tasks (owner_id);
INSERT INTO tasks VALUES ('t-open', 'a-1', 'o-hank', 'QBR', 0, '2026-07-01');
"""


def columns(path: Path) -> list[str]:
    return [str(row[1]) for row in sql(path, "PRAGMA table_info(tasks)")]


def test_an_old_tasks_table_is_upgraded_when_writing_and_still_pulled(
    book_path: Path, adapter: LocalAdapter
) -> None:
    conn = sqlite3.connect(book_path)
    conn.executescript(OLD_TASKS)
    conn.close()
    before = adapter.pull()
    assert list(before.tasks) == ["t-open"]
    assert "rolesync_key" not in columns(book_path)  # pulling never writes
    # Moving records only does not touch the schema either.
    adapter.apply_related([carry(TASK, "t-open")], [])
    assert "rolesync_key" not in columns(book_path)
    result = adapter.apply_related([], [handoff_task("hk-1")], RecordingJournal(book_path))
    assert result.tasks_created == ["hk-1"]
    assert columns(book_path)[-2:] == ["body", "rolesync_key"]
    assert sql(book_path, "PRAGMA user_version") == [(1,)]
    unique = sql(book_path, "SELECT sql FROM sqlite_master WHERE name = 'tasks_by_key'")
    assert unique and "UNIQUE" in str(unique[0][0])
    book = adapter.pull()
    assert book.tasks["t-open"] == Task("t-open", "a-1", "o-fran", "QBR", False, date(2026, 7, 1))
    assert book.tasks[task_row_id("hk-1")].subject == "Take over a-1"
    assert adapter.apply_related([], [handoff_task("hk-1")]).tasks_existing == ["hk-1"]


def test_a_book_without_a_tasks_table_gets_one_for_its_handoff_tasks(
    book_path: Path, adapter: LocalAdapter
) -> None:
    sql(book_path, "DROP TABLE tasks")
    result = adapter.apply_related([], [handoff_task("hk-1")])
    assert result.tasks_created == ["hk-1"]
    assert [row[0] for row in handoff_rows(book_path)] == ["hk-1"]


TASKS_CSV = """\
Id,WhatId,OwnerId,Subject,Status,ActivityDate
00TA,001A,005A,QBR,Not Started,2026-07-01
00TB,001A,005A,Kickoff,Completed,2026-05-01
"""
OWNERS_CSV = """\
Id,Name,Email,Title,IsActive
005A,Hank Hunter,hank@example.com,Account Executive,true
005B,Fran Farmer,fran@example.com,Account Manager,
"""
ACCOUNTS_CSV = """\
Id,Name,OwnerId,Type,Segment__c,Region__c,Tier__c,Do_Not_Route__c,CreatedDate,LastModifiedDate,Industry
001A,Acme,005B,Customer - Direct,Enterprise,EMEA,1,false,2024-01-02,2024-02-01,SaaS
"""


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    path = tmp_path / "crm.yaml"
    shutil.copy(EXAMPLE, path)
    return load_profile(path)


def csv_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_leaves_the_new_columns_blank_and_health_accepts_handoff_tasks(
    profile: Profile, tmp_path: Path
) -> None:
    tasks_csv = csv_file(tmp_path, "tasks.csv", TASKS_CSV)
    import_csv(
        profile,
        csv_file(tmp_path, "owners.csv", OWNERS_CSV),
        csv_file(tmp_path, "accounts.csv", ACCOUNTS_CSV),
        None,
        tasks=tasks_csv,
    )
    path = profile.book_path
    assert sql(path, "SELECT id, body, rolesync_key FROM tasks ORDER BY id") == [
        ("00TA", "", None),
        ("00TB", "", None),
    ]
    with LocalAdapter(profile) as local:
        created = local.apply_related(
            [], [handoff_task("hk-1", account="001A", owner="005B")]
        ).tasks_created
    assert created == ["hk-1"]
    # Importing the same tasks again (an upsert by id) keeps the handoff task and its key.
    report = import_csv(profile, None, None, None, tasks=tasks_csv)
    assert (report.tasks.inserted, report.tasks.updated) == (0, 2)
    assert [row[:4] for row in handoff_rows(path)] == [
        ("hk-1", task_row_id("hk-1"), "001A", "005B")
    ]
    # The health gate finds nothing wrong with the rows roleSync created.
    assert [f for f in scan(profile).findings if f.rows == "tasks"] == []


# -- kill -9 in each crash window ---------------------------------------------------

# A process writing two carried deals (batch 0) and two handoff tasks (batch 1) with a
# journal that lands each line on disk before returning, as the state store does.
CHILD = """
import os, sys
from datetime import date
from pathlib import Path
from roleSync.adapters.local import BATCH_DELAY_ENV, LocalAdapter
from roleSync.plan.types import HandoffTask, RelatedChange, RelatedObject, TaskFor
from roleSync.profile import Profile

class FileJournal:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8")
    def line(self, text):
        self.file.write(text + "\\n")
        self.file.flush()
        os.fsync(self.file.fileno())
    def intent(self, batch_no, entries):
        self.line(f"intent {batch_no}")
    def result(self, batch_no, result):
        self.line(f"result {batch_no}")

deal = RelatedObject.DEAL
changes = [RelatedChange(deal, d, "a-1", "o-hank", "o-fran", "carried") for d in ("d-ren", "d-exp")]
tasks = [
    HandoffTask(k, "a-1", "o-fran", "Take over", "", date(2026, 7, 7), TaskFor.NEW_OWNER)
    for k in ("hk-1", "hk-2")
]
with LocalAdapter(Profile.for_local_book(Path(sys.argv[1]))) as local:
    local.batch_size = 2
    local.apply_related(changes, tasks, FileJournal(sys.argv[2]))
"""


def book_is_locked(path: Path) -> bool:
    """Whether another process holds the book's write lock (is inside a transaction)."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


def wait_for(condition: Callable[[], bool], child: subprocess.Popen[bytes]) -> None:
    while not condition():
        assert child.poll() is None, "the writer ended before the crash window"
        time.sleep(0.002)


def written(path: Path, batch_no: int) -> bool:
    if batch_no == 0:
        return owner(path, "deals", "d-ren") == "o-fran"
    return len(handoff_rows(path)) == 2


@pytest.mark.parametrize("batch_no", [0, 1])
@pytest.mark.parametrize("window", ["after-intent", "in-transaction", "committed"])
def test_kill_9_in_each_crash_window_loses_and_duplicates_nothing(
    book_path: Path, tmp_path: Path, batch_no: int, window: str
) -> None:
    log = tmp_path / "journal.log"
    log.touch()
    # 500 ms per crash window: wide enough to land a kill in each, never asserted on.
    env = {**os.environ, BATCH_DELAY_ENV: "1500"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(book_path), str(log)], env=env, stderr=subprocess.PIPE
    )
    try:
        wait_for(lambda: f"intent {batch_no}" in log.read_text(), child)
        if window != "after-intent":
            wait_for(lambda: book_is_locked(book_path), child)
        if window == "committed":
            wait_for(lambda: not book_is_locked(book_path), child)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    # Where it died: the batch is written only if its transaction committed, and its
    # result never reached the journal.
    assert f"result {batch_no}" not in log.read_text()
    assert written(book_path, batch_no) == (window == "committed")
    # The next attempt finishes: every record at its target, each task once.
    with LocalAdapter(Profile.for_local_book(book_path)) as local:
        result = local.apply_related(
            [carry(DEAL, "d-ren"), carry(DEAL, "d-exp")],
            [handoff_task("hk-1"), handoff_task("hk-2")],
            RecordingJournal(book_path),
        )
    assert len(result.applied) + len(result.already_applied) == 2
    assert sorted(result.tasks_created + result.tasks_existing) == ["hk-1", "hk-2"]
    assert (owner(book_path, "deals", "d-ren"), owner(book_path, "deals", "d-exp")) == (
        "o-fran",
        "o-fran",
    )
    keys = sql(book_path, "SELECT rolesync_key, count(*) FROM tasks GROUP BY rolesync_key")
    assert keys == [(None, 2), ("hk-1", 1), ("hk-2", 1)]
