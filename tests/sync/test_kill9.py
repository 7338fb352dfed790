"""The fault test of issue 6, first bullet: `rolesync sync` of 2,600 ownership changes on
the local book, killed with SIGKILL at 12 random points during apply, re-run until it
is done. Then: final owners equal the plan, every change is in the audit log exactly
once as applied, none lost, none duplicated.

ROLESYNC_TEST_BATCH_DELAY_MS makes each batch of 200 take ~150 ms, spread over its three
crash windows (journaled intent / open book transaction / committed but not yet
journaled), so the random kills land in all of them.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sync_helpers import make_fixture

# The same tests against both state stores (tests/pg_fixtures.py).
pytestmark = pytest.mark.usefixtures("state_backend")

KILLS = 12
BATCH_SECONDS = 0.15


def start_sync(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "roleSync", *args, "--log-format", "json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def events_until_apply(proc: subprocess.Popen[str]) -> list[dict[str, Any]]:
    """Read the child's JSON events until it starts writing (a new run's apply or the
    finishing of an interrupted one), or ends."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        if line.startswith("{"):
            seen.append(json.loads(line))
            if seen[-1]["event"] in ("run-started", "recovering"):
                break
    return seen


def test_kill_9_at_random_points_loses_and_duplicates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], state_backend: str
) -> None:
    fixture = make_fixture(tmp_path, hunters=4, accounts_per_hunter=650, farmers=10)
    env = {**os.environ, "ROLESYNC_TEST_BATCH_DELAY_MS": str(int(BATCH_SECONDS * 1000))}
    rng = random.Random(6)
    killed_in_apply, events = 0, []
    started = time.monotonic()
    for _ in range(3 * KILLS):
        if killed_in_apply == KILLS:
            break
        proc = start_sync(fixture.cli("sync"), env)
        events += events_until_apply(proc)
        time.sleep(rng.uniform(0.0, 1.2 * BATCH_SECONDS))
        proc.send_signal(signal.SIGKILL)
        _, rest = proc.communicate(timeout=30)
        events += [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
        if proc.returncode == -signal.SIGKILL:
            # Killed while the first run (the one with every change) was still open?
            first = fixture.query("SELECT status FROM runs ORDER BY rowid LIMIT 1")
            killed_in_apply += first[0][0] in ("applying", "interrupted")
    # Now let it finish.
    final = subprocess.run(
        [sys.executable, "-m", "roleSync", *fixture.cli("sync"), "--log-format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert final.returncode == 0, final.stderr
    events += [json.loads(line) for line in final.stderr.splitlines() if line.startswith("{")]
    elapsed = time.monotonic() - started

    (first_run, plan_path, status) = fixture.query(
        "SELECT id, plan_path, status FROM runs ORDER BY rowid LIMIT 1"
    )[0]
    changes = json.loads(Path(plan_path).read_text())["changes"]
    owners = fixture.owners()
    applied = dict(
        fixture.query("SELECT account_id, count(*) FROM audit WHERE result = 'applied' GROUP BY 1")
    )
    planned = {c["account_id"] for c in changes}
    lost = len(planned - applied.keys())
    duplicated = sum(n - 1 for n in applied.values())
    conflicts = fixture.query("SELECT count(*) FROM audit WHERE result = 'conflict'")[0][0]
    recoveries = [e for e in events if e["event"] == "recovering"]
    found_applied = sum(e["found_applied"] for e in recoveries)
    figures = (
        f"kill -9 on the local book, {state_backend} state: runs killed during apply "
        f"{killed_in_apply}, "
        f"changes planned {len(changes)}, applied {sum(applied.values())}, lost {lost}, "
        f"duplicated {duplicated}, conflicts {conflicts}; recoveries {len(recoveries)}, "
        f"writes found applied by reconciliation {found_applied}; {elapsed:.1f} s"
    )
    with capsys.disabled():
        print(f"\n{figures}")
    assert killed_in_apply >= 10, figures
    assert len(changes) >= 2000
    assert status == "ok" and len(recoveries) >= killed_in_apply, figures
    assert (lost, duplicated, conflicts) == (0, 0, 0), figures
    assert applied.keys() == planned  # nothing applied that was not planned
    assert all(owners[c["account_id"]] == c["to_owner_id"] for c in changes)
    assert fixture.query("SELECT count(*) FROM audit WHERE run_id = ?", first_run) == [
        (len(changes),)
    ]
    assert fixture.query("SELECT count(*) FROM journal WHERE outcome IS NULL") == [(0,)]
