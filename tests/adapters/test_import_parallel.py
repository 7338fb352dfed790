"""A large file read by a second process gives the same book and the same findings as
one read in this process (`parallel_from`: 0 forces the second process, None forbids it)."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from roleSync.adapters.csv_rows import MAX_PER_CODE
from roleSync.adapters.import_worker import worth_a_process
from roleSync.adapters.local_import import ImportReport, import_csv
from roleSync.errors import InputError
from roleSync.profile import Profile, load_profile

EXAMPLE = Path(__file__).resolve().parents[2] / "connectors" / "local.example.yaml"
OWNERS = "Id,Name,Email,Title,IsActive\n005A,Hank,hank@example.com,AE,true\n005B,Fran,,,\n"
ACCOUNT_HEADER = (
    "Id,Name,OwnerId,Type,Segment__c,Region__c,Tier__c,Do_Not_Route__c,CreatedDate,"
    "LastModifiedDate,Industry\n"
)
DEAL_HEADER = "Id,AccountId,OwnerId,Type,StageName,IsClosed,IsWon,Amount,CreatedDate,CloseDate\n"

pytestmark = pytest.mark.skipif(
    not worth_a_process(), reason="no fork or one core: no second process"
)


def profile_in(folder: Path) -> Profile:
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "crm.yaml")
    return load_profile(folder / "crm.yaml")


def files(tmp_path: Path, bad: bool) -> dict[str, Path]:
    """Thousands of rows (several of the child's batches); with `bad`, errors spread over
    the file, more of one code than are listed, and repeated ids."""
    accounts = [ACCOUNT_HEADER]
    for n in range(3_000):
        locked = "maybe" if bad and n % 700 == 5 else "false"
        accounts.append(f"A{n},Acct {n},005A,Customer,SMB,EMEA,1,{locked},2024-01-02,,Retail\n")
    deals = [DEAL_HEADER]
    for n in range(9_000):
        amount = '"1,000"' if bad and n % 20 == 3 else f"{n * 1.01:.2f}"
        deal_id = "D7" if bad and n % 2_500 == 9 else f"D{n}"
        won = "true" if bad and n == 44 else "false"
        deals.append(f"{deal_id},A{n % 3_000},005B,,Prospecting,false,{won},{amount},2025-01-10,\n")
    if bad:
        deals.append("short,row\n")
    written = {"owners": OWNERS, "accounts": "".join(accounts), "deals": "".join(deals)}
    for name, text in written.items():
        (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
    return {name: tmp_path / f"{name}.csv" for name in written}


def run(profile: Profile, paths: dict[str, Path], parallel_from: int | None) -> ImportReport:
    return import_csv(
        profile, paths["owners"], paths["accounts"], paths["deals"], parallel_from=parallel_from
    )


def dump(book: Path) -> list[str]:
    with closing(sqlite3.connect(book)) as conn:
        return list(conn.iterdump())


def test_a_first_import_and_a_reimport_give_the_same_book(tmp_path: Path) -> None:
    paths = files(tmp_path, bad=False)
    serial, parallel = profile_in(tmp_path / "serial"), profile_in(tmp_path / "parallel")
    reports = [run(serial, paths, None), run(parallel, paths, 0)]
    assert reports[0].deals.inserted == 9_000
    assert str(reports[0]).split(": ", 1)[1] == str(reports[1]).split(": ", 1)[1]
    assert dump(serial.book_path) == dump(parallel.book_path)
    # Again, into the books just made: the merge path.
    reports = [run(serial, paths, None), run(parallel, paths, 0)]
    assert reports[1].deals.updated == 9_000
    assert dump(serial.book_path) == dump(parallel.book_path)


def test_a_bad_file_gives_the_same_findings_and_writes_nothing(tmp_path: Path) -> None:
    paths = files(tmp_path, bad=True)
    found = []
    for folder, parallel_from in (("serial", None), ("parallel", 0)):
        profile = profile_in(tmp_path / folder)
        with pytest.raises(InputError) as caught:
            run(profile, paths, parallel_from)
        found.append([str(d) for d in caught.value.diagnostics])
        assert not profile.book_path.exists()
        assert not list(profile.book_path.parent.glob("*.import"))  # no staging file left
    assert found[0] == found[1]
    messages = "\n".join(found[1])
    assert messages.count("[csv-duplicate-id]") == 4  # D7: line 9, then 4 more
    assert "a won deal must be closed" in messages
    assert "row has 2 cells" in messages
    assert "'maybe' is not a boolean" in messages
    assert "more [csv-invalid-value] findings like the ones above" in messages
    assert len(found[1]) > MAX_PER_CODE
