"""`rolesync import` of a large book's CSV files, beside sqlite3's own `.import` of them.

Run: python benchmarks/import_scale.py                      # 100k accounts, 400k deals
     python benchmarks/import_scale.py --accounts 1000000 --deals 4000000 --owners 2000

Writes owners.csv, accounts.csv and deals.csv from benchmarks/book_generator.py's seeded
generator (kept under --dir and reused when the same size was written before), then, in
the same run, each in a child process of its own:

* roleSync: `rolesync import` of the three files into a new local book, through a
  profile whose import columns are the files' headers;
* bare reference: the sqlite3 CLI, `.mode csv` and `.import` of the same three files
  into a new database file (tables made from the headers, no keys, no indexes, no checks);
* keyed reference: the sqlite3 CLI again, into a new database file that first gets the
  book's own schema (roleSync's table and index statements from local_store: primary
  keys and the three indexes), then `.import --csv --skip 1` of each file into its
  table. The accounts file has no `fields` column, so it goes to a temp table and on
  with INSERT ... SELECT in the same script. Values stay as sqlite3 reads them (text);
  nothing is checked.
* bare, then indexed: the bare reference, then a unique index on each table's id and
  the book's three indexes, in the same sqlite3 script: the least the CLI does to make
  a book keyed like roleSync's, in its fastest order (index after load).
* Python insert floor: a Python child that first reads every row into memory with the
  csv module (untimed), converts the numbers and flags, then times only what any
  importer written on Python's sqlite3 module must do at the least: `executemany` of
  the ready tuples into the book's schema (staging pragmas, as roleSync's) and the
  book's indexes. No parsing, no checks: a floor, not an importer.

Wall time and peak RSS of each child come from os.wait4 (the largest single process of
its tree); "tree sum" is the peak of its process tree's summed RSS, sampled every 50 ms,
since the import reads large files in a forked child of its own.
"""

from __future__ import annotations

import argparse
import csv
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from book_generator import BookSpec, iter_accounts, iter_deals, iter_owners

from roleSync.adapters.local_store import BOOK_INDEXES, BOOK_TABLES

_VERSION = "2 "  # of the files' layout: files written by an older one are written again
PROFILE = """\
version: 1
kind: local
name: bench
local:
  path: book.db
"""


ACCOUNT_COLUMNS = [
    "id",
    "name",
    "owner_id",
    "lifecycle",
    "segment",
    "region",
    "tier",
    "locked",
    "created",
    "updated",
]
DEAL_COLUMNS = [
    "id",
    "account_id",
    "owner_id",
    "kind",
    "stage",
    "closed",
    "won",
    "amount",
    "created",
    "close_date",
]


def write_csvs(spec: BookSpec, folder: Path) -> dict[str, Path]:
    """The book as three CSV files with the default import headers (streamed)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.csv" for name in ("owners", "accounts", "deals")}
    marker = folder / "spec.txt"
    if marker.is_file() and marker.read_text() == _VERSION + repr(spec):
        return paths
    with paths["owners"].open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["id", "name", "email", "title", "active"])
        for o in iter_owners(spec):
            out.writerow([o.id, o.name, o.email, o.title, "true" if o.active else "false"])
    with paths["accounts"].open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(ACCOUNT_COLUMNS)
        for a in iter_accounts(spec):
            locked = "true" if a.locked else "false"
            created = a.created.isoformat() if a.created else ""
            updated = a.updated.isoformat() if a.updated else ""
            place = (a.lifecycle, a.segment, a.region, a.tier)
            out.writerow((a.id, a.name, a.owner_id, *place, locked, created, updated))
    with paths["deals"].open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(DEAL_COLUMNS)
        for d in iter_deals(spec):
            out.writerow(
                [
                    d.id,
                    d.account_id,
                    d.owner_id,
                    d.kind.value if d.kind else "",
                    d.stage,
                    "true" if d.closed else "false",
                    "true" if d.won else "false",
                    "" if d.amount is None else f"{d.amount:.2f}",
                    d.created.isoformat(),
                    d.close_date.isoformat() if d.close_date else "",
                ]
            )
    marker.write_text(_VERSION + repr(spec))
    return paths


def keyed_script(paths: dict[str, Path]) -> str:
    """sqlite3 CLI script: the book's schema, then each file into its table."""
    statements = [f"{statement};" for statement in BOOK_TABLES + BOOK_INDEXES]
    lines = ["BEGIN;", *statements, "COMMIT;"]
    lines.append(f".import --csv --skip 1 {paths['owners']} owners")
    # accounts.csv lacks the table's `fields` column: through a temp table, whose
    # columns the CLI names from the header.
    lines.append(f".import --csv --schema temp {paths['accounts']} accounts_csv")
    columns = ", ".join(ACCOUNT_COLUMNS)
    lines.append(f"INSERT INTO accounts ({columns}) SELECT {columns} FROM temp.accounts_csv;")
    lines.append("DROP TABLE temp.accounts_csv;")
    lines.append(f".import --csv --skip 1 {paths['deals']} deals")
    return "\n".join(lines) + "\n"


