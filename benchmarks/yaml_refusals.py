"""How fast hostile rule files are refused: an alias bomb and a 20 MB file.

Run: python benchmarks/yaml_refusals.py
Prints the median of 20 runs of `check_rule_file` on each, next to the time to check the
shipped rules (the reference: a normal file, checked in full).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from roleSync.rules.ruleset import check_rule_file

ROOT = Path(__file__).resolve().parents[1]
RUNS = 20


def median_ms(action: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    bomb = ROOT / "tests" / "data" / "bad_rules" / "alias_bomb.yaml"
    with tempfile.TemporaryDirectory() as folder:
        big = Path(folder) / "big.yaml"
        big.write_bytes(b"version: 1\n" + b"# padding\n" * 2_000_000)  # 20 MB
        cases = {
            "alias bomb (9 levels, 9**8 leaves if expanded)": bomb,
            f"20 MB file ({big.stat().st_size:,} bytes)": big,
            "reference: rules/routing.yaml (valid, fully checked)": ROOT / "rules" / "routing.yaml",
        }
        for label, path in cases.items():
            codes = sorted({d.code for d in check_rule_file(path)[2]}) or ["clean"]
            elapsed = median_ms(partial(check_rule_file, path))
            print(f"{elapsed:8.2f} ms  {label}: {codes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
