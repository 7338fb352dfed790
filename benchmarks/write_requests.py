"""Requests per 10,000 ownership changes: roleSync's apply against a naive per-record script.

Run: python benchmarks/write_requests.py [--changes 10000] [--accounts 20000]

For each CRM, against the project's loopback emulators, in one run:

1. roleSync: a fresh emulator is seeded (`--accounts` accounts or companies), the adapter
   pulls it, and `apply` writes `--changes` planned ownership changes (each movable
   account to another active owner, as the adapter scale tests build them). Salesforce
   twice, each on its own fresh org: through sObject Collections (`bulk_threshold` above
   the number of changes) and through Bulk API 2.0 (the profile's default threshold,
   2,000). Every HTTP request the emulator received while `apply` ran is counted.
2. Naive: a fresh emulator seeded identically (same seed: same ids, same owners) and the
   same changes written one record at a time with the same SDK: simple_salesforce
   `sf.Account.update(id, {"OwnerId": ...})` (with `Sforce-Auto-Assign: FALSE`, as
   roleSync sends), hubspot-api-client `basic_api.update(id, SimplePublicObjectInput(...))`.
   Twice: write-only, and with the same safety check roleSync makes (read the record's
   current owner first, write only if it is still the planned "from" owner): 2 requests
   a record.

Every run must end with the same owner on every account of the org (the intended owner
on each changed one); the script says so and exits 1 otherwise.

Requests are split into writes (the emulator's write counter: record and collection
PATCHes, batch updates, every Bulk 2.0 job call), compare-and-set reads (Salesforce
sObject Collections retrieves of up to 2,000 ids, `Id IN (...)` SOQL queries or
single-record GETs; HubSpot
company batch reads or single GETs), and other (owner/user refresh, the /limits/ budget
check if no answer carried the usage yet, the Salesforce catch-up pull of what was
written, OAuth). Seeded orgs have no opportunities/deals: apply never touches them.

The API minimum is what the APIs allow for N changes with writes alone: ceil(N/200)
Collections requests, ceil(N/100) HubSpot batch updates, 3 Bulk 2.0 calls (create the
job, upload one CSV, mark it UploadComplete).

Limits: the emulators' daily limits and HubSpot's burst window are raised for the count
(1,000,000 a day, 1,000,000 per burst window) so no run is throttled: at HubSpot's own
100 requests per 10 s a 10,000-request naive run would take at least 990 s of waiting;
the time each way would need under that limit is printed from its request count.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from hubspot import HubSpot
from hubspot.crm.companies import SimplePublicObjectInput
from simple_salesforce.api import Salesforce, SFType

from roleSync.adapters.hubspot import HubSpotAdapter
from roleSync.adapters.resilience import RetryPolicy
from roleSync.adapters.salesforce import SalesforceAdapter
from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotEmulatorConfig
from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceEmulatorConfig
from roleSync.model import Book
from roleSync.plan import OwnershipChange
from roleSync.profile import Profile

RAISED_LIMIT = 1_000_000
SF_BATCH = 200
HS_BATCH = 100
BULK_MINIMUM = 3  # create the job, upload one CSV (up to 150 MB), mark UploadComplete
SF_VERSION = "62.0"
HS_OWNER = "hubspot_owner_id"
AS_OF = datetime(2026, 6, 30, tzinfo=UTC)
# HubSpot's free-tier burst window: what a run of N requests needs at the least.
HS_BURST, HS_INTERVAL_S = 100, 10.0
_FROM = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)
_ID_IN = re.compile(r"\bFROM\s+Account\s+WHERE\s+Id\s+IN\b", re.IGNORECASE)

Owners = dict[str, str | None]


@dataclass(slots=True)
class Count:
    """The requests of one way of writing the changes, as the emulator received them."""

    crm: str
    way: str
    writes: int = 0
    reads: int = 0  # compare-and-set reads
    other: int = 0
    failed: int = 0  # answers outside 2xx, and records left unwritten (failed, conflicts)
    seconds: float = 0.0
    minimum: int | None = None  # the API's minimum for these changes (writes alone)
    kinds: dict[str, int] = field(default_factory=dict)  # what every request was
    changed: int = 0  # accounts whose owner the run moved to the target
    owners: Owners = field(default_factory=dict, repr=False)  # every account, after

    @property
    def total(self) -> int:
        return self.writes + self.reads + self.other


@dataclass(frozen=True, slots=True)
class Settings:
    changes: int
    accounts: int
    users: int = 50
    opportunities: int = 0
    seed: int = 1


# --- plans ------------------------------------------------------------------------------


def changes_for(book: Book, count: int) -> list[OwnershipChange]:
    """`count` changes of unlocked accounts, each to another active owner (round robin)."""
    active = sorted(o.id for o in book.owners.values() if o.active)
    movable = [a for a in book.accounts.values() if not a.locked][:count]
    if len(movable) < count:
        raise SystemExit(f"only {len(movable)} movable accounts for {count} changes")
    changes = []
    for n, account in enumerate(movable):
        target = next(o for o in active[n % len(active) :] + active if o != account.owner_id)
        changes.append(
            OwnershipChange(account.id, account.name, account.owner_id, target, "bench", "bench")
        )
    return changes


def quiet_policy() -> RetryPolicy:
    """Retries as shipped, minus the real waiting (none is expected with raised limits;
    any retry would still be counted as a request)."""
    return RetryPolicy(max_attempts=6, sleep=lambda seconds: None, rng=random.Random(7))


# --- Salesforce ---------------------------------------------------------------------------


@contextmanager
def sf_org(settings: Settings) -> Iterator[SalesforceEmulator]:
    config = SalesforceEmulatorConfig(
        daily_limit=RAISED_LIMIT, log_size=4 * settings.changes + 1000
    )
    with SalesforceEmulator(config) as emu:
        emu.seed(
            users=settings.users,
            accounts=settings.accounts,
            opportunities=settings.opportunities,
            seed=settings.seed,
            as_of=AS_OF.date(),
        )
        yield emu
        if emu.internal_errors:
            raise RuntimeError(emu.internal_errors[0])


def sf_adapter(emu: SalesforceEmulator, folder: Path, bulk_threshold: int) -> SalesforceAdapter:
    data: dict[str, Any] = {
        "version": 1,
        "kind": "salesforce",
        "name": "write-requests",
        "salesforce": {
            "instance_url": emu.url,
            "ca_bundle": str(emu.ca_path),
            "auth": {"method": "access_token", "token_url": f"{emu.url}/services/oauth2/token"},
            "bulk_threshold": bulk_threshold,
        },
        "metrics": {"write": False},
    }
    profile = Profile.model_validate(data).with_base_dir(folder)
    env = {"SF_ACCESS_TOKEN": emu.config.access_token}
    return SalesforceAdapter(profile, env=env, policy=quiet_policy(), bulk_poll_seconds=0.05)


def sf_owners(emu: SalesforceEmulator) -> Owners:
    return {str(r["Id"]): _text(r.get("OwnerId")) for r in emu.store.all("Account")}


def sf_count(emu: SalesforceEmulator, crm: str, way: str) -> Count:
    """Split what the emulator received since its counters were reset."""
    log = emu.log
    if len(log) != emu.counters["requests"]:
        raise RuntimeError("the emulator's request log overflowed: raise log_size")
    count = Count(crm, way)
    kinds: Counter[str] = Counter()
    for entry in log:
        label = entry.kind
        if entry.soql:
            found = _FROM.search(entry.soql)
            label = f"{entry.kind} {found.group(1) if found else '?'}"
        if entry.kind in {"sobject_get", "collections_retrieve"} or (
            entry.soql and _ID_IN.search(entry.soql)
        ):
            label += " (compare-and-set)" if entry.soql else ""
            count.reads += 1
        elif entry.kind in {"sobject_patch", "collections_patch"} or entry.kind.startswith("bulk_"):
            count.writes += 1
        else:
            count.other += 1
        if entry.status is None or not 200 <= entry.status < 300:
            count.failed += 1
        kinds[label] += 1
    if count.writes != emu.counters["write_requests"]:
        raise RuntimeError("writes counted from the log differ from the emulator's counter")
    count.kinds = dict(sorted(kinds.items()))
    return count


def sf_ours(settings: Settings, bulk: bool) -> tuple[Count, list[OwnershipChange]]:
    way = "roleSync, Bulk API 2.0" if bulk else "roleSync, sObject Collections"
    # Bulk: the profile's default threshold (2,000), or just below a smaller N.
    threshold = min(2000, max(1, settings.changes - 1)) if bulk else settings.changes + 1
    with sf_org(settings) as emu, tempfile.TemporaryDirectory() as folder:
        adapter = sf_adapter(emu, Path(folder), threshold)
        changes = changes_for(adapter.pull(), settings.changes)
        emu.reset_counters()
        started = time.perf_counter()
        result = adapter.apply(changes, [])
        seconds = time.perf_counter() - started
        adapter.close()
        count = sf_count(emu, "Salesforce", way)
        if (count.kinds.get("bulk_create", 0) > 0) != bulk:
            raise RuntimeError(f"{way}: the adapter did not write the way asked")
        count.seconds = seconds
        count.failed += len(result.failed) + len(result.conflicts)
        count.minimum = BULK_MINIMUM if bulk else math.ceil(settings.changes / SF_BATCH)
        count.owners = sf_owners(emu)
    return count, changes


def sf_naive(settings: Settings, changes: Sequence[OwnershipChange], check: bool) -> Count:
    way = "naive, read + update per record" if check else "naive, update per record"
    with sf_org(settings) as emu, requests.Session() as session:
        session.verify, session.trust_env = str(emu.ca_path), False
        sf = Salesforce(
            instance_url=emu.url,
            session_id=emu.config.access_token,
            version=SF_VERSION,
            session=session,
        )
        account = sf.Account
        if not isinstance(account, SFType):  # the SDK's __getattr__ answers a union
            raise TypeError(f"sf.Account is a {type(account).__name__}")
        emu.reset_counters()
        failed = 0
        started = time.perf_counter()
        for change in changes:
            try:
                if check and account.get(change.account_id)["OwnerId"] != change.from_owner_id:
                    failed += 1  # a conflict: somebody moved it since the plan
                    continue
                account.update(
                    change.account_id,
                    {"OwnerId": change.to_owner_id},
                    headers={"Sforce-Auto-Assign": "FALSE"},
                )
            except Exception:  # the SDK's errors: counted, the script goes on
                failed += 1
        seconds = time.perf_counter() - started
        count = sf_count(emu, "Salesforce", way)
        count.seconds, count.failed = seconds, max(count.failed, failed)
        count.owners = sf_owners(emu)
    return count


# --- HubSpot ------------------------------------------------------------------------------


@contextmanager
def hs_portal(settings: Settings) -> Iterator[HubSpotEmulator]:
    config = HubSpotEmulatorConfig(
        burst_limit=RAISED_LIMIT,
        daily_limit=RAISED_LIMIT,
        search_rate_limit=RAISED_LIMIT,
        log_size=4 * settings.changes + 1000,
    )
    with HubSpotEmulator(config) as emu:
        emu.seed(
            owners=settings.users,
            companies=settings.accounts,
            deals=settings.opportunities,
            seed=settings.seed,
            as_of=AS_OF,
        )
        yield emu
        if emu.internal_errors:
            raise RuntimeError(emu.internal_errors[0])


def hs_adapter(emu: HubSpotEmulator, folder: Path) -> HubSpotAdapter:
    data: dict[str, Any] = {
        "version": 1,
        "kind": "hubspot",
        "name": "write-requests",
        "hubspot": {
            "host": emu.url,
            "auth": {"method": "private_app"},
            "rate_limit": {"burst": 10_000, "search_per_second": 1000},
        },
        "metrics": {"write": False},
    }
    profile = Profile.model_validate(data).with_base_dir(folder)
    env = {"HUBSPOT_ACCESS_TOKEN": emu.config.access_token}
    return HubSpotAdapter(profile, env=env, policy=quiet_policy())


def hs_owners(emu: HubSpotEmulator) -> Owners:
    return {str(c["hs_object_id"]): _text(c.get(HS_OWNER)) for c in emu.store.all("companies")}


def hs_count(emu: HubSpotEmulator, crm: str, way: str) -> Count:
    log = emu.log
    if len(log) != emu.counters["requests"]:
        raise RuntimeError("the emulator's request log overflowed: raise log_size")
    count = Count(crm, way)
    kinds: Counter[str] = Counter()
    for entry in log:
        if entry.kind in {"companies_batch_read", "companies_get"}:
            count.reads += 1
        elif entry.kind.endswith(("_batch_update", "_update")) or entry.kind == "properties_create":
            count.writes += 1
        else:
            count.other += 1
        if entry.status is None or not 200 <= entry.status < 300:
            count.failed += 1
        kinds[entry.kind] += 1
    if count.writes != emu.counters["write_requests"]:
        raise RuntimeError("writes counted from the log differ from the emulator's counter")
    count.kinds = dict(sorted(kinds.items()))
    return count


def hs_ours(settings: Settings) -> tuple[Count, list[OwnershipChange]]:
    with hs_portal(settings) as emu, tempfile.TemporaryDirectory() as folder:
        adapter = hs_adapter(emu, Path(folder))
        changes = changes_for(adapter.pull(), settings.changes)
        emu.reset_counters()
        started = time.perf_counter()
        result = adapter.apply(changes, [])
        seconds = time.perf_counter() - started
        adapter.close()
        count = hs_count(emu, "HubSpot", "roleSync, batch update")
        count.seconds = seconds
        count.failed += len(result.failed) + len(result.conflicts)
        count.minimum = math.ceil(settings.changes / HS_BATCH)
        count.owners = hs_owners(emu)
    return count, changes


def hs_naive(settings: Settings, changes: Sequence[OwnershipChange], check: bool) -> Count:
    way = "naive, read + update per record" if check else "naive, update per record"
    with hs_portal(settings) as emu:
        client = HubSpot(access_token=emu.config.access_token, host=emu.url)
        companies = client.crm.companies.basic_api
        emu.reset_counters()
        failed = 0
        started = time.perf_counter()
        for change in changes:
            try:
                if check:
                    found = companies.get_by_id(change.account_id, properties=[HS_OWNER])
                    if (found.properties or {}).get(HS_OWNER) != change.from_owner_id:
                        failed += 1  # a conflict: somebody moved it since the plan
                        continue
                companies.update(
                    change.account_id,
                    SimplePublicObjectInput(properties={HS_OWNER: change.to_owner_id}),
                )
            except Exception:  # the SDK's errors: counted, the script goes on
                failed += 1
        seconds = time.perf_counter() - started
        count = hs_count(emu, "HubSpot", way)
        count.seconds, count.failed = seconds, max(count.failed, failed)
        count.owners = hs_owners(emu)
    return count


# --- comparing and printing ---------------------------------------------------------------


def _text(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def settle(runs: Sequence[Count], changes: Sequence[OwnershipChange]) -> bool:
    """Count each run's changed accounts; True when every run ends with the intended owner
    on every changed account and the very same owners everywhere else."""
    wanted = {c.account_id: c.to_owner_id for c in changes}
    same = True
    for run in runs:
        run.changed = sum(1 for i, owner in wanted.items() if run.owners.get(i) == owner)
        same = same and run.changed == len(wanted) and run.owners == runs[0].owners
    return same


@dataclass(frozen=True, slots=True)
class Comparison:
    crm: str
    ours: list[Count]
    naive: Count
    checked: Count
    identical: bool


def measure(
    settings: Settings, crms: Sequence[str] = ("salesforce", "hubspot")
) -> list[Comparison]:
    found: list[Comparison] = []
    if "salesforce" in crms:
        collections, changes = sf_ours(settings, bulk=False)
        bulk, bulk_changes = sf_ours(settings, bulk=True)
        if bulk_changes != changes:
            raise RuntimeError("the two Salesforce orgs gave different plans")
        naive = sf_naive(settings, changes, check=False)
        checked = sf_naive(settings, changes, check=True)
        same = settle([collections, bulk, naive, checked], changes)
        found.append(Comparison("Salesforce", [collections, bulk], naive, checked, same))
    if "hubspot" in crms:
        ours, changes = hs_ours(settings)
        naive = hs_naive(settings, changes, check=False)
        checked = hs_naive(settings, changes, check=True)
        same = settle([ours, naive, checked], changes)
        found.append(Comparison("HubSpot", [ours], naive, checked, same))
    return found


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.1f}x" if b else "-"


def table(found: Sequence[Comparison]) -> list[str]:
    lines = [
        "| CRM | way | writes | reads | other | total | API minimum | total - minimum "
        "| naive / this (total) | naive / this (writes) | naive read+update / this (total) "
        "| failed | changed | time |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for comparison in found:
        naive, checked = comparison.naive, comparison.checked
        for run in [*comparison.ours, naive, checked]:
            ours = run in comparison.ours
            minimum = f"{run.minimum:,}" if run.minimum is not None else "-"
            extra = f"{run.total - run.minimum:,}" if run.minimum is not None else "-"
            cells = [
                run.crm, run.way, f"{run.writes:,}", f"{run.reads:,}", f"{run.other:,}",
                f"{run.total:,}", minimum, extra,
                _ratio(naive.total, run.total) if ours else "-",
                _ratio(naive.writes, run.writes) if ours else "-",
                _ratio(checked.total, run.total) if ours else "-",
                f"{run.failed:,}", f"{run.changed:,}", f"{run.seconds:.2f} s",
            ]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def notes(found: Sequence[Comparison]) -> list[str]:
    lines = []
    for comparison in found:
        word = "identical" if comparison.identical else "NOT IDENTICAL"
        lines.append(f"{comparison.crm}: owners of every account after each run: {word}")
        for run in [*comparison.ours, comparison.naive, comparison.checked]:
            kinds = ", ".join(f"{k} {n:,}" for k, n in run.kinds.items())
            lines.append(f"  {run.way}: {kinds}")
        if comparison.crm == "HubSpot":
            for run in [*comparison.ours, comparison.naive, comparison.checked]:
                wait = (math.ceil(run.total / HS_BURST) - 1) * HS_INTERVAL_S
                lines.append(
                    f"  at HubSpot's free-tier {HS_BURST} requests / {HS_INTERVAL_S:.0f} s, "
                    f"{run.way} ({run.total:,} requests) needs at least {wait:,.0f} s"
                )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=20_000, help="accounts / companies")
    parser.add_argument("--crm", choices=["salesforce", "hubspot"], action="append")
    parser.add_argument("--json", type=Path, help="also write the counts to this file")
    args = parser.parse_args(argv)
    settings = Settings(changes=args.changes, accounts=args.accounts)
    print(
        f"{settings.changes:,} ownership changes in an org/portal of {settings.accounts:,} "
        f"accounts/companies and {settings.users} users/owners; emulator limits raised to "
        f"{RAISED_LIMIT:,} a day and per burst window, so nothing is throttled\n"
    )
    found = measure(settings, args.crm or ("salesforce", "hubspot"))
    print("\n".join(table(found)))
    print()
    print("\n".join(notes(found)))
    if args.json is not None:
        args.json.write_text(json.dumps(report(settings, found), indent=2) + "\n")
    return 0 if all(c.identical for c in found) else 1


def report(settings: Settings, found: Sequence[Comparison]) -> dict[str, Any]:
    def counted(run: Count) -> dict[str, Any]:
        data = {k: v for k, v in asdict(run).items() if k != "owners"}
        data["total"] = run.total
        return data

    return {
        "settings": asdict(settings),
        "crms": [
            {
                "crm": c.crm,
                "identical": c.identical,
                "ours": [counted(run) for run in c.ours],
                "naive": counted(c.naive),
                "naive_checked": counted(c.checked),
            }
            for c in found
        ],
    }


if __name__ == "__main__":
    raise SystemExit(main())
