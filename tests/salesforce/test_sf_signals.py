"""Issue 13's interruption loop against the Salesforce emulator: `rolesync apply` of 2,000
ownership changes in a child process, stopped 24 times at random points while it writes,
each time by SIGTERM or by kill -9 (seeded: the same signals and targets every run),
then run to the end. Every planned change must be in the audit log as applied exactly
once, and every record written exactly once (the emulator counts writes per record).

A SIGTERM'd child finishes its batch in flight and must exit 143 with the `interrupted`
event last; a killed one just dies. Kill points as in test_sf_kill9.py: after 1 to 25
records written since the child started, then a pause of up to 10 ms (requests of 25
records). The supply of changes is about three times what 24 interruptions use, so the
loop never runs out of writes to interrupt. The local-book signal tests are
tests/sync/test_signals.py.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sf_helpers import writes_of
from sf_interrupted import interrupted_apply, org_of

from roleSync.emulators.salesforce import SalesforceEmulator
from roleSync.sync.store import StateStore

INTERRUPTIONS = 24
CHANGES = 2000


@pytest.fixture
def org() -> Iterator[SalesforceEmulator]:
    with org_of(accounts=2200, opportunities=100, seed=13) as emu:
        yield emu


def test_sigterm_and_kill_9_at_random_points_leave_every_change_audited_once(
    org: SalesforceEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup = interrupted_apply(org, tmp_path, CHANGES)
    command, env, ids, written = setup.command, setup.env, setup.ids, setup.written

    def status_of(run_id: str) -> str:
        with StateStore.open(setup.state) as store:
            run = store.run(run_id)
        assert run is not None
        return run.status

    rng = random.Random(13)
    stopped: Counter[str] = Counter()
    started = time.monotonic()
    while sum(stopped.values()) < INTERRUPTIONS and written() < CHANGES:
        how = rng.choice((signal.SIGTERM, signal.SIGKILL))
        proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
        )
        target = written() + rng.randint(1, 25)
        while written() < target and proc.poll() is None:
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.01))
        proc.send_signal(how)
        _, err = proc.communicate(timeout=60)
        assert "Traceback" not in err, err
        if proc.returncode == 0:
            continue  # it had finished before the signal
        if how == signal.SIGKILL:
            assert proc.returncode == -signal.SIGKILL, err
            stopped["kill -9"] += 1
            continue
        assert proc.returncode == 143, err
        last = json.loads(err.splitlines()[-1])
        assert (last["event"], last["signal"], last["exit_code"]) == ("interrupted", "SIGTERM", 143)
        if last["run_id"] is not None:
            assert status_of(last["run_id"]) == "interrupted", last
        stopped["SIGTERM"] += 1
    before_final = written()  # how much of the supply the interruptions used
    final = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert final.returncode == 0, final.stderr
    elapsed = time.monotonic() - started

    writes = writes_of(org)
    with StateStore.open(setup.state) as store:
        runs = store.runs("acme-sales")
        first = runs[-1]
        applied = Counter(
            a.account_id for run in runs for a in store.audit(run.id) if a.result == "applied"
        )
        first_audit = Counter(a.account_id for a in store.audit(first.id))
    lost = len(set(ids) - applied.keys())
    duplicated = sum(n - 1 for n in applied.values()) + sum(max(0, writes[i] - 1) for i in ids)
    figures = (
        f"SIGTERM and kill -9 against the Salesforce emulator: stopped {stopped['SIGTERM']} "
        f"times by SIGTERM and {stopped['kill -9']} by kill -9 during apply, changes planned "
        f"{CHANGES} ({before_final} written before the last run), applied "
        f"{sum(applied.values())}, lost {lost}, duplicated {duplicated}; {elapsed:.1f} s"
    )
    with capsys.disabled():
        print(f"\n{figures}")
    assert sum(stopped.values()) >= 20 and min(stopped.values()) >= 5, figures
    assert (lost, duplicated) == (0, 0), figures
    assert applied == Counter(ids) and first_audit == Counter(ids), figures
    assert all(writes[i] == 1 for i in ids)
    assert first.status == "ok" and all(r.status == "ok" for r in runs), figures
    for change in setup.changes[::50]:
        assert org.store.get("Account", change.account_id)["OwnerId"] == change.to_owner_id  # type: ignore[index]
