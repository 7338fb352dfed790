"""`rolesync import --contacts --tasks`: the records that belong to an account, through
the same checked, positioned, all-or-nothing import as owners, accounts and deals."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from roleSync.adapters.local import LocalAdapter
from roleSync.adapters.local_import import EntityCounts, import_csv
from roleSync.cli import main
from roleSync.errors import InputError
from roleSync.model import Book, Contact, Task
from roleSync.profile import Profile, load_profile

EXAMPLE = Path(__file__).resolve().parents[2] / "connectors" / "local.example.yaml"

OWNERS_CSV = """\
Id,Name,Email,Title,IsActive
005A,Hank Hunter,hank@example.com,Account Executive,true
005B,Fran Farmer,fran@example.com,Account Manager,
"""
ACCOUNTS_CSV = """\
Id,Name,OwnerId,Type,Segment__c,Region__c,Tier__c,Do_Not_Route__c,CreatedDate,LastModifiedDate,Industry
001A,Acme,005A,Customer - Direct,Enterprise,EMEA,1,false,2024-01-02,2024-02-01,SaaS
001B,Globex,005B,Prospect,SMB,NA,,,,,
"""
CONTACTS_CSV = """\
Id,AccountId,OwnerId,Name,Email
003A,001A,005A,Ann Acme,ann@acme.example
003B,001A,,Bo Blank,bo@acme.example
003C,,005B,No Company,
"""
TASKS_CSV = """\
Id,WhatId,OwnerId,Subject,Status,ActivityDate
00TA,001A,005A,QBR,Not Started,2026-07-01
00TB,001A,005A,Kickoff,Completed,2026-05-01
00TC,001B,005B,Call back,,
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


def base_book(profile: Profile, tmp_path: Path) -> None:
    import_csv(
        profile,
        csv_file(tmp_path, "owners.csv", OWNERS_CSV),
        csv_file(tmp_path, "accounts.csv", ACCOUNTS_CSV),
        None,
    )


def pull(profile: Profile) -> Book:
    with LocalAdapter(profile) as adapter:
        return adapter.pull()


def related_errors(profile: Profile, contacts: Path | None, tasks: Path | None) -> list[str]:
    with pytest.raises(InputError) as caught:
        import_csv(profile, None, None, None, contacts=contacts, tasks=tasks)
    return [str(d) for d in caught.value.diagnostics]


def test_contacts_and_tasks_import_into_the_book(profile: Profile, tmp_path: Path) -> None:
    base_book(profile, tmp_path)
    report = import_csv(
        profile,
        None,
        None,
        None,
        contacts=csv_file(tmp_path, "contacts.csv", CONTACTS_CSV),
        tasks=csv_file(tmp_path, "tasks.csv", TASKS_CSV),
    )
    assert (report.contacts, report.tasks) == (EntityCounts(3, 0), EntityCounts(3, 0))
    assert str(report).endswith("; contacts: 3 inserted, 0 updated; tasks: 3 inserted, 0 updated")
    book = pull(profile)
    assert book.contacts == {
        "003A": Contact("003A", "001A", "005A", "Ann Acme", "ann@acme.example"),
        "003B": Contact("003B", "001A", None, "Bo Blank", "bo@acme.example"),
        "003C": Contact("003C", None, "005B", "No Company", ""),
    }
    assert book.tasks == {
        "00TA": Task("00TA", "001A", "005A", "QBR", False, date(2026, 7, 1)),
        "00TB": Task("00TB", "001A", "005A", "Kickoff", True, date(2026, 5, 1)),
        "00TC": Task("00TC", "001B", "005B", "Call back", False, None),
    }
    assert [t.id for t in book.open_tasks("001A")] == ["00TA"]
    # Re-import upserts by id.
    again = import_csv(
        profile,
        None,
        None,
        None,
        contacts=csv_file(
            tmp_path, "c2.csv", "Id,AccountId,OwnerId,Name,Email\n003B,001B,005B,Bo,\n"
        ),
    )
    assert again.contacts == EntityCounts(0, 1)
    assert pull(profile).contacts["003B"] == Contact("003B", "001B", "005B", "Bo", "")


def test_bad_contacts_and_tasks_files_report_every_problem_and_write_nothing(
    profile: Profile, tmp_path: Path
) -> None:
    base_book(profile, tmp_path)
    before = profile.book_path.read_bytes()
    contacts = csv_file(
        tmp_path,
        "contacts.csv",
        "Id,AccountId,OwnerId,Name,Email\n"
        "003A,001A,005A,Ann,\n"
        ",001A,005A,No Id,\n"
        "003A,001B,005B,Again,\n"
        "003D,001A,005A\n",
    )
    tasks = csv_file(
        tmp_path,
        "tasks.csv",
        "Id,WhatId,OwnerId,Subject,Status,ActivityDate\n"
        "00TA,001A,005A,QBR,Maybe,2026-07-01\n"
        "00TB,001A,005A,Call,Open,31/02/2026\n",
    )
    errors = related_errors(profile, contacts, tasks)
    assert errors == [
        f"{contacts}:3:1: error: Id: blank value; this field is required [csv-invalid-value]",
        f"{contacts}:4:1: error: duplicate id '003A' (first on line 2) [csv-duplicate-id]",
        f"{contacts}:5:4: error: row has 3 cells; the header has 5 [csv-row-length]",
        f"{tasks}:2:5: error: Status: 'Maybe' is not a task status (open, not started, in "
        "progress, waiting, deferred; closed, completed, done; or true/false, yes/no, 1/0) "
        "[csv-invalid-value]",
        f"{tasks}:3:6: error: ActivityDate: '31/02/2026' is not an ISO date or date-time "
        "(2026-03-31 or 2026-03-31T09:30:00Z) [csv-invalid-value]",
    ]
    assert profile.book_path.read_bytes() == before


