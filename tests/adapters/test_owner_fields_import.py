"""Extra owner fields in the local book (`import.owners.fields`): imported from the owners
CSV, kept in the owners' `fields` column, read back as Owner.fields; a book written
before that column existed still reads, and gains it on the next import that needs it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from roleSync.adapters.local import LocalAdapter
from roleSync.adapters.local_import import import_csv
from roleSync.adapters.local_store import write_book
from roleSync.errors import InputError
from roleSync.model import Book, Owner
from roleSync.profile import Profile

OWNERS_CSV = """\
id,name,email,Sales Regions,Language
o1,Emma,emma@example.com,EMEA;UKI,de
o2,Amos,amos@example.com,AMER,
o3,Finn,finn@example.com,,en
"""


def profile_in(folder: Path, fields: dict[str, str]) -> Profile:
    data = {
        "version": 1,
        "kind": "local",
        "name": "book",
        "import": {"owners": {"title": None, "active": None, "fields": fields}},
    }
    return Profile.model_validate(data).with_base_dir(folder)


def write(folder: Path, text: str) -> Path:
    path = folder / "owners.csv"
    path.write_text(text, encoding="utf-8")
    return path


def pull(profile: Profile) -> Book:
    with LocalAdapter(profile) as adapter:
        return adapter.pull()


def test_owner_fields_are_imported_from_their_columns(tmp_path: Path) -> None:
    profile = profile_in(tmp_path, {"regions": "Sales Regions", "language": "Language"})
    report = import_csv(profile, write(tmp_path, OWNERS_CSV), None, None)
    assert report.owners.inserted == 3
    owners = pull(profile).owners
    # cells as written (trimmed); a list stays one text, split by the territory match
    assert dict(owners["o1"].fields) == {"regions": "EMEA;UKI", "language": "de"}
    assert dict(owners["o2"].fields) == {"regions": "AMER", "language": ""}
    assert dict(owners["o3"].fields) == {"regions": "", "language": "en"}
    # a re-import updates them
    again = "id,name,email,Sales Regions,Language\no2,Amos,amos@example.com,LATAM,es\n"
    import_csv(profile, write(tmp_path, again), None, None)
    assert dict(pull(profile).owners["o2"].fields) == {"regions": "LATAM", "language": "es"}


def test_a_mapped_column_missing_from_the_csv_is_a_positioned_error(tmp_path: Path) -> None:
    profile = profile_in(tmp_path, {"regions": "Regions"})
    owners = write(tmp_path, OWNERS_CSV)
    with pytest.raises(InputError) as caught:
        import_csv(profile, owners, None, None)
    assert [str(d) for d in caught.value.diagnostics] == [
        f"{owners}:1:1: error: no column 'Regions' (import.owners.fields.regions in the "
        "profile) [csv-missing-column]"
    ]


def test_without_owner_fields_owners_have_none(tmp_path: Path) -> None:
    profile = profile_in(tmp_path, {})
    import_csv(profile, write(tmp_path, OWNERS_CSV), None, None)
    assert all(dict(o.fields) == {} for o in pull(profile).owners.values())


def test_write_book_keeps_owner_fields(tmp_path: Path) -> None:
    profile = profile_in(tmp_path, {})
    owner = Owner("o1", "Emma", "emma@example.com", fields={"regions": "EMEA", "seats": 3})
    write_book(profile.book_path, [owner], [], [])
    assert dict(pull(profile).owners["o1"].fields) == {"regions": "EMEA", "seats": 3}


def test_a_book_from_before_owner_fields_reads_and_gains_the_column(tmp_path: Path) -> None:
    profile = profile_in(tmp_path, {"regions": "Sales Regions"})
    write_book(profile.book_path, [Owner("o9", "Old", "old@example.com")], [], [])
    with sqlite3.connect(profile.book_path) as conn:
        conn.execute("ALTER TABLE owners DROP COLUMN fields")  # as an older roleSync wrote it
    assert dict(pull(profile).owners["o9"].fields) == {}
    import_csv(profile, write(tmp_path, OWNERS_CSV), None, None)
    owners = pull(profile).owners
    assert dict(owners["o1"].fields) == {"regions": "EMEA;UKI"}
    assert dict(owners["o9"].fields) == {}  # kept, with the column's default


def test_owner_fields_that_are_not_an_object_are_a_book_error(tmp_path: Path) -> None:
    profile = profile_in(tmp_path, {})
    write_book(profile.book_path, [Owner("o1", "Emma", "emma@example.com")], [], [])
    with sqlite3.connect(profile.book_path) as conn:
        conn.execute("UPDATE owners SET fields = '[1]'")
    with pytest.raises(Exception, match="owner 'o1': fields are not a JSON object"):
        pull(profile)
