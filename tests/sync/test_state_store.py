"""The state store: schema versions and migrations, rotation.json moving in, runs and
audit rows written by a sync, and `rolesync runs` / `rolesync runs show`."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from pathlib import Path

import pytest
from sync_helpers import AS_OF, make_fixture

from roleSync.cli import main
from roleSync.profile import load_profile
from roleSync.sync.migrations import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version
from roleSync.sync.state_open import open_state
from roleSync.sync.store import RunRow, StateError, StateStore


def test_a_new_store_has_every_migration_applied(tmp_path: Path) -> None:
    with StateStore.open(tmp_path / "s" / "state.db") as store:
        assert store.runs() == []
    con = sqlite3.connect(tmp_path / "s" / "state.db")
    assert schema_version(con) == SCHEMA_VERSION == len(MIGRATIONS)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "journal", "audit", "rotation", "meta"} <= tables
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_store_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    StateStore.open(path).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(StateError, match="newer than this roleSync understands"):
        StateStore.open(path)
    con = sqlite3.connect(path)
    assert schema_version(con) == SCHEMA_VERSION + 1


def test_migrations_run_in_order_once_and_a_failing_one_changes_nothing(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    steps = [["CREATE TABLE a (x)"], ["CREATE TABLE b (x)", "INSERT INTO b VALUES (1)"]]
    assert migrate(con, steps[:1]) == 0
    assert migrate(con, steps) == 1  # only the new one runs
    assert migrate(con, steps) == 2  # nothing left to do
    assert con.execute("SELECT count(*) FROM b").fetchone()[0] == 1
    broken = [*steps, ["CREATE TABLE c (x)", "THIS IS NOT SQL"]]
    with pytest.raises(sqlite3.OperationalError):
        migrate(con, broken)
    assert schema_version(con) == 2
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    assert "c" not in names  # the half-done migration was rolled back with its version


def test_rotation_json_moves_into_the_store_once(tmp_path: Path) -> None:
    fixture = make_fixture(tmp_path)
    profile = load_profile(fixture.profile)
    profile.state_path.mkdir(parents=True)
    legacy = profile.state_path / "rotation.json"
    legacy.write_text(json.dumps({"farmers": "f-2"}))
    with open_state(profile) as store:
        assert store.rotation("test") == {"farmers": "f-2"}
    assert not legacy.exists()
    assert (profile.state_path / "rotation.json.imported").exists()
    # A stray file appearing again (an old roleSync ran) is not imported a second time.
    legacy.write_text(json.dumps({"farmers": "f-0"}))
    with open_state(profile) as store:
        assert store.rotation("test") == {"farmers": "f-2"}


def test_round_robin_continues_from_the_migrated_position(tmp_path: Path) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=2)
    profile = load_profile(fixture.profile)
    profile.state_path.mkdir(parents=True)
    (profile.state_path / "rotation.json").write_text(json.dumps({"farmers": "f-1"}))
    assert main(fixture.cli("sync")) == 0
    owners = fixture.owners()
    assert [owners["a-0-00000"], owners["a-0-00001"]] == ["f-2", "f-3"]
    assert fixture.query("SELECT route_id, owner_id FROM rotation") == [("farmers", "f-3")]


def test_a_sync_records_its_run_and_an_audit_row_per_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=4)
    assert main(fixture.cli("sync")) == 0
    ((run_id, mode, status, planned, applied, digest, plan_path),) = fixture.query(
        "SELECT id, mode, status, planned, applied, rules_digest, plan_path FROM runs"
    )
    assert (mode, status, planned, applied) == ("sync", "ok", 4, 4)
    assert digest.startswith("sha256:") and Path(plan_path).is_file()
    audit = fixture.query(
        "SELECT account_id, from_owner, to_owner, rule_id, rules_digest, result, reason, at "
        "FROM audit WHERE run_id = ? ORDER BY account_id",
        run_id,
    )
    owners = fixture.owners()
    assert [(a[0], a[1], a[3], a[4], a[5]) for a in audit] == [
        (f"a-0-{n:05d}", "h-0", "farmers", digest, "applied") for n in range(4)
    ]
    assert all(owners[a[0]] == a[2] and "first new business won" in a[6] and a[7] for a in audit)

    capsys.readouterr()
    assert main(["runs", "-c", str(fixture.profile)]) == 0
    listing = capsys.readouterr().out
    assert run_id in listing and " ok " in listing
    assert main(["runs", "show", run_id, "-c", str(fixture.profile)]) == 0
    shown = capsys.readouterr().out
    assert f"run {run_id} (sync, profile test): ok" in shown
    assert "planned 4, applied 4, already applied 0, conflicts 0, failed 0" in shown
    assert main(["runs", "-c", str(fixture.profile), "show", run_id, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["applied"] == 4 and len(data["changes"]) == 4


def test_runs_show_lists_conflicts_and_an_unknown_run_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=3)
    plan = tmp_path / "plan.json"
    assert main(["plan", *fixture.cli("sync")[1:], "-o", str(plan)]) == 0
    fixture.reassign("h-0", "a-0-00001")  # no-op for the owner...
    fixture.reassign("f-3", "a-0-00002")  # ...but this one a human moved after the plan
    assert main([*fixture.cli("apply"), str(plan)]) == 0
    ((run_id,),) = fixture.query("SELECT id FROM runs")
    capsys.readouterr()
    assert main(["runs", "show", run_id, "-c", str(fixture.profile)]) == 0
    shown = capsys.readouterr().out
    assert "conflicts (1): changed in the CRM after the plan, left alone" in shown
    assert "a-0-00002  planned h-0 -> " in shown and "found f-3" in shown
    assert main(["runs", "show", "nope", "-c", str(fixture.profile)]) == 2
    assert "no run 'nope'" in capsys.readouterr().err


def test_runs_without_a_store_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = make_fixture(tmp_path)
    assert main(["runs", "-c", str(fixture.profile)]) == 0
    assert "no runs recorded yet" in capsys.readouterr().out
    assert not fixture.state.exists()
    assert AS_OF.year == 2026


def test_a_dead_runs_draft_store_is_swept_and_a_live_one_kept(tmp_path: Path) -> None:
    """A run killed while creating a new store leaves its draft behind; the next run
    that creates the store deletes it, but never a draft another run is making now."""
    folder = tmp_path / "state"
    folder.mkdir()
    dead = folder / ".state.db.dead0000.new"
    dead.write_bytes(b"half made")
    (folder / ".state.db.dead0000.new-wal").write_bytes(b"wal")
    live = folder / ".state.db.live0000.new"
    live.write_bytes(b"being made")
    handle = os.open(live, os.O_RDWR)
    fcntl.flock(handle, fcntl.LOCK_EX)  # what a run creating the store holds
    try:
        with StateStore.open(folder / "state.db") as store:
            assert store.runs("any") == []
    finally:
        os.close(handle)
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == [live.name]
    assert live.read_bytes() == b"being made"


def test_runs_of_one_second_list_in_the_order_they_began(tmp_path: Path) -> None:
    # Ids of one second differ only by a random suffix: "zzz" began first, "aaa" after.
    with StateStore.open(tmp_path / "state.db") as store:
        for run_id in ("20260630T090000Z-zzzzzz", "20260630T090000Z-aaaaaa"):
            store.begin_run(RunRow(run_id, "p", "sync", "2026-06-30T09:00:00+00:00", "applying"))
        assert [r.id for r in store.runs("p")] == [
            "20260630T090000Z-aaaaaa",
            "20260630T090000Z-zzzzzz",
        ]
        assert [r.id for r in store.unfinished_runs("p")] == [
            "20260630T090000Z-zzzzzz",
            "20260630T090000Z-aaaaaa",
        ]
