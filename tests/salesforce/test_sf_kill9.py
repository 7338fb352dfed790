"""The kill -9 fault test against the Salesforce emulator: `rolesync apply` of 2,200
ownership changes in a child process, killed with SIGKILL at 12 random points while it
writes, re-run until done. The emulator counts every write per record, so "none
duplicated" here means no record was written twice, not only audited once.

Kill points are chosen by the records the emulator has written since the child started
(1 to 60, then a random pause of up to 30 ms; requests of 25 records): right after a
request was processed but before its answer reached the journal, in the middle of the
next request, or between requests.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sf_helpers import writes_of
from sf_interrupted import interrupted_apply, org_of

from roleSync.emulators.salesforce import SalesforceEmulator
from roleSync.sync.store import StateStore

KILLS = 12
CHANGES = 2200


@pytest.fixture
def org() -> Iterator[SalesforceEmulator]:
    with org_of(accounts=2400, opportunities=200, seed=11) as emu:
        yield emu


def test_kill_9_while_writing_to_salesforce_loses_and_duplicates_nothing(
    org: SalesforceEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup = interrupted_apply(org, tmp_path, CHANGES)
    changes, command, env, ids, written = (
        setup.changes, setup.command, setup.env, setup.ids, setup.written
    )  # fmt: skip

    rng = random.Random(8)
    kills, started = 0, time.monotonic()
    while kills < KILLS and written() < CHANGES:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        target = written() + rng.randint(1, 60)
        while written() < target and proc.poll() is None:
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.03))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        kills += proc.returncode == -signal.SIGKILL
    final = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert final.returncode == 0, final.stderr
    elapsed = time.monotonic() - started

    writes = writes_of(org)
    duplicated = sum(max(0, writes[i] - 1) for i in ids)
    with StateStore.open(tmp_path / ".rolesync" / "state.db") as store:
        runs = store.runs("acme-sales")
        first = runs[-1]
        audit = store.audit(first.id)
    applied = [a.account_id for a in audit if a.result == "applied"]
    conflicts = sum(1 for a in audit if a.result == "conflict")
    lost = len(set(ids) - set(applied))
    events = [json.loads(line) for line in final.stderr.splitlines() if line.startswith("{")]
    figures = (
        f"kill -9 against the Salesforce emulator: runs killed during apply {kills}, "
        f"changes planned {CHANGES}, applied {len(applied)}, lost {lost}, duplicated "
        f"{duplicated} (records written twice), conflicts {conflicts}; {elapsed:.1f} s"
    )
    with capsys.disabled():
        print(f"\n{figures}")
    assert kills >= 10, figures
    assert (lost, duplicated, conflicts, len(applied)) == (0, 0, 0, CHANGES), figures
    assert first.status == "ok" and first.mode == "apply", figures
    assert all(writes[i] == 1 for i in ids)
    for change in changes[::50]:
        assert org.store.get("Account", change.account_id)["OwnerId"] == change.to_owner_id  # type: ignore[index]
    assert events[-1]["event"] == "run-finished"
