"""The state store's journal and audit writes of a large run's carry, by write order.

Run: python benchmarks/store_write_order.py                 # 600,000 entries
     python benchmarks/store_write_order.py --entries 200000

Replays, on a fresh store (store_file.open_store_file: WAL, synchronous=FULL, the
shipped pragmas), the statements of sync.store_related for `--entries` handoff tasks in
batches of 5,000 (the local book's largest): the intent insert committed, then the
result update and the audit insert in one transaction. Entry keys are random, as record
ids are. Each variant in the same run, on its own file:

- `shuffled`: rows in plan order (random keys), SQLite's default WAL checkpoint (1,000
  pages): what the store did before issue 19's write-order change;
- `sorted`: each statement's rows in key order;
- `checkpoint`: plan order, `wal_autocheckpoint` 100,000 pages;
- `shipped`: both (what open_store_file and store_related now do).

Prints seconds per variant and per 200,000 entries, to show whether the cost per entry
grows with the store's size.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

from roleSync.sync.store_file import open_store_file

BATCH = 5_000
SQLITE_DEFAULT_CHECKPOINT = 1_000
INTENT = "INSERT INTO related_journal (run_id, batch_no, entry, intent_at) VALUES (?, ?, ?, ?)"
RESULT = (
    "UPDATE related_journal SET outcome = ?, result_at = ? "
    "WHERE run_id = ? AND batch_no = ? AND entry = ?"
)
PENDING = (
    "UPDATE related_journal SET outcome = 'pending', result_at = ? "
    "WHERE run_id = ? AND batch_no = ? AND outcome IS NULL"
)
AUDIT = (
    "INSERT INTO related_audit (run_id, entry, object, record_id, account_id, from_owner, "
    "to_owner, handoff_id, trigger, reason, at, result, found_owner, error) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, entry) DO NOTHING"
)
VARIANTS = {"shuffled": (False, False), "sorted": (True, False), "checkpoint": (False, True)}
VARIANTS["shipped"] = (True, True)


def keys(count: int) -> list[str]:
    """Random-looking, reproducible entry keys, like "handoff-task:<hash>"."""
    return [f"handoff-task:{hashlib.sha1(str(i).encode()).hexdigest()[:24]}" for i in range(count)]


def replay(path: Path, entries: list[str], *, in_order: bool, big_wal: bool) -> list[float]:
    """Seconds at each 200,000 entries and at the end."""
    conn = open_store_file(path)
    checkpoint = 100_000 if big_wal else SQLITE_DEFAULT_CHECKPOINT
    conn.execute(f"PRAGMA wal_autocheckpoint = {checkpoint:d}")
    marks: list[float] = []
    started = time.perf_counter()
    for number, start in enumerate(range(0, len(entries), BATCH)):
        batch = entries[start : start + BATCH]
        if in_order:
            batch = sorted(batch)
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INTENT, [("r1", number, k, "t0") for k in batch])
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(RESULT, [("created", "t1", "r1", number, k) for k in batch])
        conn.execute(PENDING, ("t1", "r1", number))
        conn.executemany(
            AUDIT,
            [
                ("r1", k, "handoff-task", k[13:], f"A{k[13:23]}", None, "o1", "first-win",
                 "won", "Welcome", "t1", "created", None, "")
                for k in batch
            ],
        )  # fmt: skip
        conn.execute("COMMIT")
        if (start + BATCH) % 200_000 == 0:
            marks.append(time.perf_counter() - started)
    if len(entries) % 200_000:
        marks.append(time.perf_counter() - started)
    conn.close()
    return marks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="State store carry writes, by write order")
    parser.add_argument("--entries", type=int, default=600_000)
    args = parser.parse_args(argv)
    entries = keys(args.entries)
    with tempfile.TemporaryDirectory(prefix="rolesync-store-order-") as folder:
        for name, (in_order, big_wal) in VARIANTS.items():
            marks = replay(Path(folder) / f"{name}.db", entries, in_order=in_order, big_wal=big_wal)
            steps = [b - a for a, b in zip([0.0, *marks], marks, strict=False)]
            print(
                f"{name}: {marks[-1]:.1f} s, {marks[-1] / args.entries * 1e6:.0f} us/entry; "
                "per 200k: " + ", ".join(f"{s:.1f}" for s in steps),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
