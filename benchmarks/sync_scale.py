"""A whole `rolesync sync` of a generated local book, stage by stage, beside plan-only.

Run: python benchmarks/sync_scale.py                 # 10k and 100k accounts
     python benchmarks/sync_scale.py --full          # also 1M accounts, 4M deals
     python benchmarks/sync_scale.py --sizes 10000   # one size
     python benchmarks/sync_scale.py --sizes 1000000 --sync-only   # no rollback, no kill

Each book is generated once (book_generator.py, seeded) under --cache and copied fresh
for every command that writes to it. The shipped rules are used with every route's
capacity raised (as in plan_scale.py), the handoff's `max_age_days` opened to 3,650 (a
backfill: every trigger of the generated two years moves, the large first sync of issue
19) and the profile's guardrails opened, so every planned handoff is written. For each
size, in the same run, in fresh processes:

- plan-only: `rolesync plan` of the same book (the reference; wall time of the command);
- sync: `rolesync sync --log-format json --allow-large`, each stage timed from the JSON
  events (pull, plan, apply, carry, finish = last stage event -> run-finished);
- rollback: `rolesync rollback RUN_ID` of that sync (pull, reverse plan, apply, finish);
- recovery: a sync of a fresh copy killed with SIGKILL after half its apply batches were
  journaled, then the next `rolesync sync`: the time it took to finish the killed run
  (process start -> the killed run's run-finished event), and its whole wall time.

The finish of runs of 4,000 and 40,000 changes alone (issue 19: at most 10x) is
benchmarks/finishing_scale.py.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from book_generator import AS_OF
from plan_scale import CAPACITY, FULL, SIZES, book_file

from roleSync.adapters.local_batch import batch_size_for

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ROLESYNC = [sys.executable, "-m", "roleSync"]
BIG = 1_000_000_000
BACKFILL_DAYS = 3650

PROFILE = """\
version: 1
kind: local
name: bench
local:
  path: {book}
state_dir: {state}
metrics:
  write: true
  fields: {{role: role, new_business_share: new_business_share}}
guardrails:
  max_changes: {big}
  max_share: 1.0
  max_role_changes: {big}
  max_metric_writes: {big}
  max_related_changes: {big}
  max_handoff_tasks: {big}
