"""Requests to write what handoffs carry to Salesforce: N carried records and T handoff
tasks through `SalesforceAdapter.apply_related`, counted by the loopback emulator.

Run: python benchmarks/related_writes_salesforce.py [--records 200 1000 5000] [--tasks 100]

For each N, on its own fresh emulator seeded identically (2,500 accounts, 50 users,
8,000 opportunities, 6,000 contacts, 4,000 tasks; same seed, so same ids and owners):
the adapter pulls (contacts and open tasks switched on), every account in id order is
handed to another active owner, and the first N records its handoff would carry (open
deals, contacts, open tasks not already owned by the new owner) are written together
with T handoff tasks (one per account, for its new owner). Twice per N: with
`bulk_threshold` above N (sObject Collections only) and with the profile's default
(2,000: a type with more records goes as one Bulk API 2.0 job).

Printed per run: the emulator's write requests (owner-update collections PATCHes,
task-create collections POSTs, Bulk 2.0 job calls), beside ceil(N/200) and
ceil(T/200), the compare-and-set reads (collections retrieves, task-key queries) and the
rest (user refresh, catch-up pull). Every run must end with every record at its target
and every task created once; the script exits 1 otherwise.
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
from datetime import date
from pathlib import Path
from typing import Any

from roleSync.adapters.resilience import RetryPolicy
from roleSync.adapters.salesforce import SalesforceAdapter
from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceEmulatorConfig
from roleSync.model import Book
from roleSync.plan.types import HandoffTask, RelatedChange, RelatedObject, TaskFor
from roleSync.profile import Profile

SEED = dict(users=50, accounts=2500, opportunities=8000, contacts=6000, tasks=4000, seed=1)
AS_OF = date(2026, 6, 30)
SOBJECT = {
    RelatedObject.DEAL: "Opportunity",
    RelatedObject.CONTACT: "Contact",
    RelatedObject.TASK: "Task",
}


@dataclass(slots=True)
class Run:
    records: int
    tasks: int
    way: str
    kinds: Counter[str]
    seconds: float

    @property
    def writes(self) -> int:
        return self.kinds["write_requests"]

    @property
    def reads(self) -> int:
        return self.kinds["collections_retrieve"] + self.kinds["key_queries"]

    @property
    def other(self) -> int:
        return self.kinds["api_requests"] - self.writes - self.reads


def adapter_for(emu: SalesforceEmulator, folder: Path, bulk_threshold: int) -> SalesforceAdapter:
    data: dict[str, Any] = {
        "version": 1,
        "kind": "salesforce",
        "name": "related-writes",
        "salesforce": {
            "instance_url": emu.url,
            "ca_bundle": str(emu.ca_path),
            "auth": {"method": "access_token", "token_url": f"{emu.url}/services/oauth2/token"},
            "bulk_threshold": bulk_threshold,
            "pull": {"contacts": True, "tasks": True},
        },
        "metrics": {"write": False},
    }
    profile = Profile.model_validate(data).with_base_dir(folder)
    policy = RetryPolicy(max_attempts=6, sleep=lambda seconds: None, rng=random.Random(7))
    env = {"SF_ACCESS_TOKEN": emu.config.access_token}
    return SalesforceAdapter(profile, env=env, policy=policy, bulk_poll_seconds=0.05)


def new_owner(book: Book, account_id: str) -> str:
    account = book.accounts[account_id]
    active = sorted(o.id for o in book.owners.values() if o.active and o.id != account.owner_id)
    return active[sum(map(ord, account_id)) % len(active)]


def carried(book: Book, count: int) -> list[RelatedChange]:
    changes: list[RelatedChange] = []
    for account_id in sorted(book.accounts):
        target = new_owner(book, account_id)
        deals = [d for d in book.deals_by_account.get(account_id, ()) if not d.closed]
        records = [(RelatedObject.DEAL, d.id, d.owner_id) for d in deals]
        records += [
            (RelatedObject.CONTACT, c.id, c.owner_id)
            for c in book.contacts_by_account.get(account_id, ())
        ]
        records += [(RelatedObject.TASK, t.id, t.owner_id) for t in book.open_tasks(account_id)]
        changes += [
            RelatedChange(kind, record_id, account_id, owner, target, "benchmark")
            for kind, record_id, owner in records
            if owner != target
        ]
        if len(changes) >= count:
            return changes[:count]
    raise SystemExit(f"only {len(changes)} carriable records for {count}")


def handoff_tasks(book: Book, count: int) -> list[HandoffTask]:
    return [
        HandoffTask(
            key=f"bench:{account_id}:{new_owner(book, account_id)}:2026-06-30:new_owner",
            account_id=account_id,
            owner_id=new_owner(book, account_id),
            subject="Say hello to the customer",
            body="The account is yours now.",
            due_date=date(2026, 7, 14),
            for_owner=TaskFor.NEW_OWNER,
        )
        for account_id in sorted(book.accounts)[:count]
    ]


def measure(records: int, tasks: int, bulk: bool) -> Run:
    config = SalesforceEmulatorConfig(daily_limit=1_000_000, log_size=20_000)
    threshold = 2000 if bulk else records + 1
    way = "default (bulk above 2,000 a type)" if bulk else "sObject Collections only"
    with SalesforceEmulator(config) as emu, tempfile.TemporaryDirectory() as folder:
        emu.seed(**SEED, as_of=AS_OF)
        adapter = adapter_for(emu, Path(folder), threshold)
        book = adapter.pull()
        changes = carried(book, records)
        planned = handoff_tasks(book, tasks)
        emu.reset_counters()
        started = time.perf_counter()
        result = adapter.apply_related(changes, planned)
        seconds = time.perf_counter() - started
        adapter.close()
        kinds = Counter(emu.counters)
        kinds["key_queries"] = sum(1 for e in emu.log if e.soql and "RoleSync_Key__c IN" in e.soql)
        problems = []
        if len(result.applied) != records or len(result.tasks_created) != tasks:
            problems.append(f"applied {len(result.applied)}, created {len(result.tasks_created)}")
        for change in changes:
            found = emu.store.get(SOBJECT[change.object], change.record_id)
            if found is None or found["OwnerId"] != change.to_owner_id:
                problems.append(f"{change.record_id} not at its target")
        keys = Counter(str(t["RoleSync_Key__c"]) for t in emu.store.all("Task"))
        if any(keys[t.key] != 1 for t in planned):
            problems.append("a task missing or created twice")
        if problems or emu.internal_errors:
            errors = list(emu.internal_errors)[:1]
            print(f"N={records} {way}: {problems[:3]} {errors}", file=sys.stderr)
            raise SystemExit(1)
    return Run(records, tasks, way, kinds, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, nargs="+", default=[200, 1000, 5000])
    parser.add_argument("--tasks", type=int, default=100)
    args = parser.parse_args(argv)
    print(
        "| N records | T tasks | way | write requests | owner PATCHes | task POSTs | bulk calls "
        "| ceil(N/200) + ceil(T/200) | reads | other | total | time |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for records in args.records:
        for bulk in (False, True):
            run = measure(records, args.tasks, bulk)
            k = run.kinds
            bulk_calls = sum(v for name, v in k.items() if name.startswith("bulk_"))
            floor = math.ceil(records / 200) + math.ceil(args.tasks / 200)
            print(
                f"| {records:,} | {args.tasks} | {run.way} | {run.writes} "
                f"| {k['collections_patch']} | {k['collections_create']} | {bulk_calls} "
                f"| {floor} | {run.reads} | {run.other} | {k['api_requests']} "
                f"| {run.seconds:.2f} s |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