FLOOR_CHILD = """\
import csv, sqlite3, sys, time
from roleSync.adapters.local_store import BOOK_INDEXES, BOOK_TABLES
target, owners, accounts, deals = sys.argv[1:5]
def rows(path, convert):
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        return [convert(r) for r in reader]
flag = {"true": 1, "false": 0}
tables = {
    "owners (id, name, email, title, active)":
        rows(owners, lambda r: (r[0], r[1], r[2], r[3], flag[r[4]])),
    "accounts (id, name, owner_id, lifecycle, segment, region, tier, locked, created, updated)":
        rows(accounts, lambda r: (*r[:6], int(r[6]), flag[r[7]], r[8] or None, r[9] or None)),
    "deals (id, account_id, owner_id, kind, stage, closed, won, amount, created, close_date)":
        rows(deals, lambda r: (*r[:5], flag[r[5]], flag[r[6]],
                               float(r[7]) if r[7] else None, r[8], r[9] or None)),
}
started = time.perf_counter()
conn = sqlite3.connect(target, isolation_level=None)
for pragma in ("journal_mode = OFF", "synchronous = OFF", "locking_mode = EXCLUSIVE",
               "cache_size = -32768", "temp_store = FILE"):
    conn.execute("PRAGMA " + pragma)
conn.execute("BEGIN")
for statement in BOOK_TABLES:
    conn.execute(statement)
for table, values in tables.items():
    marks = ", ".join("?" for _ in range(table.count(",") + 1))
    conn.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
for statement in BOOK_INDEXES:
    conn.execute(statement)
conn.execute("COMMIT")
conn.close()
print(time.perf_counter() - started)
"""


def indexed_script(paths: dict[str, Path]) -> str:
    """sqlite3 CLI script: the bare import, then the keys and indexes of a book."""
    lines = [".mode csv", *(f".import {p} {name}" for name, p in paths.items())]
    lines += [f"CREATE UNIQUE INDEX {name}_id ON {name} (id);" for name in paths]
    lines += [f"{statement};" for statement in BOOK_INDEXES]
    return "\n".join(lines) + "\n"


def _tree_rss(pid: int) -> int:
    """KiB resident in `pid` and its descendants now (0 once it is gone)."""
    total = 0
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1])
    return total + sum(_tree_rss(int(child)) for child in children)


