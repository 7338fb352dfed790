"""How long the book health gate takes on a generated book, beside a bare row scan.

Run: python benchmarks/book_health.py                      # 1M accounts / 4M deals
     python benchmarks/book_health.py --accounts 100000 --deals 400000 --owners 200

The book is generated once under --cache (as `plan_scale.py` does). Three timings, in
this order, in one process: the reference (Python's sqlite3 fetching every account and
deal row and doing nothing with them), the gate on the clean book, and the gate after
a few problems are written into a copy (unmapped deal types, unknown owners, an absurd
amount), when the slower follow-up questions are asked too.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import time
from pathlib import Path

from plan_scale import bare_scan, book_file

from roleSync.health import scan
from roleSync.profile import Profile


def timed_scan(path: Path) -> tuple[float, int, int]:
    profile = Profile.for_local_book(path)
    started = time.perf_counter()
    health = scan(profile)
    return time.perf_counter() - started, len(health.errors), len(health.warnings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--deals", type=int, default=4_000_000)
    parser.add_argument("--owners", type=int, default=2_000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rolesync-bench"))
    args = parser.parse_args(argv)
    path = book_file(args.cache, (args.accounts, args.deals, args.owners))
    print(f"book: {args.accounts:,} accounts, {args.deals:,} deals, {args.owners:,} owners")
    print(f"reference, bare scan of accounts and deals: {bare_scan(path):.2f} s", flush=True)
    seconds, errors, warnings = timed_scan(path)
    print(f"book health, clean book: {seconds:.2f} s ({errors} errors, {warnings} warnings)")
    dirty = path.with_name(path.stem + "-dirty.sqlite")
    shutil.copyfile(path, dirty)
    try:
        with sqlite3.connect(dirty) as conn:
            conn.execute(
                "UPDATE deals SET kind = 'Existing Customer - Renewal' WHERE kind = 'renewal'"
            )
            conn.execute("UPDATE deals SET owner_id = 'ghost' WHERE rowid % 1000 = 0")
            conn.execute("UPDATE deals SET amount = 1e308 WHERE rowid % 100000 = 0")
        seconds, errors, warnings = timed_scan(dirty)
        print(f"book health, with problems: {seconds:.2f} s ({errors} errors, {warnings} warnings)")
    finally:
        dirty.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
