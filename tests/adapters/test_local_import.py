"""`rolesync import`: CSV files into the local book, all or nothing, every error positioned."""

from __future__ import annotations

import csv
import fcntl
import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from roleSync.adapters.local import LocalAdapter
from roleSync.adapters.local_import import EntityCounts, ImportReport, import_csv
from roleSync.errors import InputError, UsageError
from roleSync.model import Book, DealKind
from roleSync.profile import Profile, load_profile

EXAMPLE = Path(__file__).resolve().parents[2] / "connectors" / "local.example.yaml"

OWNERS_CSV = """\
Id,Name,Email,Title,IsActive
005A,Hank Hunter,hank@example.com,Account Executive,true
005B,Fran Farmer,fran@example.com,Account Manager,
005C,Ivan Idle,ivan@example.com,,FALSE
"""

ACCOUNTS_CSV = """\
Id,Name,OwnerId,Type,Segment__c,Region__c,Tier__c,Do_Not_Route__c,CreatedDate,LastModifiedDate,Industry
001A,Acme,005A,Customer - Direct,Enterprise,EMEA,1,false,2024-01-02T09:30:00.000Z,2024-02-01,SaaS
001B,"Globex, Inc.",005A,Prospect,SMB,NA,,yes,2024-01-03T10:00:00+02:00,,
001C,Initech,,,,,,,,,
"""

DEALS_CSV = """\
Id,AccountId,OwnerId,Type,StageName,IsClosed,IsWon,Amount,CreatedDate,CloseDate
006A,001A,005A,New Customer,Closed Won,true,true,50000,2025-01-10T10:00:00.000+0000,2025-03-01
006B,001A,005B,,Closed Won,1,1,1000.50,2025-05-01,2025-06-01
006C,001B,005A,Existing Customer - Upgrade,Prospecting,0,0,,2026-01-05,
"""


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    """The example profile (Salesforce export headers), its book in tmp_path."""
    path = tmp_path / "crm.yaml"
    shutil.copy(EXAMPLE, path)
    return load_profile(path)


