"""Requests of a full Salesforce pull: REST query pages against Bulk API 2.0 query jobs.

Run: python benchmarks/bulk_query_pull.py [--accounts 20000] [--opportunities 80000]
     [--page-size 100000]

One emulator seeded once (50 users); two full pulls into fresh mirrors: REST only
(`bulk_query_threshold: 0`) and bulk for every object of 10,000 records or more. Printed
per pull: the emulator's requests by kind, the wall time, and whether both mirrors
built the same book (the script exits 1 if not). Then the request formula for 1M
accounts and 4M opportunities:

    REST: ceil(N / 2000) queries per object
    bulk: 1 first REST page (its totalSize decides) + 1 describe + 1 create
          + polls (InProgress ones + 1) + ceil(N / page size) result pages per object
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from roleSync.adapters.resilience import RetryPolicy
from roleSync.adapters.salesforce import SalesforceAdapter
from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceEmulatorConfig
from roleSync.model import Book
from roleSync.profile import Profile

THRESHOLD = 10_000
REST_PAGE = 2000


def adapter_for(
    emu: SalesforceEmulator, folder: Path, threshold: int, page_size: int
) -> SalesforceAdapter:
    data: dict[str, Any] = {
        "version": 1,
        "kind": "salesforce",
        "name": "bulk-query-pull",
        "salesforce": {
            "instance_url": emu.url,
            "ca_bundle": str(emu.ca_path),
            "auth": {"method": "access_token", "token_url": f"{emu.url}/services/oauth2/token"},
            "bulk_query_threshold": threshold,
            "bulk_query_page_size": page_size,
        },
        "metrics": {"write": False},
    }
    profile = Profile.model_validate(data).with_base_dir(folder)
    policy = RetryPolicy(max_attempts=6, sleep=lambda seconds: None, rng=random.Random(7))
    env = {"SF_ACCESS_TOKEN": emu.config.access_token}
    return SalesforceAdapter(profile, env=env, policy=policy, bulk_poll_seconds=0.0)


def pull(
    emu: SalesforceEmulator, threshold: int, page_size: int
) -> tuple[Book, Counter[str], float]:
    emu.reset_counters()
    with tempfile.TemporaryDirectory() as folder:
        adapter = adapter_for(emu, Path(folder), threshold, page_size)
        started = time.monotonic()
        book = adapter.pull()
        seconds = time.monotonic() - started
        adapter.client.close()
    kinds = Counter({k: v for k, v in emu.counters.items() if v and k != "totals"})
    return book, kinds, seconds


def bulk_requests(records: int, page_size: int, polls: int) -> int:
    """`polls` InProgress answers, then the one that says JobComplete."""
    return 1 + 1 + 1 + (polls + 1) + math.ceil(records / page_size)


def full_pull_requests(records: int, page_size: int, polls: int) -> int:
    """One object's full pull at this script's threshold."""
    if records >= THRESHOLD:
        return bulk_requests(records, page_size, polls)
    return max(1, math.ceil(records / REST_PAGE))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--opportunities", type=int, default=80_000)
    parser.add_argument("--page-size", type=int, default=100_000)
    parser.add_argument("--polls", type=int, default=3, help="InProgress polls a job reports")
    args = parser.parse_args(argv)
    emu = SalesforceEmulator(SalesforceEmulatorConfig(bulk_query_polls=args.polls))
    emu.seed(users=50, accounts=args.accounts, opportunities=args.opportunities, seed=1)
    with emu:
        rest_book, rest, rest_s = pull(emu, 0, args.page_size)
        bulk_book, bulk, bulk_s = pull(emu, THRESHOLD, args.page_size)
    print(f"{args.accounts} accounts, {args.opportunities} opportunities, 50 users")
    for name, kinds, seconds in (("REST", rest, rest_s), ("bulk", bulk, bulk_s)):
        total = kinds["requests"]
        detail = ", ".join(
            f"{k} {v}" for k, v in sorted(kinds.items()) if k not in {"requests", "api_requests"}
        )
        print(f"{name}: {total} requests in {seconds:.1f} s ({detail})")
    same = (rest_book.accounts, rest_book.deals, rest_book.owners) == (
        bulk_book.accounts,
        bulk_book.deals,
        bulk_book.owners,
    )
    print(f"same book both ways: {same}")
    expected = sum(
        full_pull_requests(n, args.page_size, args.polls)
        for n in (50, args.accounts, args.opportunities)
    )
    print(f"bulk requests by the formula: {expected}")
    for label, n in (("1M accounts", 1_000_000), ("4M opportunities", 4_000_000)):
        print(
            f"{label}: REST {math.ceil(n / REST_PAGE)} queries; bulk "
            f"{bulk_requests(n, args.page_size, args.polls)} requests "
            f"({args.polls} polls, pages of {args.page_size})"
        )
    return 0 if same and bulk["requests"] == expected else 1


if __name__ == "__main__":
    sys.exit(main())
