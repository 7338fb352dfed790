"""`rolesync state migrate` and `rolesync state copy --from SQLITE_STATE` (issue 18, 2)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from sync_helpers import Fixture, make_fixture

import pg_fixtures
from pg_fixtures import PgState
from roleSync.cli import main
from roleSync.sync.migrations import SCHEMA_VERSION
from roleSync.sync.state_copy import TABLES


def history_in_sqlite(folder: Path) -> Fixture:
    """A SQLite store with a sync, its rollback and a round-robin position."""
    fixture = make_fixture(folder, hunters=2, accounts_per_hunter=20)
    assert main(fixture.cli("sync")) == 0
    ((run_id,),) = fixture.query("SELECT id FROM runs")
    assert main(["rollback", run_id, "-c", str(fixture.profile)]) == 0
    return fixture


def to_postgres(fixture: Fixture, state: PgState) -> None:
    text = fixture.profile.read_text()
    fixture.profile.write_text(text + f"state: {{backend: postgresql, schema: {state.schema}}}\n")


def sqlite_digest(path: Path, table: str, key: str) -> tuple[int, str]:
    con = sqlite3.connect(path)
    try:
        columns = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
        rows = con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {key}").fetchall()
    finally:
        con.close()
    sha = hashlib.sha256()
    for row in rows:
        sha.update(json.dumps(list(row), ensure_ascii=False).encode() + b"\n")
    return len(rows), sha.hexdigest()


def test_copy_moves_every_table_and_prints_counts_and_digests(
    tmp_path: Path, pg_state: PgState, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = history_in_sqlite(tmp_path)
    sqlite_file = fixture.state
    capsys.readouterr()
    assert main(["runs", "-c", str(fixture.profile), "--format", "json"]) == 0
    runs_before = json.loads(capsys.readouterr().out)
    assert main(["audit", "h-0", "-c", str(fixture.profile), "--format", "json"]) == 0
    audit_before = capsys.readouterr().out
    to_postgres(fixture, pg_state)

    assert main(["state", "copy", "-c", str(fixture.profile), "--from", str(sqlite_file)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"copied {sqlite_file} into PostgreSQL database ")
    printed = {line.split()[0]: (int(line.split()[1]), line.split()[3]) for line in out[1:]}
    expected = {table: sqlite_digest(sqlite_file, table, key) for table, key in TABLES}
    assert printed == expected
    assert expected["runs"][0] == 2 and expected["audit"][0] == 80

    # The history reads the same from PostgreSQL: runs in the same order, the same audit.
    fixture = replace(fixture, pg=pg_state)
    assert main(["runs", "-c", str(fixture.profile), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == runs_before
    assert main(["audit", "h-0", "-c", str(fixture.profile), "--format", "json"]) == 0
    assert capsys.readouterr().out == audit_before


def test_copy_refuses_a_target_that_is_not_empty_and_keeps_nothing_of_a_failed_copy(
    tmp_path: Path, pg_state: PgState, capsys: pytest.CaptureFixture[str]
) -> None:
    source = history_in_sqlite(tmp_path / "old")
    pg_fixtures.ACTIVE.append(pg_state)
    try:
        target = make_fixture(tmp_path / "new", hunters=1, accounts_per_hunter=2)
    finally:
        pg_fixtures.ACTIVE.remove(pg_state)
    assert main(target.cli("sync")) == 0
    capsys.readouterr()
    copy = ["state", "copy", "-c", str(target.profile), "--from", str(source.state)]
    assert main(copy) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.endswith(
        "not empty (table runs holds 1 rows); state copy only fills an empty store "
        "(copying into one with history would mix two histories)"
    )
    assert target.query("SELECT count(*) FROM runs") == [(1,)]


def test_copy_refuses_a_sqlite_profile_and_a_missing_source(
    tmp_path: Path, pg_state: PgState, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path)
    copy = ["state", "copy", "-c", str(fixture.profile), "--from", str(tmp_path / "none.db")]
    assert main(copy) == 2
    assert "profile test keeps its state in SQLite" in capsys.readouterr().err
    to_postgres(fixture, pg_state)
    assert main(copy) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert (
        line == f"rolesync: error: {tmp_path / 'none.db'}: no SQLite state store there to copy from"
    )


def test_a_copied_store_goes_on_numbering_its_audit_after_the_copied_rows(
    tmp_path: Path, pg_state: PgState
) -> None:
    fixture = make_fixture(tmp_path, hunters=2, accounts_per_hunter=4)
    assert main(fixture.cli("sync")) == 0
    sqlite_file = fixture.state
    ((top,),) = fixture.query("SELECT max(seq) FROM audit")
    to_postgres(fixture, pg_state)
    assert main(["state", "copy", "-c", str(fixture.profile), "--from", str(sqlite_file)]) == 0
    ((run_id,),) = pg_state.query("SELECT id FROM runs")
    # A rollback in PostgreSQL: its audit rows follow the copied ones, none collides.
    assert main(["rollback", run_id, "-c", str(fixture.profile)]) == 0
    rows = pg_state.query("SELECT seq FROM audit WHERE seq > ? ORDER BY seq", top)
    assert [seq for (seq,) in rows] == list(range(top + 1, top + 9))


def test_migrate_creates_then_reports_up_to_date(
    tmp_path: Path, pg_state: PgState, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path)
    to_postgres(fixture, pg_state)
    migrate = ["state", "migrate", "-c", str(fixture.profile)]
    assert main(migrate) == 0
    assert capsys.readouterr().out.endswith(f": created, schema version {SCHEMA_VERSION}\n")
    assert main(migrate) == 0
    assert capsys.readouterr().out.endswith(f": schema version {SCHEMA_VERSION}, up to date\n")
    assert pg_state.query("SELECT version FROM rolesync_schema") == [(SCHEMA_VERSION,)]


def test_migrate_upgrades_an_older_store(
    tmp_path: Path, pg_state: PgState, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store of the previous roleSync (before run_plans) is upgraded in place."""
    from roleSync.profile import load_profile
    from roleSync.sync.migrations import MIGRATIONS
    from roleSync.sync.pg_store import connect, migrate_pg
    from roleSync.sync.state_open import pg_target

    fixture = make_fixture(tmp_path)
    to_postgres(fixture, pg_state)
    target = pg_target(load_profile(fixture.profile))
    with connect(target) as conn:
        assert migrate_pg(conn, target, MIGRATIONS[:-1]) == 0
    assert main(["state", "migrate", "-c", str(fixture.profile)]) == 0
    assert capsys.readouterr().out.endswith(
        f": upgraded from schema version {SCHEMA_VERSION - 1} to {SCHEMA_VERSION}\n"
    )
    assert pg_state.query("SELECT count(*) FROM run_plans") == [(0,)]


def test_a_schema_named_like_a_reserved_word_works(
    tmp_path: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLESYNC_STATE_URL", pg_database)
    state = PgState(pg_database, "order")
    pg_fixtures.ACTIVE.append(state)
    try:
        fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=2)
    finally:
        pg_fixtures.ACTIVE.remove(state)
    assert main(fixture.cli("sync")) == 0
    assert fixture.query("SELECT status FROM runs") == [("ok",)]
