"""Requests to move N carried records and create the handoff tasks, on HubSpot.

Run: python benchmarks/related_writes_hubspot.py [--sizes 200 1000 5000] [--tasks 100]

For each N, against a fresh loopback HubSpot emulator (seeded with N/5 companies, 2N
deals, N contacts and N tasks, 50 owners; limits raised so nothing is throttled): the
adapter pulls (contacts and tasks switched on), then `apply_related` moves N carried
records (half contacts, three tenths open deals, a fifth open tasks, each to another
active owner) and creates `--tasks` handoff tasks associated with their companies.
Every request the emulator received is counted by kind; the records and the tasks are
written by two `apply_related` calls so their requests are told apart (each call
refreshes the owners first: "other", 2 requests a call).

Printed beside ceil(N/100) (HubSpot's batch limit: the fewest batch updates N records
can take) and ceil(T/100) for the tasks. Each object type is its own batch endpoint, so
the records take at most one partial batch per object type more than ceil(N/100).
Exits 1 if a record or task was not written, or a task was created twice.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from roleSync.adapters.hubspot import HubSpotAdapter
from roleSync.adapters.resilience import RetryPolicy
from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotEmulatorConfig
from roleSync.plan.types import HandoffTask, RelatedChange, RelatedObject, TaskFor
from roleSync.profile import Profile

RAISED_LIMIT = 1_000_000
BATCH = 100
AS_OF = datetime(2026, 6, 30, tzinfo=UTC)
OBJECT_TYPES = {
    RelatedObject.CONTACT: "contacts",
    RelatedObject.DEAL: "deals",
    RelatedObject.TASK: "tasks",
}
SHARES = {RelatedObject.CONTACT: 0.5, RelatedObject.DEAL: 0.3, RelatedObject.TASK: 0.2}


@dataclass(frozen=True, slots=True)
class Row:
    records: int
    tasks: int
    record_updates: int
    record_reads: int
    task_creates: int
    task_reads: int
    other: int
    writes: int
    total: int
    seconds: float


def adapter_for(emu: HubSpotEmulator, folder: Path) -> HubSpotAdapter:
    data: dict[str, Any] = {
        "version": 1,
        "kind": "hubspot",
        "name": "related-writes",
        "hubspot": {
            "host": emu.url,
            "auth": {"method": "private_app"},
            "rate_limit": {"burst": 10_000, "search_per_second": 1000},
            "pull": {"contacts": True, "tasks": True},
        },
        "metrics": {"write": False},
    }
    profile = Profile.model_validate(data).with_base_dir(folder)
    env = {"HUBSPOT_ACCESS_TOKEN": emu.config.access_token}
    policy = RetryPolicy(max_attempts=6, sleep=lambda seconds: None, rng=random.Random(7))
    return HubSpotAdapter(profile, env=env, policy=policy)


def carried(emu: HubSpotEmulator, kind: RelatedObject, count: int) -> list[RelatedChange]:
    """`count` open records of `kind` with a company, each to another active owner."""
    active = sorted(o.id for o in emu.store.owners())
    object_type = OBJECT_TYPES[kind]
    changes: list[RelatedChange] = []
    for record in emu.store.all(object_type):
        if len(changes) == count:
            break
        if record.get("hs_is_closed") == "true" or record.get("hs_task_status") == "COMPLETED":
            continue
        record_id = str(record["hs_object_id"])
        company = emu.store.associated(object_type, record_id, "companies")
        if not company:
            continue
        owner = record.get("hubspot_owner_id") or None
        n = len(changes)
        target = next(o for o in active[n % len(active) :] + active if o != owner)
        changes.append(RelatedChange(kind, record_id, company[0], owner, target, "bench"))
    if len(changes) < count:
        raise SystemExit(f"only {len(changes)} open {object_type} with a company")
    return changes


def handoff_tasks(emu: HubSpotEmulator, count: int) -> list[HandoffTask]:
    companies = [str(c["hs_object_id"]) for c in emu.store.all("companies")]
    active = sorted(o.id for o in emu.store.owners())
    return [
        HandoffTask(
            key=f"bench:{companies[n % len(companies)]}:{n}",
            account_id=companies[n % len(companies)],
            owner_id=active[n % len(active)],
            subject="You own this account now",
            body="Say hello to the customer.",
            due_date=date(2026, 7, 14),
            for_owner=TaskFor.NEW_OWNER,
        )
        for n in range(count)
    ]


def measure(records: int, tasks: int) -> Row:
    config = HubSpotEmulatorConfig(
        burst_limit=RAISED_LIMIT, daily_limit=RAISED_LIMIT, search_rate_limit=RAISED_LIMIT
    )
    with HubSpotEmulator(config) as emu, tempfile.TemporaryDirectory() as folder:
        emu.seed(
            owners=50,
            companies=max(200, records // 5),
            deals=2 * records,
            contacts=records,
            tasks=records,
            seed=1,
            as_of=AS_OF,
        )
        adapter = adapter_for(emu, Path(folder))
        adapter.pull()
        counts = {k: math.floor(records * share) for k, share in SHARES.items()}
        counts[RelatedObject.CONTACT] += records - sum(counts.values())
        changes = [c for kind, n in counts.items() for c in carried(emu, kind, n)]
        planned = handoff_tasks(emu, tasks)
        emu.reset_counters()
        started = time.perf_counter()
        result = adapter.apply_related(changes, [])
        moved = Counter(emu.counters)
        emu.reset_counters()
        made = adapter.apply_related([], planned)
        seconds = time.perf_counter() - started
        created = Counter(emu.counters)
        adapter.close()
        if emu.internal_errors:
            raise RuntimeError(emu.internal_errors[0])
        keys = Counter(t.get("rolesync_key") for t in emu.store.all("tasks"))
    if len(result.applied) != records or len(made.tasks_created) != tasks:
        raise SystemExit(
            f"N={records}: {len(result.applied)} records moved, {len(made.tasks_created)} "
            f"tasks created; failed: {dict(list(result.failed.items())[:3])} "
            f"{dict(list(made.tasks_failed.items())[:3])}"
        )
    if any(n > 1 for key, n in keys.items() if key):
        raise SystemExit(f"N={records}: a task was created twice")
    types = OBJECT_TYPES.values()
    updates = sum(moved[f"{o}_batch_update"] for o in types)
    record_reads = sum(moved[f"{o}_batch_read"] for o in types)
    creates, task_reads = created["tasks_batch_create"], created["tasks_batch_read"]
    total = moved["api_requests"] + created["api_requests"]
    other = total - updates - record_reads - creates - task_reads
    writes = moved["write_requests"] + created["write_requests"]
    return Row(
        records, tasks, updates, record_reads, creates, task_reads, other, writes, total, seconds
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000, 5000])
    parser.add_argument("--tasks", type=int, default=100)
    args = parser.parse_args(argv)
    header = (
        f"{'N':>6} {'batch updates':>13} {'ceil(N/100)':>11} {'CAS reads':>9} "
        f"{'tasks':>5} {'creates':>7} {'ceil(T/100)':>11} {'key reads':>9} "
        f"{'other':>5} {'writes':>6} {'requests':>8} {'seconds':>7}"
    )
    print(header)
    for size in args.sizes:
        row = measure(size, args.tasks)
        print(
            f"{row.records:>6} {row.record_updates:>13} {math.ceil(row.records / BATCH):>11} "
            f"{row.record_reads:>9} {row.tasks:>5} {row.task_creates:>7} "
            f"{math.ceil(row.tasks / BATCH):>11} {row.task_reads:>9} {row.other:>5} "
            f"{row.writes:>6} {row.total:>8} {row.seconds:>7.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
