"""Time and peak RSS of a full plan of a local book, as `rolesync plan` makes it.

Run: python benchmarks/plan_scale.py            # 10k and 100k accounts
     python benchmarks/plan_scale.py --full     # also 1M accounts, 4M deals, 2,000 owners
     python benchmarks/plan_scale.py --sweep    # 100k accounts with 0.4M, 1.6M, 3.2M deals
     python benchmarks/plan_scale.py --profile 100000   # pyinstrument profile of one size

Each book is generated once (book_generator.py, seeded) into a local-book SQLite file
under --cache (generation is setup, timed apart). Each measurement then runs in a fresh
process, so its peak RSS is its own: "pull" reads owners and accounts and folds the deals
into the rules' window (`LocalAdapter.pull(window)`), "plan" is `build_plan`, "json" is
`Plan.to_json`. References measured in the same run: a bare scan of the same file (every
deal and account row fetched by Python's sqlite3, nothing done with them: the floor of
any reader), and the peak RSS of a process with roleSync imported only. The largest size
is planned twice (two processes) and its plan JSON compared byte for byte.

Targets (issue 8): 1M accounts / 4M deals / 2,000 owners in <= 30 s and <= 2 GiB peak
RSS; memory grows with accounts and owners, not with deals.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

# Run as a script, this folder is on sys.path: the generator is a sibling module.
from book_generator import AS_OF, BookSpec, peak_rss_mib, write_local_book

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# (accounts, deals, owners): four deals per account; owners as in the 1M target book.
SIZES = [(10_000, 40_000, 20), (100_000, 400_000, 200)]
FULL = (1_000_000, 4_000_000, 2_000)
SWEEP = [(100_000, 400_000, 200), (100_000, 1_600_000, 200), (100_000, 3_200_000, 200)]
# The shipped routes cap farmers at 400 accounts, but these books give every owner about
# 500, so every handoff would be refused and the picker barely exercised: the benchmark
# raises the cap in every route (the rest of the shipped rules is used as is).
CAPACITY = 5_000
Result = dict[str, float | str | int]


def book_file(cache: Path, size: tuple[int, int, int]) -> Path:
    """The generated book of `size`, written on first use."""
    path = cache / "book-{}a-{}d-{}o.sqlite".format(*size)
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        write_local_book(BookSpec(*size), partial)
        partial.rename(path)
        print(f"  (generated {path.name} in {time.perf_counter() - started:.1f} s)", flush=True)
    return path


def bare_scan(path: Path) -> float:
    """Seconds to fetch every account and deal row, doing nothing with them."""
    conn = sqlite3.connect(path)
    started = time.perf_counter()
    for table in ("accounts", "deals"):
        for _row in conn.execute(f"SELECT * FROM {table}"):
            pass
    conn.close()
    return time.perf_counter() - started


def one(path: Path, capacity: int, profile_to: Path | None) -> Result:
    """Measure one plan in this process (called in a child process)."""
    from roleSync.adapters.local import LocalAdapter
    from roleSync.plan import PlanInputs, build_plan
    from roleSync.plan.carry import pull_window
    from roleSync.plan.triggers import plan_window
    from roleSync.profile import Profile
    from roleSync.rules.classify import CompiledRoles
    from roleSync.rules.routes import CompiledRouting
    from roleSync.rules.ruleset import load_rule_set
    from roleSync.rules.schema import RoutingFile

    baseline = peak_rss_mib()
    rules = load_rule_set([ROOT / "rules" / "roles.yaml", ROOT / "rules" / "routing.yaml"])
    routing_doc = rules.routing.model_dump(mode="json", by_alias=True, exclude_none=True)
    for route in routing_doc["routes"]:
        route["assign"].setdefault("capacity", {})["max_accounts"] = capacity
    inputs = PlanInputs(
        profile="bench",
        roles=CompiledRoles(rules.roles),
        routing=CompiledRouting(RoutingFile.model_validate(routing_doc)),
        rules_digest=rules.digest,
        as_of=AS_OF,
        metric_fields={"role": "Role__c", "new_business_share": "NB_Share__c"},
    )
    adapter = LocalAdapter(Profile.for_local_book(path))
    profiler = None
    if profile_to is not None:
        from pyinstrument import Profiler  # the `bench` extra

        profiler = Profiler(interval=0.005)
        profiler.start()
    started = time.perf_counter()
    # What `rolesync plan` pulls: the deals folded into the rules' window, or every deal
    # when a handoff carries open deals (the shipped routing does since issue 14).
    blocks = rules.routing.blocks
    book = adapter.pull(pull_window(plan_window(AS_OF, rules.roles.window_days, blocks), blocks))
    pull_s = time.perf_counter() - started
    started = time.perf_counter()
    plan = build_plan(book, inputs)
    plan_s = time.perf_counter() - started
    started = time.perf_counter()
    text = plan.to_json()
    json_s = time.perf_counter() - started
    if profiler is not None and profile_to is not None:
        profiler.stop()
        profile_to.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    return {
        "pull_s": pull_s,
        "plan_s": plan_s,
        "json_s": json_s,
        "rss_mib": peak_rss_mib(),
        "baseline_mib": baseline,
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "changes": len(plan.changes),
        "skipped": len(plan.skipped),
        "deals": book.deal_count,
    }


def run_child(path: Path, capacity: int, profile_to: Path | None = None) -> Result:
    command = [sys.executable, __file__, "--one", str(path), "--capacity", str(capacity)]
    if profile_to is not None:
        command += ["--profile-to", str(profile_to)]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    result: Result = json.loads(out.stdout)
    return result


def report(size: tuple[int, int, int], r: Result, scan_s: float) -> None:
    total = float(r["pull_s"]) + float(r["plan_s"]) + float(r["json_s"])
    print(
        f"{size[0]:>9,} accounts {size[1]:>9,} deals {size[2]:>5,} owners: "
        f"pull {float(r['pull_s']):6.2f} s, build_plan {float(r['plan_s']):6.2f} s, "
        f"to_json {float(r['json_s']):5.2f} s, total {total:6.2f} s, "
        f"{sum(size) / total:,.0f} records/s "
        f"(reference, bare row scan: {scan_s:5.2f} s); "
        f"peak RSS {float(r['rss_mib']):7.1f} MiB "
        f"(reference, roleSync imported only: {float(r['baseline_mib']):.1f} MiB); "
        f"{r['changes']:,} handoffs, {r['skipped']:,} skipped",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Plan time and peak RSS of a local book")
    parser.add_argument("--full", action="store_true", help="also the 1M-account book")
    parser.add_argument("--sweep", action="store_true", help="100k accounts, more deals")
    parser.add_argument("--profile", type=int, metavar="ACCOUNTS", help="profile one size")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rolesync-bench"))
    parser.add_argument(
        "--capacity",
        type=int,
        default=CAPACITY,
        help=f"max_accounts per farmer in every route (default {CAPACITY:,})",
    )
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one, args.capacity, args.profile_to)))
        return 0
    if args.profile:
        size = next(s for s in [*SIZES, FULL] if s[0] == args.profile)
        out = args.cache / f"profile-{size[0]}.txt"
        run_child(book_file(args.cache, size), args.capacity, out)
        print(out.read_text())
        return 0
    sizes = SWEEP if args.sweep else SIZES + ([FULL] if args.full else [])
    last: tuple[Path, Result] | None = None
    for size in sizes:
        path = book_file(args.cache, size)
        scan_s = bare_scan(path)
        result = run_child(path, args.capacity)
        report(size, result, scan_s)
        last = (path, result)
    assert last is not None
    path, first = last
    again = run_child(path, args.capacity)
    same = again["sha256"] == first["sha256"]
    print(
        f"{path.name}: plan JSON across two runs (two processes): "
        f"{'byte-identical' if same else 'DIFFERENT'} (sha256 {str(first['sha256'])[:16]}...)"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
