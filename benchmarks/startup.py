"""Start-up time of the `rolesync` command, beside a bare Python start.

Run: python benchmarks/startup.py [--runs N] [--importtime]

Each command runs N times (default 30) in a fresh process, as a pre-commit hook or a
shell runs it, interleaved (one run of each command in turn) so that load from other
jobs on the machine falls on all of them alike. Prints the median and the 90th
percentile of the wall time, and the reference `python -c pass` measured in the same
run. The console script is the one beside this interpreter (.venv/bin/rolesync), or
`python -m roleSync` when there is none.

--importtime: also list the slowest imports of `rolesync check rules/`
(`python -X importtime`, cumulative microseconds), to see where the time goes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 30


def rolesync_command() -> list[str]:
    script = Path(sys.executable).parent / "rolesync"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "roleSync"]


def commands() -> dict[str, list[str]]:
    rolesync = rolesync_command()
    return {
        "python -c pass (reference)": [sys.executable, "-c", "pass"],
        "rolesync --version": [*rolesync, "--version"],
        "rolesync --help": [*rolesync, "--help"],
        "rolesync check rules/": [*rolesync, "check", "rules/"],
        "rolesync test rules/tests": [*rolesync, "test", "rules/tests"],
    }


def timed_ms(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, check=False)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr!r}")
    return elapsed


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def slowest_imports(count: int = 15) -> list[tuple[int, str]]:
    """(cumulative µs, module) of the slowest top-level imports of `check rules/`."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "roleSync", "check", "rules/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    found: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            found.append((int(parts[1]), parts[2].rstrip()))
    return sorted(found, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help="runs of each command")
    parser.add_argument("--importtime", action="store_true", help="list the slowest imports")
    args = parser.parse_args()
    table = commands()
    times: dict[str, list[float]] = {name: [] for name in table}
    for command in table.values():
        timed_ms(command)  # once untimed: the OS file cache is warm for every command
    for _ in range(args.runs):
        for name, command in table.items():
            times[name].append(timed_ms(command))
    load = os.getloadavg()[0]
    print(f"{args.runs} runs each, interleaved; load average {load:.1f}; {sys.version.split()[0]}")
    print(f"{'command':<28} {'median':>9} {'p90':>9}")
    for name, values in times.items():
        print(f"{name:<28} {statistics.median(values):>6.0f} ms {p90(values):>6.0f} ms")
    if args.importtime:
        print("\nslowest imports of `rolesync check rules/` (cumulative):")
        for micros, module in slowest_imports():
            print(f"{micros / 1000:>8.1f} ms  {module}")


if __name__ == "__main__":
    main()
