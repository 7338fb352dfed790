"""Start-up time of the `rolesync` command, beside a bare Python start.

Run: python benchmarks/startup.py [--runs N] [--before PATH] [--no-bytecode-cache]
     python benchmarks/startup.py --importtime

Each command runs N times (default 30) in a fresh process, as a pre-commit hook or a
shell runs it, interleaved (one run of each command in turn) so that load from other
jobs on the machine falls on all of them alike. Prints the median and the 90th
percentile of the wall time, beside two references measured in the same run:
`python -c pass`, and the floor any check pays, importing pydantic and ruamel.yaml and
validating one model. The console script is the one beside this interpreter
(.venv/bin/rolesync), or `python -m roleSync` when there is none.

--before PATH: also time another console script (say, an install of the main branch),
for before/after figures from the same run.

Bytecode: an installed package ships compiled modules (pip compiles them), so by default
the children may cache bytecode (in a temporary folder, PYTHONPYCACHEPREFIX, never in
the source tree) and the untimed first run fills the cache. --no-bytecode-cache sets
PYTHONDONTWRITEBYTECODE instead, so every run compiles roleSync's sources: what an
editable install in an environment with that variable set pays.

--importtime: list the slowest imports of `rolesync check rules/` (`python -X
importtime`, cumulative), to see where the time goes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 30
FLOOR = (
    "from pydantic import BaseModel\n"
    "import ruamel.yaml\n"
    "class One(BaseModel):\n"
    "    x: int\n"
    "One(x=1)\n"
)


def rolesync_command() -> list[str]:
    script = Path(sys.executable).parent / "rolesync"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "roleSync"]


def commands(before: str | None) -> dict[str, list[str]]:
    table = {
        "python -c pass (reference)": [sys.executable, "-c", "pass"],
        "pydantic + ruamel.yaml (floor)": [sys.executable, "-c", FLOOR],
    }
    scripts = {"": rolesync_command()}
    if before:
        scripts["before: "] = [before]
    for label, rolesync in scripts.items():
        table[f"{label}rolesync --version"] = [*rolesync, "--version"]
        table[f"{label}rolesync --help"] = [*rolesync, "--help"]
        table[f"{label}rolesync check rules/"] = [*rolesync, "check", "rules/"]
        table[f"{label}rolesync test rules/tests"] = [*rolesync, "test", "rules/tests"]
    return table


def child_env(cache: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def timed_ms(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr!r}")
    return elapsed


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def slowest_imports(env: dict[str, str], count: int = 20) -> list[tuple[int, str]]:
    """(cumulative µs, module) of the slowest imports of `check rules/`."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "roleSync", "check", "rules/"],
        cwd=ROOT,
        env=env,
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


def run(args: argparse.Namespace, env: dict[str, str]) -> None:
    if args.importtime:
        timed_ms([sys.executable, "-m", "roleSync", "check", "rules/"], env)  # fill the cache
        for micros, module in slowest_imports(env):
            print(f"{micros / 1000:>8.1f} ms  {module}")
        return
    table = commands(args.before)
    times: dict[str, list[float]] = {name: [] for name in table}
    for command in table.values():
        timed_ms(command, env)  # untimed: bytecode and the OS file cache are warm for all
    for _ in range(args.runs):
        for name, command in table.items():
            times[name].append(timed_ms(command, env))
    cached = "no bytecode cache" if args.no_bytecode_cache else "bytecode cached"
    load = os.getloadavg()[0]
    print(f"{args.runs} runs each, interleaved; {cached}; load average {load:.1f}; ", end="")
    print(f"Python {sys.version.split()[0]}")
    print(f"| {'command':<34} | {'median':>7} | {'p90':>7} |")
    print(f"|{'-' * 36}|{'-' * 8}:|{'-' * 8}:|")
    for name, values in times.items():
        median, slow = statistics.median(values), p90(values)
        print(f"| {name:<34} | {median:>4.0f} ms | {slow:>4.0f} ms |")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help="runs of each command")
    parser.add_argument("--before", metavar="PATH", help="another rolesync script to time")
    parser.add_argument(
        "--no-bytecode-cache", action="store_true", help="every run compiles the sources"
    )
    parser.add_argument("--importtime", action="store_true", help="the slowest imports")
    args = parser.parse_args()
    if args.no_bytecode_cache:
        run(args, child_env(None))
        return
    with tempfile.TemporaryDirectory(prefix="rolesync-pycache-") as cache:
        run(args, child_env(Path(cache)))


if __name__ == "__main__":
    main()
