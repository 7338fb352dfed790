"""kill -9 during an apply that carries records and creates handoff tasks, against the
HubSpot emulator: `rolesync apply` of 150 company moves, the open deals, contacts and
open tasks of those companies, and a handoff task for each new owner, in a child
process killed with SIGKILL at 12 points spread over the whole apply (the company
batches, the carried-record batches and the task batches), re-run until done.

The emulator counts API writes per record and holds every task created, so "nothing
written twice" means no company, deal, contact or task was written twice and each
handoff task exists exactly once, not only that the audit log says so.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from hs_adapter_support import adapter_for, changes_for, env_for

from builders import rules_for_any_move
from hs_portal import AS_OF, relaxed
from roleSync.emulators.hubspot import HubSpotEmulator
from roleSync.model import Book
from roleSync.plan import PLAN_FORMAT, OwnershipChange, Plan
from roleSync.plan.types import HandoffTask, RelatedChange, RelatedObject, TaskFor
from roleSync.sync.store import StateStore

KILLS = 12
ACCOUNTS = 150
DUE = date(2026, 7, 3)
KINDS = {"company": "companies", "deal": "deals", "contact": "contacts", "task": "tasks"}


@pytest.fixture
def emu() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator(relaxed()) as running:
        running.seed(
            owners=12, companies=400, deals=900, contacts=700, tasks=700, seed=21, as_of=AS_OF
        )
        yield running
        assert not running.internal_errors, running.internal_errors[0]


def _profile(emu: HubSpotEmulator, folder: Path) -> Path:
    data = {
        "version": 1,
        "kind": "hubspot",
        "name": "hs-kill",
        "hubspot": {
            "host": emu.url,
            "auth": {"method": "private_app", "access_token_env": "HUBSPOT_ACCESS_TOKEN"},
            "rate_limit": {"burst": 10_000, "search_per_second": 1000},
            "batch_size": 25,
            "pull": {"contacts": True, "tasks": True},
        },
        "metrics": {"write": False},
        "guardrails": {"max_changes": 100_000, "max_share": 1},
    }
    path = folder / "hubspot.yaml"
    path.write_text(json.dumps(data, indent=2))
    return path


def _carried(book: Book, changes: list[OwnershipChange]) -> list[RelatedChange]:
    """Every open deal, contact and open task of the moved companies not already with
    the new owner, carried to it."""
    related: list[RelatedChange] = []
    for change in changes:
        records: list[tuple[RelatedObject, str, str | None]] = []
        records += [
            (RelatedObject.DEAL, d.id, d.owner_id)
            for d in book.deals_by_account.get(change.account_id, ())
            if not d.closed
        ]
        records += [
            (RelatedObject.CONTACT, c.id, c.owner_id)
            for c in book.contacts_by_account.get(change.account_id, ())
        ]
        records += [
            (RelatedObject.TASK, t.id, t.owner_id) for t in book.open_tasks(change.account_id)
        ]
        related += [
            RelatedChange(kind, rid, change.account_id, owner, change.to_owner_id, "carried")
            for kind, rid, owner in records
            if owner != change.to_owner_id
        ]
    return related


def _tasks(changes: list[OwnershipChange]) -> list[HandoffTask]:
    return [
        HandoffTask(
            f"rs-kill-{c.account_id}",
            c.account_id,
            c.to_owner_id,
            f"Welcome {c.account_name}",
            "Say hello.",
            DUE,
            TaskFor.NEW_OWNER,
        )
        for c in changes
    ]


def test_kill_9_during_an_apply_with_carried_records_and_tasks_loses_and_repeats_nothing(
    emu: HubSpotEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = _profile(emu, tmp_path)
    book = adapter_for(emu, tmp_path / "scratch", pull={"contacts": True, "tasks": True}).pull()
    changes = changes_for(book, ACCOUNTS)
    related = _carried(book, changes)
    tasks = _tasks(changes)
    kinds = Counter(r.object.value for r in related)
    assert min(kinds[k] for k in ("deal", "contact", "task")) >= 50, kinds
    rules, digest = rules_for_any_move(tmp_path / "rules", changes)
    plan = Plan(PLAN_FORMAT, "hs-kill", date(2026, 6, 30), 365, digest, [], changes, [], [],
                summary={"accounts": len(book.accounts)}, related_changes=related,
                task_creates=tasks)  # fmt: skip
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(plan.to_json())
    env = {**os.environ, **env_for(emu)}
    command = [sys.executable, "-m", "roleSync", "apply", str(plan_file), "-c", str(profile)]
    command += ["-r", str(rules), "--log-format", "json"]

    records = [("company", c.account_id) for c in changes]
    records += [(r.object.value, r.record_id) for r in related]
    store = emu.store
    created_before = {str(t["hs_object_id"]) for t in store.all("tasks")}

    def new_tasks() -> list[dict[str, str | None]]:
        return [t for t in store.all("tasks") if str(t["hs_object_id"]) not in created_before]

    def written() -> int:
        counts = store.api_writes
        return sum(counts[(KINDS[k], i)] for k, i in records) + len(new_tasks())

    total = len(records) + len(tasks)
    rng = random.Random(14)
    # One kill point in each twelfth of the apply's writes: companies, carried records
    # and tasks all get their share of kills.
    targets = [
        rng.randint(n * total // KILLS + 1, (n + 1) * total // KILLS - 1) for n in range(KILLS)
    ]
    kills, phases, started = 0, Counter[str](), time.monotonic()
    for planned in targets:
        # A kill lands up to 20 ms after its point: a run that wrote past the next point
        # meanwhile is killed a little later instead of not at all (a point skipped cost
        # a kill whenever the writes got faster, not when anything was lost).
        target = max(planned, written() + 1)
        if target > total:
            continue
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        while written() < target and proc.poll() is None:
            time.sleep(0.001)
        time.sleep(rng.uniform(0.0, 0.02))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        if proc.returncode == -signal.SIGKILL:
            kills += 1
            at = written()
            phases[
                "companies" if at < len(changes) else "records" if at < len(records) else "tasks"
            ] += 1
    final = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert final.returncode == 0, final.stderr
    elapsed = time.monotonic() - started

    counts = store.api_writes
    twice = [(k, i) for k, i in records if counts[(KINDS[k], i)] > 1]
    unwritten = [(k, i) for k, i in records if counts[(KINDS[k], i)] == 0]
    made = Counter(str(t.get("rolesync_key")) for t in new_tasks())
    with StateStore.open(tmp_path / ".rolesync" / "state.db") as state:
        # Each re-run first finishes the killed run, then applies the plan again as a
        # run of its own, which finds everything done: only the first run wrote.
        run, *later = reversed(state.runs("hs-kill"))
        audit = Counter(a.result for a in state.audit(run.id))
        related_audit = Counter((r.object, r.result) for r in state.related_audit(run.id))
        again = Counter(a.result for r in later for a in state.audit(r.id))
        again.update(a.result for r in later for a in state.related_audit(r.id))
        unfinished = [r.id for r in later if r.status != "ok"]
    figures = (
        f"kill -9 against the HubSpot emulator with carried records and tasks: runs killed "
        f"{kills} ({dict(phases)}), companies {len(changes)}, carried records {len(related)} "
        f"({dict(kinds)}), tasks {len(tasks)}; records written twice {len(twice)}, never "
        f"written {len(unwritten)}, tasks created {sum(made.values())} for {len(made)} keys; "
        f"{elapsed:.1f} s"
    )
    with capsys.disabled():
        print(f"\n{figures}")
    assert kills >= 10, figures
    assert phases["records"] >= 1 and phases["tasks"] >= 1, figures
    assert twice == [] and unwritten == [], figures
    assert made == Counter({t.key: 1 for t in tasks}), figures
    assert audit == Counter({"applied": len(changes)}), figures
    assert related_audit == Counter(
        {**{(k, "applied"): n for k, n in kinds.items()}, ("handoff-task", "created"): len(tasks)}
    ), figures
    assert run.status == "ok" and not unfinished, figures
    assert set(again) <= {"already-applied", "already-created"}, again
    for change in related[::20]:
        found = store.get(KINDS[change.object.value], change.record_id)
        assert found is not None and found["hubspot_owner_id"] == change.to_owner_id
    for task in new_tasks()[::20]:
        company = store.associated("tasks", str(task["hs_object_id"]), "companies")
        assert company and f"rs-kill-{company[0]}" == task["rolesync_key"]
