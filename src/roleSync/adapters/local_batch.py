"""Batch-wise reads for the local book's journaled writes, the size of a batch, and its
crash windows for fault tests.

A batch's compare reads are a few `IN (...)` queries (accounts, owners, records, task
keys) instead of two or three queries per entry, and its writes one `executemany`:
the decisions are the same, entry by entry, as the per-entry reads made them.

Batches grow with the run (issue 19): every batch costs a book commit and two state
store commits, each a few milliseconds of fsync, so a run of hundreds of thousands of
entries in batches of 200 spent most of its time committing. At most about
`TARGET_BATCHES` batches per kind of write, never fewer than `BATCH_SIZE` entries a
batch (small runs batch as before) nor more than `MAX_BATCH` (a batch's transaction
holds the book's write lock, and a crash redoes at most one batch's reads).

Measured on the 1M book's first sync (benchmarks/README.md, issue 19): in at most 20
batches of at most 5,000 entries, its 549k handoff tasks went in 110 batches, each
dirtying a page of every index of the tasks table per row, most of them pages the
batch before had written already. In at most 15 batches of at most 50,000 the same
rows share pages: with the larger page caches, apply and carry took 48.5 s instead of
68.8 s. Each batch there took 0.5 to 2.2 s from one journaled result to the next, its
book transaction a part of that: well inside another writer's `BUSY_TIMEOUT` (10 s).
At most 10 batches gained 2 s more on the 1M book but put finishing 40,000 changes
at 10.0x the time of 4,000 (benchmarks/finishing_scale.py; 9.3x and 9.7x with 15), over the
issue's bound of 10x.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping
from typing import Any

BATCH_SIZE = 200
TARGET_BATCHES = 15
MAX_BATCH = 50_000
# Ids per `IN (...)`: well under SQLite's limit of bound parameters.
CHUNK = 500


def batch_size_for(total: int, fixed: int | None) -> int:
    """Entries per journaled batch for a write of `total` entries; `fixed` (a test's
    setting) wins."""
    if fixed is not None:
        return max(1, fixed)
    return max(BATCH_SIZE, min(MAX_BATCH, -(-total // TARGET_BATCHES)))


def crash_window(pause: float) -> None:
    """Sleep at a crash window of a journaled batch when a fault test asked for it
    (ROLESYNC_TEST_BATCH_DELAY_MS); nothing otherwise, not even a sleep(0) system call,
    of which a large run would make three per batch for nothing."""
    if pause > 0:
        time.sleep(pause)


def rows_by_id(conn: sqlite3.Connection, select: str, ids: Iterable[str]) -> dict[str, Any]:
    """`select` (`SELECT id, ... FROM table WHERE id IN`, a constant of the caller) for
    `ids`, in chunks: id -> the row's other columns (a tuple)."""
    wanted = list(dict.fromkeys(ids))
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        marks = ", ".join("?" * len(chunk))
        for row in conn.execute(f"{select} ({marks})", chunk):
            found[str(row[0])] = tuple(row[1:])
    return found


def owners_active(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, bool]:
    """Owner id -> active, for those of `ids` in the book."""
    rows = rows_by_id(conn, "SELECT id, active FROM owners WHERE id IN", ids)
    return {owner: bool(row[0]) for owner, row in rows.items()}


def refusal_of(owners: Mapping[str, bool], owner_id: str, who: str = "target owner") -> str | None:
    """Why `owner_id` cannot receive a record (absent or inactive), or None."""
    if owner_id not in owners:
        return f"{who} {owner_id} no longer exists"
    if not owners[owner_id]:
        return f"{who} {owner_id} is inactive"
    return None
