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
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sf_helpers import adapter_for, changes_for, new_emulator, writes_of

from builders import rules_for_any_move
from roleSync.emulators.salesforce import SalesforceEmulator
from roleSync.plan import PLAN_FORMAT, Plan
from roleSync.sync.store import StateStore

ROOT = Path(__file__).resolve().parents[2]
KILLS = 12
CHANGES = 2200


@pytest.fixture
def org() -> Iterator[SalesforceEmulator]:
    emu = new_emulator()
    emu.seed(users=20, accounts=2400, opportunities=200, seed=11)
    with emu:
        yield emu


def _profile(folder: Path) -> Path:
    text = (ROOT / "connectors" / "salesforce.example.yaml").read_text()
    text = text.replace("  bulk_threshold: 2000 ", "  bulk_threshold: 1000000 ")
    text = text.replace("  batch_size: 200 ", "  batch_size: 25 ")
    text += "\nguardrails: {max_changes: 100000, max_share: 1}\n"
    path = folder / "salesforce.yaml"
    path.write_text(text)
    return path


def test_kill_9_while_writing_to_salesforce_loses_and_duplicates_nothing(
    org: SalesforceEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = _profile(tmp_path)
    book = adapter_for(org, tmp_path / "scratch").pull()
    changes = changes_for(book, CHANGES)
    rules, digest = rules_for_any_move(tmp_path / "rules", changes)
    plan = Plan(PLAN_FORMAT, "acme-sales", date(2026, 6, 30), 365, digest, [], changes,
                [], [], summary={"accounts": len(book.accounts)})  # fmt: skip
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(plan.to_json())
    env = {
        **os.environ,
        "SF_ACCESS_TOKEN": org.config.access_token,
        "SF_INSTANCE_URL": org.url,
        "SF_CA_BUNDLE": str(org.ca_path),
    }
    command = [sys.executable, "-m", "roleSync", "apply", str(plan_file), "-c", str(profile)]
    command += ["-r", str(rules)]
    command += ["--log-format", "json"]
    ids = [c.account_id for c in changes]

    def written() -> int:
        counts = writes_of(org)
        return sum(counts[i] for i in ids)

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
