"""The kill -9 fault test against the HubSpot emulator: `rolesync apply` of 2,200
ownership changes in a child process, killed with SIGKILL at 12 random points while it
writes, re-run until done. The emulator counts API writes per company, so "none
duplicated" means no company was written twice, not only audited once.

Kill points are chosen by the companies the emulator has written since the child
started (1 to 120, then a random pause of up to 30 ms; batches of 50): right after a
batch was processed but before its answer reached the journal, in the middle of the next
batch, or between batches.
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
from hs_adapter_support import METRIC_FIELDS, adapter_for, changes_for, env_for, portal, writes

from builders import rules_for_any_move
from roleSync.emulators.hubspot import HubSpotEmulator
from roleSync.plan import PLAN_FORMAT, Plan
from roleSync.sync.store import StateStore

KILLS = 12
CHANGES = 2200


@pytest.fixture
def emu() -> Iterator[HubSpotEmulator]:
    with portal(owners=20, companies=2400, deals=200, seed=11) as running:
        yield running


def _profile(emu: HubSpotEmulator, folder: Path) -> Path:
    # JSON is YAML: the profile loader reads it with positions like any profile.
    data = {
        "version": 1,
        "kind": "hubspot",
        "name": "hs-kill",
        "hubspot": {
            "host": emu.url,
            "auth": {"method": "private_app", "access_token_env": "HUBSPOT_ACCESS_TOKEN"},
            "rate_limit": {"burst": 10_000, "search_per_second": 1000},
            "batch_size": 50,
        },
        "metrics": {"fields": dict(METRIC_FIELDS)},
        "guardrails": {"max_changes": 100_000, "max_share": 1},
    }
    path = folder / "hubspot.yaml"
    path.write_text(json.dumps(data, indent=2))
    return path


def test_kill_9_while_writing_to_hubspot_loses_and_duplicates_nothing(
    emu: HubSpotEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = _profile(emu, tmp_path)
    book = adapter_for(emu, tmp_path / "scratch").pull()
    changes = changes_for(book, CHANGES)
    rules, digest = rules_for_any_move(tmp_path / "rules", changes)
    plan = Plan(PLAN_FORMAT, "hs-kill", date(2026, 6, 30), 365, digest, [], changes,
                [], [], summary={"accounts": len(book.accounts)})  # fmt: skip
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(plan.to_json())
    env = {**os.environ, **env_for(emu)}
    command = [sys.executable, "-m", "roleSync", "apply", str(plan_file), "-c", str(profile)]
    command += ["-r", str(rules)]
    command += ["--log-format", "json"]
    ids = [c.account_id for c in changes]

    def written() -> int:
        counts = writes(emu)
        return sum(counts[i] for i in ids)

    rng = random.Random(8)
    kills, started = 0, time.monotonic()
    while kills < KILLS and written() < CHANGES:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        target = written() + rng.randint(1, 120)
        while written() < target and proc.poll() is None:
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.03))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        kills += proc.returncode == -signal.SIGKILL
    final = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert final.returncode == 0, final.stderr
    elapsed = time.monotonic() - started

    counts = writes(emu)
    duplicated = sum(max(0, counts[i] - 1) for i in ids)
    with StateStore.open(tmp_path / ".rolesync" / "state.db") as store:
        runs = store.runs("hs-kill")
        first = runs[-1]
        audit = store.audit(first.id)
    applied = [a.account_id for a in audit if a.result == "applied"]
    conflicts = sum(1 for a in audit if a.result == "conflict")
    lost = len(set(ids) - set(applied))
    figures = (
        f"kill -9 against the HubSpot emulator: runs killed during apply {kills}, "
        f"changes planned {CHANGES}, applied {len(applied)}, lost {lost}, duplicated "
        f"{duplicated} (companies written twice), conflicts {conflicts}; {elapsed:.1f} s"
    )
    with capsys.disabled():
        print(f"\n{figures}")
    assert kills >= 10, figures
    assert (lost, duplicated, conflicts, len(applied)) == (0, 0, 0, CHANGES), figures
    assert first.status == "ok" and first.mode == "apply", figures
    for change in changes[::50]:
        found = emu.store.get("companies", change.account_id)
        assert found is not None and found.get("hubspot_owner_id") == change.to_owner_id