"""


@dataclass
class Timed:
    """One command: its wall time and its JSON events (time in seconds since start)."""

    wall_s: float
    events: list[dict[str, object]] = field(default_factory=list)
    returncode: int = 0

    def at(self, name: str, **match: object) -> float:
        """Seconds from the process start to the first event `name` matching `match`."""
        for e in self.events:
            if e["event"] == name and all(e.get(k) == v for k, v in match.items()):
                return float(str(e["t"]))
        raise LookupError(f"no event {name} {match}")

    def first(self, name: str) -> dict[str, object]:
        return next(e for e in self.events if e["event"] == name)


def setup(work: Path, book: Path) -> Path:
    """A fresh copy of `book` with its profile and raised-capacity rules; the profile."""
    if work.exists():
        shutil.rmtree(work)
    (work / "rules").mkdir(parents=True)
    shutil.copyfile(book, work / "book.sqlite")
    for name in ("roles.yaml", "routing.yaml"):
        text = (ROOT / "rules" / name).read_text(encoding="utf-8")
        if name == "routing.yaml":
            assert "max_accounts: 400" in text, "the shipped routes' capacity moved"
            text = text.replace("max_accounts: 400", f"max_accounts: {CAPACITY}")
            # A backfill (issue 19's case: a first sync, or a rule change): triggers of
            # the generated two years all move, not only those of the last 365 days.
            assert "\nhandoff:\n" in text, "the shipped handoff block moved"
            text = text.replace("\nhandoff:\n", f"\nhandoff:\n  max_age_days: {BACKFILL_DAYS}\n")
        (work / "rules" / name).write_text(text, encoding="utf-8")
    profile = work / "profile.yaml"
    profile.write_text(
        PROFILE.format(book=work / "book.sqlite", state=work / "state", big=BIG),
        encoding="utf-8",
    )
    return profile


def run(args: list[str], *, kill_after_batches: int | None = None) -> Timed:
    """Run `rolesync ARGS`, its stderr read as JSON events while it runs; with
    `kill_after_batches`, SIGKILL it once that many apply batches were journaled."""
    started = time.perf_counter()
    epoch = time.time()
    proc = subprocess.Popen(
        [*ROLESYNC, *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    timed = Timed(0.0)
    batches = 0
    for line in proc.stderr:
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            print("  stderr:", line.rstrip(), file=sys.stderr)
            continue
        data["t"] = datetime.fromisoformat(data["time"]).timestamp() - epoch
        timed.events.append(data)
        if data["event"] == "batch":
            batches += 1
            if kill_after_batches is not None and batches >= kill_after_batches:
                proc.send_signal(signal.SIGKILL)
                break
    timed.returncode = proc.wait()
    timed.wall_s = time.perf_counter() - started
    return timed


def stages(timed: Timed) -> dict[str, float]:
    """Seconds per stage from the events, each from the boundary before it: startup (to
    the lock taken), pull, plan (to run-started: planned, saved, guardrails checked),
    apply, carry, finish (to run-finished: audit, report, run closed), exit."""
    bounds = {"lock-acquired": "startup", "run-started": "plan", "run-finished": "finish"}
    out: dict[str, float] = {}
    last = 0.0
    for e in timed.events:
        name = str(e["stage"]) if e["event"] == "stage" else bounds.get(str(e["event"]))
        if name is None or name in out:
            continue
        out[name] = float(str(e["t"])) - last
        last = float(str(e["t"]))
    out["exit"] = timed.wall_s - last
    return out


def line(label: str, parts: dict[str, float]) -> str:
    return f"{label}: " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items())


def bench_size(
    size: tuple[int, int, int], cache: Path, work: Path, *, sync_only: bool = False
) -> None:
    book = book_file(cache, size)
    profile = setup(work, book)
    rules = ["-r", str(work / "rules"), "--as-of", str(AS_OF)]
    plan = run(["plan", "-c", str(profile), *rules, "-o", str(work / "plan.json")])
    assert plan.returncode == 0, "plan failed"
    # setup() writes the profile to the same path each time: one command line serves all.
    sync_args = ["sync", "-c", str(profile), *rules, "--allow-large", "--log-format", "json"]
    sync = run(sync_args)
    assert sync.returncode == 0, f"sync exited {sync.returncode}"
    finished = sync.first("run-finished")
    run_id = str(finished["run_id"])
    print(
        f"{size[0]:,} accounts, {size[1]:,} deals: plan-only {plan.wall_s:.2f} s; "
        f"sync {sync.wall_s:.2f} s = {sync.wall_s / plan.wall_s:.2f}x plan-only; "
        f"{finished['applied']:,} applied, {finished['carried']:,} carried",
        flush=True,
    )
    print("  " + line("sync stages", stages(sync)), flush=True)
    if sync_only:
        shutil.rmtree(work)
        return
    back = run(["rollback", run_id, "-c", str(profile), "--allow-large", "--log-format", "json"])
    # Exit 1 is a finished run with failures: carried deals whose owner before the sync
    # is inactive now stay (the generated books have inactive owners).
    assert back.returncode in (0, 1), f"rollback exited {back.returncode}"
    undone = back.first("run-finished")
    print(
        f"  rollback {back.wall_s:.2f} s = {back.wall_s / plan.wall_s:.2f}x plan-only; "
        f"{undone['status']}: {undone['applied']:,} applied, {undone['carried']:,} carried "
        f"({undone['carried_moved']:,} moved back)",
        flush=True,
    )
    print("  " + line("rollback stages", stages(back)), flush=True)
    # Recovery: a fresh copy, killed in the middle of its apply.
    setup(work, book)  # the same paths: sync_args still name them
    # Half the apply's batches (as many as the local book makes of this many changes).
    changes = int(str(finished["planned"]))
    batches = max(1, -(-changes // batch_size_for(changes, None)) // 2)
    killed = run(sync_args, kill_after_batches=batches)
    assert killed.returncode == -signal.SIGKILL, f"not killed: {killed.returncode}"
    crashed = str(killed.first("run-started")["run_id"])
    again = run(sync_args)
    assert again.returncode == 0, f"sync after kill -9 exited {again.returncode}"
    recovered = again.at("run-finished", run_id=crashed)
    note = again.first("recovering")
    print(
        f"  recovery after kill -9 at apply batch {batches}: {recovered:.2f} s "
        f"= {recovered / plan.wall_s:.2f}x plan-only (found applied {note['found_applied']:,}, "
        f"to write {note['to_write']:,}); that sync's whole wall time {again.wall_s:.2f} s",
        flush=True,
    )
    shutil.rmtree(work)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Whole sync of a local book, by stage")
    parser.add_argument("--full", action="store_true", help="also the 1M-account book")
    parser.add_argument("--sizes", type=int, nargs="*", help="accounts of the sizes to run")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rolesync-bench"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/rolesync-sync-bench"))
    parser.add_argument(
        "--sync-only", action="store_true", help="plan-only and sync: no rollback, no kill -9"
    )
    args = parser.parse_args(argv)
    sizes = SIZES + ([FULL] if args.full else [])
    if args.sizes:
        sizes = [s for s in [*SIZES, FULL] if s[0] in args.sizes]
    for size in sizes:
        work = args.work.resolve() / f"{size[0]}"
        bench_size(size, args.cache.resolve(), work, sync_only=args.sync_only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
