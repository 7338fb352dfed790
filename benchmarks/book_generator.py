"""A seeded generator of books of any size, streamed record by record.

Run: python benchmarks/book_generator.py --accounts 100000 --deals 400000 --owners 200
Prints the time to generate every record and the peak RSS, next to a reference: the peak
RSS of the same process before generating anything. Owners, accounts and deals are
generator functions, so a streaming planner can consume deals without holding them; an
account's owner is a pure function of its index, so deals need no table of accounts.

The mix: 40% of owners hunt (their deals are mostly new business), 45% farm (mostly
renewals and expansion), 15% are mixed; 3% are inactive. Deals are 45% won, 25% lost and
30% open, closing over the two years before AS_OF; 5% carry no kind (the Book infers it).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from roleSync.adapters.local_store import write_book
from roleSync.model import Account, Book, Deal, DealKind, Owner

AS_OF = date(2026, 6, 30)
SEGMENTS = ("Enterprise", "Mid-Market", "SMB", "SMB", "Mid-Market")
REGIONS = ("EMEA", "NA", "APAC", "LATAM")
TIERS = ("1", "2", "3")
HUNTER_KINDS = (DealKind.NEW_BUSINESS,) * 8 + (DealKind.EXPANSION, DealKind.RENEWAL)
FARMER_KINDS = (
    (DealKind.RENEWAL,) * 5
    + (DealKind.EXPANSION,) * 3
    + (DealKind.NEW_BUSINESS, DealKind.CONTRACTION)
)
MIXED_KINDS = (DealKind.NEW_BUSINESS,) * 5 + (DealKind.EXPANSION,) * 3 + (DealKind.RENEWAL,) * 2


@dataclass(frozen=True, slots=True)
class BookSpec:
    accounts: int
    deals: int
    owners: int
    seed: int = 8


def owner_id(index: int) -> str:
    return f"o{index:05d}"


def account_id(index: int) -> str:
    return f"a{index:07d}"


def owner_profile(index: int) -> str:
    """hunter, farmer or mixed: a pure function of the owner's index."""
    slot = (index * 7919) % 100
    return "hunter" if slot < 40 else "farmer" if slot < 85 else "mixed"


def account_owner(index: int, spec: BookSpec) -> int:
    """The index of an account's owner (a multiplicative hash: no table needed)."""
    return (index * 2654435761 + spec.seed) % spec.owners


def iter_owners(spec: BookSpec) -> Iterator[Owner]:
    for i in range(spec.owners):
        oid = owner_id(i)
        active = (i * 31 + spec.seed) % 100 >= 3
        yield Owner(oid, f"Owner {i}", f"{oid}@example.com", owner_profile(i).title(), active)


def iter_accounts(spec: BookSpec) -> Iterator[Account]:
    rng = random.Random(spec.seed * 1_000_003 + 1)
    for i in range(spec.accounts):
        yield Account(
            account_id(i),
            f"Account {i}",
            owner_id(account_owner(i, spec)),
            lifecycle="customer" if rng.random() < 0.3 else "prospect",
            segment=rng.choice(SEGMENTS),
            region=rng.choice(REGIONS),
            tier=rng.choice(TIERS),
            locked=rng.random() < 0.01,
        )


def iter_deals(spec: BookSpec) -> Iterator[Deal]:
    rng = random.Random(spec.seed * 1_000_003 + 2)
    kinds = {"hunter": HUNTER_KINDS, "farmer": FARMER_KINDS, "mixed": MIXED_KINDS}
    for i in range(spec.deals):
        acc = rng.randrange(spec.accounts)
        owner = account_owner(acc, spec) if rng.random() < 0.8 else rng.randrange(spec.owners)
        kind: DealKind | None = rng.choice(kinds[owner_profile(owner)])
        if rng.random() < 0.05:
            kind = None
        roll = rng.random()
        status = "won" if roll < 0.45 else "lost" if roll < 0.70 else "open"
        created = AS_OF - timedelta(days=rng.randrange(60, 800))
        close = created + timedelta(days=rng.randrange(5, 180))
        yield Deal(
            f"d{i:08d}",
            account_id(acc),
            owner_id(owner),
            kind,
            {"won": "Closed Won", "lost": "Closed Lost", "open": "Negotiation"}[status],
            status != "open",
            status == "won",
            round(rng.uniform(1_000, 120_000), 2),
            created,
            None if status == "open" else min(close, AS_OF),
        )


def build_book(spec: BookSpec) -> Book:
    return Book(iter_owners(spec), iter_accounts(spec), iter_deals(spec))


def write_local_book(spec: BookSpec, path: Path) -> None:
    """The generated book as a local-book SQLite file (streamed: no record is held)."""
    write_book(path, iter_owners(spec), iter_accounts(spec), iter_deals(spec))


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--deals", type=int, default=400_000)
    parser.add_argument("--owners", type=int, default=200)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)
    spec = BookSpec(args.accounts, args.deals, args.owners, args.seed)
    before = peak_rss_mib()
    started = time.perf_counter()
    owners = sum(1 for _ in iter_owners(spec))
    accounts = sum(1 for _ in iter_accounts(spec))
    deals = sum(1 for _ in iter_deals(spec))
    elapsed = time.perf_counter() - started
    records = owners + accounts + deals
    print(f"streamed {owners:,} owners, {accounts:,} accounts, {deals:,} deals")
    print(f"generation: {elapsed:8.2f} s  ({records / elapsed:,.0f} records/s)")
    print(
        f"peak RSS:   {peak_rss_mib():8.1f} MiB  (reference, before generating: {before:.1f} MiB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
