"""Corrupt files (issue 13): a book, mirror or state store that exists but is empty,
truncated, garbled, foreign or locked is one line naming the file and the cause, exit 1,
and the file is left as it was: never taken for a new one, never a traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sync_helpers import Fixture, make_fixture

from roleSync.adapters import local_store
from roleSync.adapters.local_store import BookError
from roleSync.adapters.mirror import Mirror
from roleSync.cli import main
from roleSync.profile import Profile

RESTORE_STATE = "restore it from a backup, or move it aside to start over on purpose"


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("rolesync: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def moved_accounts(fixture: Fixture) -> int:
    """Hunter accounts (a-*) handed to a farmer (f-*)."""
    owners = fixture.owners().items()
    return sum(1 for a, owner in owners if a.startswith("a-") and (owner or "").startswith("f-"))


@pytest.fixture
def synced(tmp_path: Path) -> Fixture:
    """A profile with one sync in its history, and its book put back as it was before,
    so that another sync has changes to write."""
    fixture = make_fixture(tmp_path / "f", hunters=1, accounts_per_hunter=4, farmers=2)
    before = fixture.book.read_bytes()
    assert main(fixture.cli("sync")) == 0
    fixture.book.write_bytes(before)
    return fixture


# -- the book ----------------------------------------------------------------------


def test_a_zero_byte_book_is_refused_and_left_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path)
    fixture.book.write_bytes(b"")
    assert main(fixture.cli("sync")) == 1
    assert one_error_line(capsys) == (
        f"rolesync: error: {fixture.book} is empty (0 bytes), not a roleSync book; "
        "restore it from a backup, or move it aside and import again"
    )
    assert fixture.book.stat().st_size == 0
    assert fixture.query("SELECT count(*) FROM runs") == [(0,)]  # no run was started


def test_import_into_a_zero_byte_book_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path)
    fixture.book.write_bytes(b"")
    owners = tmp_path / "owners.csv"
    owners.write_text("id,name,email\no-1,Ana,ana@example.com\n")
    assert main(["import", "-c", str(fixture.profile), "--owners", str(owners)]) == 1
    assert f"{fixture.book} is empty (0 bytes)" in one_error_line(capsys)
    assert fixture.book.stat().st_size == 0


def test_a_zero_byte_mirror_is_refused_and_left_empty(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror.db"
    mirror.write_bytes(b"")
    with pytest.raises(BookError, match=r"mirror\.db is empty \(0 bytes\)"):
        Mirror(mirror, Profile.for_local_book(tmp_path / "book.db"), "test")
    assert mirror.stat().st_size == 0


def test_a_garbled_first_page_of_the_book_is_one_line(
    synced: Fixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Bytes 108..115 sit in the first page's b-tree, which holds the schema: SQLite
    # opens the file and fails on the first read (and again when the read ends).
    data = bytearray(synced.book.read_bytes())
    data[108:116] = b"A" * 8
    synced.book.write_bytes(bytes(data))
    argv = ["explain", "-c", str(synced.profile), "-r", str(synced.rules), "h-0"]
    assert main([*argv, "--as-of", "2026-06-30"]) == 1
    line = one_error_line(capsys)
    assert line.startswith(f"rolesync: error: {synced.book} is not a roleSync book: ")
    assert "damaged (truncated or garbled)" in line and "malformed database schema" in line
    assert synced.book.read_bytes() == bytes(data)


def test_text_that_is_not_utf8_in_the_book_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path)
    con = sqlite3.connect(fixture.book)
    with con:
        con.execute("UPDATE deals SET stage = CAST(X'C3FF' AS TEXT) WHERE id = 'd-a-0-00000'")
    con.close()
    before = fixture.owners()
    assert main(fixture.cli("sync")) == 1
    line = one_error_line(capsys)
    assert line.startswith(f"rolesync: error: {fixture.book}: cannot read book: ")
    assert "text that is not UTF-8" in line
    assert fixture.owners() == before


def test_a_truncated_book_says_it_is_damaged(
    synced: Fixture, capsys: pytest.CaptureFixture[str]
) -> None:
    data = synced.book.read_bytes()[:50]
    synced.book.write_bytes(data)
    assert main(synced.cli("sync")) == 1
    line = one_error_line(capsys)
    assert line.startswith(f"rolesync: error: {synced.book} is not a roleSync book: ")
    assert "damaged (truncated or garbled)" in line and "restore it from a backup" in line
    assert synced.book.read_bytes() == data


def test_a_locked_book_says_so_and_names_it(
    synced: Fixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not ten seconds of waiting in a unit test: the wait is not what is tested.
    monkeypatch.setattr(local_store, "BUSY_TIMEOUT", 0.05)
    holder = sqlite3.connect(synced.book, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert main(synced.cli("sync")) == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    line = one_error_line(capsys)
    assert line.startswith(f"rolesync: error: {synced.book}: ")
    assert "locked by another process (database is locked)" in line
    assert "not a roleSync book" not in line


# -- the state store ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["sync", "plan", "runs"])
def test_a_zero_byte_state_store_is_refused_and_left_empty(
    synced: Fixture, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    synced.state.write_bytes(b"")
    owners = synced.owners()
    argv = synced.cli(command)
    if command == "plan":
        argv += ["-r", str(synced.rules), "--as-of", "2026-06-30"]
    assert main(argv) == 1
    assert one_error_line(capsys) == (
        f"rolesync: error: {synced.state} is empty (0 bytes) but should hold this "
        f"profile's run history, audit log and round-robin positions; {RESTORE_STATE} "
        "(the next run then creates a new, empty store)"
    )
    assert synced.state.stat().st_size == 0
    assert synced.owners() == owners


def test_moving_the_empty_store_aside_starts_over_on_purpose(synced: Fixture) -> None:
    synced.state.write_bytes(b"")
    synced.state.rename(synced.state.with_name("state.db.empty"))
    assert main(synced.cli("sync")) == 0
    assert moved_accounts(synced) == 4


@pytest.mark.parametrize(
    ("damage", "cause"),
    [
        ("header", "(file is not a database)"),
        ("truncated", "(database disk image is malformed)"),
    ],
)
def test_a_damaged_state_store_says_how_to_restore_it(
    synced: Fixture, damage: str, cause: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray(synced.state.read_bytes())
    if damage == "header":
        data[:16] = b"garbage garbage "
    else:
        del data[4096 + 100 :]
    synced.state.write_bytes(bytes(data))
    owners = synced.owners()
    assert main(synced.cli("sync")) == 1
    assert one_error_line(capsys) == (
        f"rolesync: error: {synced.state}: the state store is damaged (truncated or "
        f"garbled) {cause}; {RESTORE_STATE} (the next run then creates a new, empty store)"
    )
    assert synced.state.read_bytes() == bytes(data)
    assert synced.owners() == owners


def test_text_that_is_not_utf8_in_the_state_store_is_one_line(
    synced: Fixture, capsys: pytest.CaptureFixture[str]
) -> None:
    con = sqlite3.connect(synced.state)
    with con:
        con.execute("UPDATE runs SET message = CAST(X'C3FF' AS TEXT)")
    con.close()
    assert main(synced.cli("runs")) == 1
    line = one_error_line(capsys)
    assert line.startswith(f"rolesync: error: {synced.state}: the state store is damaged")
    assert "text that is not UTF-8" in line


def test_a_foreign_sqlite_file_is_not_taken_for_a_state_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path)
    foreign = tmp_path / "other.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE things (x)")
    con.close()
    with fixture.profile.open("a") as profile:
        profile.write(f"state: {{path: {foreign}}}\n")
    owners = fixture.owners()
    assert main(fixture.cli("sync")) == 1
    assert one_error_line(capsys).startswith(
        f"rolesync: error: {foreign} is not a roleSync state store (an SQLite file without "
        "its schema); point state.path elsewhere, or restore it from a backup"
    )
    con = sqlite3.connect(foreign)
    assert [r[0] for r in con.execute("SELECT name FROM sqlite_master")] == ["things"]
    con.close()
    assert fixture.owners() == owners
