"""The PostgreSQL state store against a real server (tests/pg_fixtures.py): the run
lock across hosts, the server dropping the connection mid-run, and `rolesync state`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sync_helpers import Fixture, make_fixture

import pg_fixtures
from pg_fixtures import PgState
from roleSync.cli import main


def pg_fixture(folder: Path, state: PgState, **kw: Any) -> Fixture:
    """make_fixture with its profile's state in `state`'s schema."""
    pg_fixtures.ACTIVE.append(state)
    try:
        return make_fixture(folder, **kw)
    finally:
        pg_fixtures.ACTIVE.remove(state)


def start(fixture: Fixture, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "roleSync", *fixture.cli("sync"), "--log-format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for(proc: subprocess.Popen[str], event: str) -> list[dict[str, Any]]:
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        if line.startswith("{"):
            seen.append(json.loads(line))
            if seen[-1]["event"] == event:
                return seen
    raise AssertionError(f"no {event} event: {seen}")


def slow_env(ms: int) -> dict[str, str]:
    return {**os.environ, "ROLESYNC_TEST_BATCH_DELAY_MS": str(ms)}


def test_two_hosts_one_database_one_runs_the_other_exits_4_naming_the_holder(
    tmp_path: Path, pg_state: PgState
) -> None:
    """Two hosts: separate state_dirs (separate folders), one database and schema."""
    first = pg_fixture(tmp_path / "host-a", pg_state, hunters=2, accounts_per_hunter=600)
    second = pg_fixture(tmp_path / "host-b", pg_state, hunters=2, accounts_per_hunter=30)
    before = second.owners()
    holder = start(first, slow_env(1000))  # 6 batches of 200: 6 s, under the lock
    try:
        wait_for(holder, "run-started")
        other = subprocess.run(
            [sys.executable, "-m", "roleSync", *second.cli("sync")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        _, rest = holder.communicate(timeout=120)
    assert other.returncode == 4, other.stderr
    (line,) = other.stderr.splitlines()
    assert line.startswith(f"rolesync: error: another run (pid {holder.pid}, started ")
    database = pg_state.url.rsplit("/")[-1]
    assert f"holds the lock for profile test (PostgreSQL database {database} " in line
    assert f"schema {pg_state.schema}" in line and line.endswith("when it has finished")
    assert holder.returncode == 0, rest
    assert second.owners() == before  # the second host wrote nothing
    assert not (second.folder / ".rolesync" / "runs").exists()
    assert first.query("SELECT count(*), min(status) FROM runs") == [(1, "ok")]


def batches_done(fixture: Fixture) -> int:
    import psycopg

    try:
        return int(fixture.query("SELECT count(*) FROM journal WHERE outcome IS NOT NULL")[0][0])
    except psycopg.errors.UndefinedTable:  # the store is not created yet
        return 0


def terminate_backends_of(state: PgState, pid: int) -> int:
    """What a failover or an administrator does: end the run's server sessions."""
    with state.connect() as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s",
            (f"rolesync {pid} %",),
        ).fetchall()
    return len(rows)


def test_the_server_dropping_the_connection_mid_run_is_one_line_and_the_next_run_finishes(
    tmp_path: Path, pg_state: PgState
) -> None:
    fixture = pg_fixture(tmp_path, pg_state, hunters=2, accounts_per_hunter=300)
    run = subprocess.Popen(
        [sys.executable, "-m", "roleSync", *fixture.cli("sync")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=slow_env(150),
    )
    # Mid-apply: its run row and some journaled batches are in the store.
    deadline = time.monotonic() + 60
    while not batches_done(fixture):
        assert time.monotonic() < deadline and run.poll() is None
        time.sleep(0.05)
    assert terminate_backends_of(pg_state, run.pid) >= 1
    _, err = run.communicate(timeout=60)
    assert run.returncode == 1, err
    lines = [line for line in err.splitlines() if "error" in line]  # not progress
    assert len(lines) == 1, err
    assert lines[0].startswith(
        f"rolesync: error: PostgreSQL database {pg_state.url.rsplit('/')[-1]} on 127.0.0.1:5432"
    )
    assert "lost the connection to the server" in lines[0]
    assert "Traceback" not in err and run.returncode != -signal.SIGKILL

    ((run_id, status),) = fixture.query("SELECT id, status FROM runs")
    assert status == "applying"  # the store could not be told; the next run finishes it
    assert main(fixture.cli("sync")) == 0
    (plan_path,) = fixture.query("SELECT plan_path FROM runs WHERE id = ?", run_id)[0]
    changes = json.loads(Path(plan_path).read_text())["changes"]
    applied = dict(
        fixture.query(
            "SELECT account_id, count(*) FROM audit WHERE run_id = ? AND result = 'applied' "
            "GROUP BY 1",
            run_id,
        )
    )
    assert applied == {c["account_id"]: 1 for c in changes}  # 0 lost, 0 duplicated
    owners = fixture.owners()
    assert all(owners[c["account_id"]] == c["to_owner_id"] for c in changes)
    assert fixture.query("SELECT status FROM runs WHERE id = ?", run_id) == [("ok",)]
    assert fixture.query("SELECT count(*) FROM journal WHERE outcome IS NULL") == [(0,)]


def test_hosts_creating_one_fresh_schema_at_once_all_open_it(pg_state: PgState) -> None:
    """Two syncs of a new profile starting together both create-or-open its schema: the
    one that waits on the migration lock finds a roleSync store, never "another
    product's tables" (it once looked at the schema before taking that lock)."""
    import threading

    from roleSync.sync.pg_store import PgTarget, open_pg
    from roleSync.sync.pg_url import state_url

    url = state_url(pg_fixtures.URL_ENV, os.environ, "p")
    for attempt in range(5):
        target = PgTarget(url, f"{pg_state.schema}_{attempt}", "p")
        failures: list[BaseException] = []
        start_together = threading.Barrier(4)

        def open_one(
            target: PgTarget = target,
            failures: list[BaseException] = failures,
            start_together: threading.Barrier = start_together,
        ) -> None:
            start_together.wait()
            try:
                db = open_pg(target)
                assert db is not None
                db.close()
            except BaseException as exc:  # collected: a thread's failure must fail the test
                failures.append(exc)

        threads = [threading.Thread(target=open_one) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == [], failures