def csv_file(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def import_all(profile: Profile, tmp_path: Path) -> ImportReport:
    return import_csv(
        profile,
        csv_file(tmp_path, "owners.csv", OWNERS_CSV),
        csv_file(tmp_path, "accounts.csv", ACCOUNTS_CSV),
        csv_file(tmp_path, "deals.csv", DEALS_CSV),
    )


def pull(profile: Profile) -> Book:
    with LocalAdapter(profile) as adapter:
        return adapter.pull()


def errors_of(
    profile: Profile,
    owners: Path | None = None,
    accounts: Path | None = None,
    deals: Path | None = None,
) -> list[str]:
    with pytest.raises(InputError) as caught:
        import_csv(profile, owners, accounts, deals)
    return [str(d) for d in caught.value.diagnostics]


def test_good_files_import_into_a_new_book(profile: Profile, tmp_path: Path) -> None:
    report = import_all(profile, tmp_path)
    assert report == ImportReport(
        profile.book_path, EntityCounts(3, 0), EntityCounts(3, 0), EntityCounts(3, 0)
    )
    book = pull(profile)
    hank, fran, ivan = (book.owners[i] for i in ("005A", "005B", "005C"))
    assert (hank.name, hank.email, hank.title, hank.active) == (
        "Hank Hunter",
        "hank@example.com",
        "Account Executive",
        True,
    )
    assert fran.active is True  # blank boolean: the field's default
    assert ivan.active is False
    assert ivan.title == ""

    acme, globex, initech = (book.accounts[i] for i in ("001A", "001B", "001C"))
    assert acme.owner_id == "005A"
    assert acme.lifecycle == "customer"  # "Customer - Direct" through the profile
    assert (acme.segment, acme.region, acme.tier, acme.locked) == ("Enterprise", "EMEA", "1", False)
    assert acme.fields == {"industry": "SaaS"}
    assert acme.created == datetime(2024, 1, 2, 9, 30, tzinfo=UTC)
    assert acme.updated == datetime(2024, 2, 1, tzinfo=UTC)  # a date: midnight UTC
    assert globex.name == "Globex, Inc."
    assert globex.lifecycle == "prospect"
    assert globex.locked is True
    assert globex.created == datetime(2024, 1, 3, 8, 0, tzinfo=UTC)  # +02:00 made UTC
    assert globex.updated is None
    assert (initech.owner_id, initech.lifecycle, initech.locked) == (None, "", False)

    deals = {d.id: d for d in book.deals}
    assert deals["006A"].kind is DealKind.NEW_BUSINESS
    assert deals["006A"].created == date(2025, 1, 10)  # Salesforce's +0000 datetime
    assert deals["006A"].amount == 50_000.0
    assert deals["006B"].kind is DealKind.EXPANSION  # blank: inferred by Book
    assert deals["006B"].amount == 1000.5
    assert (deals["006B"].closed, deals["006B"].won) == (True, True)
    assert deals["006C"].kind is DealKind.EXPANSION  # "Existing Customer - Upgrade"
    assert (deals["006C"].amount, deals["006C"].close_date) == (None, None)
    assert (deals["006C"].closed, deals["006C"].won) == (False, False)


def test_reimport_upserts_by_id(profile: Profile, tmp_path: Path) -> None:
    import_all(profile, tmp_path)
    owners = csv_file(
        tmp_path,
        "owners2.csv",
        "Id,Name,Email,Title,IsActive\n"
        "005B,Fran Farmer,fran@example.com,Team Lead,no\n"
        "005D,Dana Deal,dana@example.com,Account Manager,yes\n",
    )
    report = import_csv(profile, owners, None, None)
    assert report.owners == EntityCounts(inserted=1, updated=1)
    assert report.accounts == EntityCounts() == report.deals
    book = pull(profile)
    assert sorted(book.owners) == ["005A", "005B", "005C", "005D"]
    assert (book.owners["005B"].title, book.owners["005B"].active) == ("Team Lead", False)
    assert len(book.accounts) == 3


def test_a_column_mapped_to_null_keeps_existing_values(tmp_path: Path) -> None:
    base = Profile.for_local_book(tmp_path / "book.db")
    owners = csv_file(
        tmp_path, "o.csv", "id,name,email,title,active\nu1,Ann,ann@example.com,AE,1\n"
    )
    import_csv(base, owners, None, None)
    no_title = base.model_copy(
        update={
            "import_": base.import_.model_copy(
                update={
                    "owners": base.import_.owners.model_copy(update={"title": None, "active": None})
                }
            )
        }
    )
    again = csv_file(
        tmp_path, "o2.csv", "id,name,email\nu1,Ann B,ann@example.com\nu2,Bo,bo@example.com\n"
    )
    report = import_csv(no_title, again, None, None)
    assert report.owners == EntityCounts(inserted=1, updated=1)
    book = pull(base)
    assert (book.owners["u1"].name, book.owners["u1"].title) == ("Ann B", "AE")
    assert (book.owners["u2"].title, book.owners["u2"].active) == ("", True)  # defaults


BAD_DEALS_CSV = (
    "Id,AccountId,OwnerId,Type,StageName,IsClosed,IsWon,Amount,CreatedDate,CloseDate\n"  # 1
    "006A,001A,005A,New Customer,Closed Won,true,true,50000,2025-01-10,2025-03-01\n"  # 2
    '006B,001A,005B,,Closed Won,maybe,1,"1,000",2025-05-01,2025-06-01\n'  # 3
    "006C,001B,005A,,Open,0,0,,2025-13-01,yesterday\n"  # 4
    " ,001B,005A,,Open,0,0,,2025-01-01,\n"  # 5
    "006A,001B,005A,,Open,0,0,12,2025-01-01,\n"  # 6
    '006D,001B,005A,,"Closed\nWon",false,true,12,2025-01-01,2025-02-01\n'  # 7-8
    "006E,001B,005A\n"  # 9
    "\n"  # 10
    "006B,,005A,,Open,0,Y,nan,,\n"  # 11: 006B again, and more
)


def test_a_bad_file_reports_every_error_and_writes_nothing(
    profile: Profile, tmp_path: Path
) -> None:
    import_all(profile, tmp_path)
    before = profile.book_path.read_bytes()
    owners = csv_file(
        tmp_path,
        "more_owners.csv",
        "Id,Name,Email,Title,IsActive\n005Z,Zed,zed@example.com,AE,true\n",
    )
    deals = csv_file(tmp_path, "bad_deals.csv", BAD_DEALS_CSV)
    accounts = csv_file(
        tmp_path,
        "bad_accounts.csv",
        "Id,Name,OwnerId,Type,Segment__c,Tier__c,Do_Not_Route__c,CreatedDate,"
        "LastModifiedDate,Industry,Name\n"
        "001Z,Zeta,005A,Prospect,SMB,2,sometimes,2024-01-01,2024-01-01Z,Retail,"
        "Zeta\n",
    )
    errors = errors_of(profile, owners, accounts, deals)
    a, d = str(accounts), str(deals)
    assert errors == [
        f"{a}:1:1: error: no column 'Region__c' (import.accounts.region in the profile) "
        "[csv-missing-column]",
        f"{a}:1:11: error: column 'Name' appears twice [csv-duplicate-column]",
        f"{a}:2:7: error: Do_Not_Route__c: 'sometimes' is not a boolean (true/false, yes/no, "
        "1/0) [csv-invalid-value]",
        f"{a}:2:9: error: LastModifiedDate: '2024-01-01Z' is not an ISO date or date-time "
        "(2026-03-31 or 2026-03-31T09:30:00Z) [csv-invalid-value]",
        f"{d}:3:6: error: IsClosed: 'maybe' is not a boolean (true/false, yes/no, 1/0) "
        "[csv-invalid-value]",
        f"{d}:3:8: error: Amount: '1,000' is not an amount in the profile's format (digits "
        "and '.' before decimals, e.g. 1234.50) [csv-invalid-value]",
        f"{d}:4:9: error: CreatedDate: '2025-13-01' is not an ISO date or date-time "
        "(2026-03-31 or 2026-03-31T09:30:00Z) [csv-invalid-value]",
        f"{d}:4:10: error: CloseDate: 'yesterday' is not an ISO date or date-time "
        "(2026-03-31 or 2026-03-31T09:30:00Z) [csv-invalid-value]",
        f"{d}:5:1: error: Id: blank value; this field is required [csv-invalid-value]",
        f"{d}:6:1: error: duplicate id '006A' (first on line 2) [csv-duplicate-id]",
        f"{d}:7:7: error: a won deal must be closed [csv-invalid-value]",
        f"{d}:9:4: error: row has 3 cells; the header has 10 [csv-row-length]",
        f"{d}:11:1: error: duplicate id '006B' (first on line 3) [csv-duplicate-id]",
        f"{d}:11:2: error: AccountId: blank value; this field is required [csv-invalid-value]",
        f"{d}:11:7: error: IsWon: 'Y' is not a boolean (true/false, yes/no, 1/0) "
        "[csv-invalid-value]",
        f"{d}:11:8: error: Amount: 'nan' is not an amount in the profile's format (digits "
        "and '.' before decimals, e.g. 1234.50) [csv-invalid-value]",
        f"{d}:11:9: error: CreatedDate: blank value; this field is required [csv-invalid-value]",
    ]
    assert profile.book_path.read_bytes() == before
    assert "005Z" not in pull(profile).owners  # the good file was not written either


def test_a_failed_first_import_creates_no_book(profile: Profile, tmp_path: Path) -> None:
    owners = csv_file(tmp_path, "owners.csv", "Id,Name,Email,Title,IsActive\n005A,A,a@x,,2\n")
    [error] = errors_of(profile, owners)
    assert error.startswith(f"{owners}:2:5: error: IsActive: '2' is not a boolean")
    assert not profile.book_path.exists()


def test_utf8_with_bom_and_crlf_line_ends(profile: Profile, tmp_path: Path) -> None:
    owners = csv_file(
        tmp_path,
        "owners.csv",
        OWNERS_CSV.replace("Hank Hunter", "Hänk Hünter").replace("\n", "\r\n"),
        encoding="utf-8-sig",
    )
    assert owners.read_bytes().startswith(b"\xef\xbb\xbfId,")
    report = import_csv(profile, owners, None, None)
    assert report.owners == EntityCounts(inserted=3)
    assert pull(profile).owners["005A"].name == "Hänk Hünter"


def test_non_utf8_is_a_positioned_diagnostic(profile: Profile, tmp_path: Path) -> None:
    owners = csv_file(
        tmp_path, "owners.csv", OWNERS_CSV.replace("Fran Farmer", "Fran Müller"), encoding="latin-1"
    )
    [error] = errors_of(profile, owners)
    assert error == (
        f"{owners}:3:2: error: not valid UTF-8 (save the file as UTF-8) [csv-not-utf8]"
    )


def test_malformed_quoting_is_a_diagnostic_at_its_cell(profile: Profile, tmp_path: Path) -> None:
    owners = csv_file(
        tmp_path, "owners.csv", 'Id,Name,Email,Title,IsActive\n005A,"Hank" Hunter,h@x,,1\n'
    )
    [error] = errors_of(profile, owners)
    assert error == f"""{owners}:2:2: error: malformed CSV: ',' expected after '"' [csv-syntax]"""


def test_a_quoting_error_in_a_record_of_several_lines_is_on_its_own_line_and_cell(
    profile: Profile, tmp_path: Path
) -> None:
    # The record starts on line 3; its quoted name spans lines 3 to 5, where it goes wrong.
    text = 'Id,Name,Email,Title,IsActive\n005A,A,a@x,,1\n005B,B,"b@x\n\nx" y,,1\n005C,C,c@x,,1\n'
    owners = csv_file(tmp_path, "owners.csv", text)
    [error] = errors_of(profile, owners)
    assert error == f"""{owners}:5:3: error: malformed CSV: ',' expected after '"' [csv-syntax]"""
    assert not profile.book_path.exists()


def test_an_unclosed_quote_is_reported_where_it_opens(profile: Profile, tmp_path: Path) -> None:
    text = 'Id,Name,Email,Title,IsActive\n005A,A,a@x,,1\n005B,B,b@x,"Account\n005C,C,c@x,,1\n'
    owners = csv_file(tmp_path, "owners.csv", text)
    [error] = errors_of(profile, owners)
    assert error == (
        f"{owners}:3:4: error: malformed CSV: unexpected end of data (a quote opened here "
        "is never closed) [csv-syntax]"
    )


def test_a_cell_over_the_size_limit_is_reported_at_its_cell(
    profile: Profile, tmp_path: Path
) -> None:
    huge = "x" * (csv.field_size_limit() + 1)
    text = f"Id,Name,Email,Title,IsActive\n005A,A,a@x,,1\n005B,B,b@x,{huge},1\n"
    owners = csv_file(tmp_path, "owners.csv", text)
    [error] = errors_of(profile, owners)
    assert error.startswith(f"{owners}:3:4: error: malformed CSV: field larger than field limit")


def test_a_nul_byte_is_data_on_its_own_line(profile: Profile, tmp_path: Path) -> None:
    # Python's csv module reads NUL as a character: a finding is positioned where it is.
    text = OWNERS_CSV + "005D,D,d@x,,1\n005E,E,e@x,,\x001\n"
    owners = csv_file(tmp_path, "owners.csv", text)
    [error] = errors_of(profile, owners)
    assert error.startswith(f"{owners}:6:5: error: IsActive: '\\x001' is not a boolean")


def test_empty_and_missing_files(profile: Profile, tmp_path: Path) -> None:
    empty = csv_file(tmp_path, "empty.csv", "")
    missing = tmp_path / "missing.csv"
    errors = errors_of(profile, empty, missing)
    assert errors == [
        f"{empty}:1:1: error: empty file: expected a header line [csv-empty]",
        f"{missing}: error: cannot read file: No such file or directory [file-unreadable]",
    ]


def test_nothing_to_import_is_a_usage_error(profile: Profile) -> None:
    with pytest.raises(UsageError):
        import_csv(profile, None, None, None)


def test_the_import_command_runs_the_book_health_gate_before_it_commits(
    profile: Profile, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`rolesync import` of a deal type the profile does not map: exit 1, the value, its
    count and the profile key to add it under, and the book as it was."""
    from roleSync.cli import main

    args = ["import", "-c", str(tmp_path / "crm.yaml")]
    owners = csv_file(tmp_path, "owners.csv", OWNERS_CSV)
    accounts = csv_file(tmp_path, "accounts.csv", ACCOUNTS_CSV)
    assert main([*args, "--owners", str(owners), "--accounts", str(accounts)]) == 0
    before = profile.book_path.read_bytes()
    renewal = DEALS_CSV.replace("Existing Customer - Upgrade", "Existing Customer - Renewal")
    renewal = renewal.replace(",,Closed Won,1,1", ",Existing Customer - Renewal,Closed Won,1,1")
    deals = csv_file(tmp_path, "deals.csv", renewal)
    capsys.readouterr()
    assert main([*args, "--deals", str(deals)]) == 1
    err = capsys.readouterr().err
    assert 'deal_kinds."Existing Customer - Renewal"' in err
    assert "2 deals" in err and "[unmapped-deal-kind]" in err
    # At the first such deal's Type cell (line 3, column 4), naming the profile key's place.
    assert err.startswith(f"{deals}:3:4: error: deal type 'Existing Customer - Renewal'")
    assert f"the profile key is at {tmp_path / 'crm.yaml'}:" in err
    assert profile.book_path.read_bytes() == before


def test_a_killed_imports_staging_file_is_swept_and_a_running_ones_kept(
    profile: Profile, tmp_path: Path
) -> None:
    """An import killed with -9 leaves its staging file (as large as the book). The next
    import deletes it; the staging file of an import still running (its lock held) stays."""
    folder = profile.book_path.parent
    dead = folder / f".{profile.book_path.name}.dead1234.import"
    dead.write_bytes(b"left by a killed import")
    running = folder / f".{profile.book_path.name}.live5678.import"
    running.write_bytes(b"an import in progress")
    held = os.open(running, os.O_RDWR)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        import_all(profile, tmp_path)
        assert not dead.exists()
        assert running.exists()
    finally:
        os.close(held)
    assert sorted(p.name for p in folder.glob("*.import")) == [running.name]
