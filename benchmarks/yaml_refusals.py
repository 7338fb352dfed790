"""How fast hostile YAML files are refused, beside checking an ordinary rule file.

Run: python benchmarks/yaml_refusals.py [--runs N]

1. `rolesync check FILE` in a child process, wall time (median of N runs, start-up of
   Python included) on files nested without end: 20,000 `[`, 1,000 closed brackets,
   5,000 nested `{a:` in a profile, a mapping indented 1,000 levels deep, 20,000 `- `
   on one line, a fault file of nested JSON (`rolesync emulate --faults`), next to
   `rolesync check rules/` on the shipped rules: the reference.
2. In process, median of 20 calls of `check`'s own function (`check_paths`): the same
   files, an alias bomb and a 20 MB file, next to the shipped routing.yaml.
A run over 60 s is stopped and shown as such (the 20,000 `[` took 313 s before the
depth limit).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from roleSync.check import check_paths

ROOT = Path(__file__).resolve().parents[1]
RUNS = 20
TIMEOUT_S = 60


def median_ms(action: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def hostile_files(folder: Path) -> dict[str, Path]:
    """Each hostile file, written into `folder`, by what it is."""
    texts = {
        "20,000 unclosed [ (rule file, 20 KB)": (
            "roles.yaml",
            "version: 1\nkind: roles\nclassify: " + "[" * 20_000 + "\n",
        ),
        "1,000 closed brackets (rule file)": (
            "closed.yaml",
            "version: 1\nkind: roles\nclassify: " + "[" * 1000 + "]" * 1000 + "\n",
        ),
        "5,000 nested {a: (profile)": (
            "local.yaml",
            "version: 1\nkind: local\nname: x\nlocal: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
        ),
        "mapping indented 1,000 levels deep (rule file, 500 KB)": (
            "block.yaml",
            "".join(" " * level + "a:\n" for level in range(1000)),
        ),
        "20,000 '- ' on one line (rule file)": ("dashes.yaml", "- " * 20_000 + "x\n"),
        "rule test naming 5,000 nested [ (rule test)": (
            "deep.test.yaml",
            "rule_files: " + "[" * 5000 + "]" * 5000 + "\n",
        ),
    }
    written = {}
    for label, (name, text) in texts.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written[label] = path
    return written


def wall_ms(command: list[str], runs: int) -> tuple[float, str]:
    """Median wall time of `command` and the last line it printed (or why it stopped)."""
    times = []
    last = ""
    for _ in range(runs):
        started = time.perf_counter()
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            return TIMEOUT_S * 1000, f"stopped after {TIMEOUT_S} s"
        times.append((time.perf_counter() - started) * 1000)
        lines = (done.stderr or done.stdout).strip().splitlines()
        last = f"exit {done.returncode}: {lines[0] if lines else ''}"
        if "Traceback" in done.stderr:
            last = f"exit {done.returncode}: traceback: {lines[-1]}"
    return statistics.median(times), last


def child_process_section(runs: int) -> None:
    rolesync = [sys.executable, "-m", "roleSync"]
    print(f"rolesync check in a child process, median of {runs} runs (wall time):")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        cases = {label: [*rolesync, "check", str(p)] for label, p in hostile_files(folder).items()}
        faults = folder / "faults.json"
        faults.write_text('{"seed": ' + "[" * 20_000 + "]" * 20_000 + "}", encoding="utf-8")
        cases["fault file of 20,000 nested [ (emulate --faults)"] = [
            *rolesync,
            "emulate",
            "salesforce",
            "--port",
            "0",
            "--faults",
            str(faults),
        ]
        cases["reference: rolesync check rules/ (2 valid files, fully checked)"] = [
            *rolesync,
            "check",
            str(ROOT / "rules"),
        ]
        cases["reference: python -c pass (interpreter start-up alone)"] = [
            sys.executable,
            "-c",
            "pass",
        ]
        for label, command in cases.items():
            elapsed, last = wall_ms(command, runs)
            shown = last.replace(str(folder) + "/", "").replace(str(ROOT) + "/", "")
            print(f"{elapsed:9.0f} ms  {label}\n{'':13}{shown[:110]}")


def in_process_section() -> None:
    print(f"\nIn process (no start-up), median of {RUNS} calls of `check`'s own function:")
    bomb = ROOT / "tests" / "data" / "bad_rules" / "alias_bomb.yaml"
    with tempfile.TemporaryDirectory() as folder:
        big = Path(folder) / "big.yaml"
        big.write_bytes(b"version: 1\n" + b"# padding\n" * 2_000_000)  # 20 MB
        cases = {
            **hostile_files(Path(folder)),
            "alias bomb (9 levels, 9**8 leaves if expanded)": bomb,
            f"20 MB file ({big.stat().st_size:,} bytes)": big,
            "reference: rules/routing.yaml (valid, fully checked)": ROOT / "rules" / "routing.yaml",
        }
        for label, path in cases.items():
            codes = sorted({d.code for d in check_paths([path])[1]}) or ["clean"]
            elapsed = median_ms(partial(check_paths, [path]))
            print(f"{elapsed:8.2f} ms  {label}: {codes}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="child-process runs per file")
    args = parser.parse_args()
    child_process_section(args.runs)
    in_process_section()
    return 0


if __name__ == "__main__":
    sys.exit(main())