def test_a_missing_column_is_reported_on_the_header(profile: Profile, tmp_path: Path) -> None:
    tasks = csv_file(tmp_path, "tasks.csv", "Id,OwnerId,Subject,Status,ActivityDate\n00TA,,,,\n")
    assert related_errors(profile, None, tasks) == [
        f"{tasks}:1:1: error: no column 'WhatId' (import.tasks.account in the profile) "
        "[csv-missing-column]"
    ]
    assert not profile.book_path.exists()


def test_owners_by_name_and_contact_names_from_two_columns(tmp_path: Path) -> None:
    path = tmp_path / "crm.yaml"
    path.write_text(
        "version: 1\nkind: local\nname: crm\nimport:\n"
        "  contacts: {id: ID, account: Company, owner: Owner, owner_by: name,"
        " name: [First, Last], email: null}\n",
        encoding="utf-8",
    )
    profile = load_profile(path)
    csv_file(tmp_path, "o.csv", "id,name,email,title,active\nu1,Hank Hunter,h@x.example,,\n")
    import_csv(profile, tmp_path / "o.csv", None, None)
    contacts = csv_file(
        tmp_path,
        "c.csv",
        "ID,Company,Owner,First,Last\nc1,a1,hank  hunter,Ann,Acme\nc2,a1,Hank Huntr,Bo,\n",
    )
    errors = related_errors(profile, contacts, None)
    assert errors == [
        f"{contacts}:3:3: error: Owner: no owner has a full name 'Hank Huntr' (in the owners "
        "file or the book); did you mean 'Hank Hunter'? [import-owner-unknown]"
    ]
    contacts.write_text("ID,Company,Owner,First,Last\nc1,a1,hank  hunter,Ann,Acme\n")
    # The account is not in the book: the health gate's business, not the reader's.
    import_csv(profile, None, None, None, contacts=contacts)
    assert pull(profile).contacts["c1"] == Contact("c1", "a1", "u1", "Ann Acme", "")


def test_importing_into_a_book_written_before_contacts_existed(
    profile: Profile, tmp_path: Path
) -> None:
    base_book(profile, tmp_path)
    conn = sqlite3.connect(profile.book_path)
    conn.executescript("DROP TABLE contacts; DROP TABLE tasks;")
    conn.close()
    assert pull(profile).contacts == {}  # still opens and pulls
    import_csv(profile, None, None, None, contacts=csv_file(tmp_path, "c.csv", CONTACTS_CSV))
    book = pull(profile)
    assert len(book.contacts) == 3
    assert list(book.accounts) == ["001A", "001B"]  # nothing else of the book changed


def test_the_import_command_takes_contacts_and_tasks(
    profile: Profile, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base_book(profile, tmp_path)
    contacts = csv_file(tmp_path, "contacts.csv", CONTACTS_CSV)
    tasks = csv_file(tmp_path, "tasks.csv", TASKS_CSV)
    code = main(
        ["import", "-c", str(profile.source_path), "--contacts", str(contacts),
         "--tasks", str(tasks)]
    )  # fmt: skip
    assert code == 0
    assert (
        "contacts: 3 inserted, 0 updated; tasks: 3 inserted, 0 updated" in capsys.readouterr().out
    )


def test_a_second_reading_process_gives_the_same_contacts_and_findings(
    profile: Profile, tmp_path: Path
) -> None:
    base_book(profile, tmp_path)
    contacts = csv_file(tmp_path, "contacts.csv", CONTACTS_CSV)
    tasks = csv_file(tmp_path, "tasks.csv", TASKS_CSV + "00TD,001A,005A,Bad,Maybe,\n")
    with pytest.raises(InputError) as caught:
        import_csv(profile, None, None, None, contacts=contacts, tasks=tasks, parallel_from=1)
    assert [str(d) for d in caught.value.diagnostics] == [
        f"{tasks}:5:5: error: Status: 'Maybe' is not a task status (open, not started, in "
        "progress, waiting, deferred; closed, completed, done; or true/false, yes/no, 1/0) "
        "[csv-invalid-value]"
    ]
    tasks.write_text(TASKS_CSV, encoding="utf-8")
    import_csv(profile, None, None, None, contacts=contacts, tasks=tasks, parallel_from=1)
    book = pull(profile)
    assert (len(book.contacts), len(book.tasks)) == (3, 3)