class TreeSampler:
    """Peak summed RSS of a process and its children (import reads large files in a
    forked child), sampled every 50 ms: os.wait4's peak is the largest single process.
    The sum counts pages the fork shares twice, so it is an upper bound."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kib = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_kib = max(self.peak_kib, _tree_rss(self.pid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kib / 1024


def run_child(command: list[str], stdin: str | None = None) -> tuple[float, float, float, str]:
    """(wall seconds, peak RSS MiB, peak summed RSS of its process tree MiB, output) of
    one child process; the peak RSS via os.wait4."""
    started = time.perf_counter()
    child = subprocess.Popen(
        command,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sampler = TreeSampler(child.pid)
    if stdin is not None and child.stdin is not None:
        child.stdin.write(stdin)
        child.stdin.close()
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    tree = sampler.stop()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({child.returncode}):\n{output}")
    return elapsed, usage.ru_maxrss / 1024, tree, output


def check_counts(database: Path, spec: BookSpec) -> None:
    """The keyed reference loaded every row (a silent short load would flatter it)."""
    conn = sqlite3.connect(database)
    try:
        for table, expected in (
            ("owners", spec.owners),
            ("accounts", spec.accounts),
            ("deals", spec.deals),
        ):
            (count,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            if count != expected:
                raise SystemExit(f"{database}: {table} has {count} rows, expected {expected}")
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--deals", type=int, default=400_000)
    parser.add_argument("--owners", type=int, default=200)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/rolesync-import-bench"))
    parser.add_argument("--sqlite", default="/usr/bin/sqlite3")
    args = parser.parse_args(argv)
    spec = BookSpec(args.accounts, args.deals, args.owners, args.seed)
    folder = args.dir / f"{spec.accounts}-{spec.deals}-{spec.owners}-{spec.seed}"
    started = time.perf_counter()
    paths = write_csvs(spec, folder)
    size = sum(p.stat().st_size for p in paths.values()) / 2**20
    print(f"CSV files: {size:,.0f} MiB in {folder} ({time.perf_counter() - started:.1f} s)")

    profile = folder / "bench.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    book, reference = folder / "book.db", folder / "sqlite-import.db"
    keyed = folder / "sqlite-keyed-import.db"
    indexed, floor = folder / "sqlite-indexed-import.db", folder / "python-floor.db"
    for stale in (book, reference, keyed, indexed, floor):
        stale.unlink(missing_ok=True)
    rolesync = [sys.executable, "-m", "roleSync", "import", "-c", str(profile)]
    rolesync += [f"--{name}={path}" for name, path in paths.items()]
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    seconds, rss, tree, output = run_child(rolesync)
    print(output.strip())
    script = ".mode csv\n" + "".join(f".import {p} {name}\n" for name, p in paths.items())
    ref_seconds, ref_rss, ref_tree, _ = run_child([args.sqlite, str(reference)], script)
    keyed_run = run_child([args.sqlite, str(keyed)], keyed_script(paths))
    keyed_seconds, keyed_rss, keyed_tree, _ = keyed_run
    check_counts(keyed, spec)
    indexed_run = run_child([args.sqlite, str(indexed)], indexed_script(paths))
    check_counts(indexed, spec)
    floor_command = [sys.executable, "-c", FLOOR_CHILD, str(floor), *map(str, paths.values())]
    floor_seconds = float(run_child(floor_command)[3].strip())
    check_counts(floor, spec)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    records = spec.owners + spec.accounts + spec.deals
    print(f"{'':28}{'wall time':>12}{'records/s':>12}{'peak RSS':>12}{'tree sum':>12}")
    for label, wall, peak, summed in (
        ("rolesync import", seconds, rss, tree),
        ("sqlite3 .import, bare", ref_seconds, ref_rss, ref_tree),
        ("sqlite3 .import, keyed", keyed_seconds, keyed_rss, keyed_tree),
        ("sqlite3 .import, indexed", *indexed_run[:3]),
    ):
        print(f"{label:28}{wall:10.2f} s{records / wall:12,.0f}{peak:8.1f} MiB{summed:8.1f} MiB")
    print(
        f"{'Python insert floor':28}{floor_seconds:10.2f} s{records / floor_seconds:12,.0f}"
        "   (inserts and indexes only, rows parsed beforehand)"
    )
    print(f"roleSync / sqlite3 bare:  {seconds / ref_seconds:.2f}x the time")
    print(f"roleSync / sqlite3 keyed: {seconds / keyed_seconds:.2f}x the time")
    print(f"roleSync / sqlite3 indexed: {seconds / indexed_run[0]:.2f}x the time")
    print(f"Python insert floor / sqlite3 bare: {floor_seconds / ref_seconds:.2f}x the time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
