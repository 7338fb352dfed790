"""A full HubSpot pull of ~500 requests under a burst limit of 100 requests per interval.

Run: python benchmarks/hubspot_burst.py [--interval-ms 1000 --interval-ms 2000] [--runs 3]

The emulator enforces HubSpot's rolling window (100 requests per interval; HubSpot's is
10 s, scaled down here so a run takes seconds) and answers 429 to anything over it; the
adapter's proactive limiter (fed by the X-HubSpot-RateLimit-* headers) must keep under
it without wasting it.

Printed per run: requests issued; failed requests (any answer outside 2xx, 429s
included: must be 0); 429s received; the elapsed time of the pull (connecting, every
request, converting and storing 36,000 records, reading the Book back); the request
phase (first request sent to last answer received); and the time the limit itself
requires. A rolling window of L requests per interval I lets the first L requests go at
once and each later block of L one interval after the block before, so N requests
cannot all be sent before (ceil(N / L) - 1) * I: the "required" time, against which both
the elapsed time and the request phase are given. The share of the allowed rate is the
mean number of requests sent in each full interval of the request phase (counted from
the first request) over L: 100% means every interval was used to the limit.

For reference, the same pull without any limit: the emulator's and the client's own
service time, which no limiter can hide in the last block of requests.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from roleSync.adapters.hubspot import HubSpotAdapter
from roleSync.adapters.resilience import HubSpotLimiter
from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotEmulatorConfig
from roleSync.profile import Profile

LIMIT = 100
AS_OF = datetime(2026, 6, 30, tzinfo=UTC)
# 12,000 companies (120 list pages), 24,000 deals (240), company-deal associations read
# from the companies side (120), 2 probes, 2 owner lists, 1 users list: 485 requests.
PORTAL = {"owners": 30, "companies": 12_000, "deals": 24_000}


@dataclass(frozen=True, slots=True)
class Run:
    requests: int
    failed: int
    rate_limited: int
    elapsed: float
    phase: float  # first request sent to last answer received
    sent: list[float]  # when each request was sent, from the first


class TimedLimiter:
    """The adapter's limiter, noting when each request is sent and answered."""

    def __init__(self, inner: HubSpotLimiter) -> None:
        self.inner = inner
        self.sent: list[float] = []
        self.answered: list[float] = []

    def acquire(self, search: bool) -> float:
        waited = self.inner.acquire(search)
        self.sent.append(time.perf_counter())
        return waited

    def completed(self, search: bool) -> None:
        self.answered.append(time.perf_counter())
        self.inner.completed(search)

    def observe(self, maximum: int | None, remaining: int | None, interval: float | None) -> None:
        self.inner.observe(maximum, remaining, interval)

    def refused(self, search: bool, hinted: float | None) -> float:
        return self.inner.refused(search, hinted)


def _profile(emu: HubSpotEmulator, folder: Path, interval_ms: int, limited: bool) -> Profile:
    rate_limit: dict[str, Any] = (
        {"tier": "free", "interval_ms": interval_ms, "search_per_second": 4}
        if limited
        else {"burst": 10_000, "search_per_second": 1000}
    )
    data = {
        "version": 1,
        "kind": "hubspot",
        "name": "burst",
        "hubspot": {"host": emu.url, "rate_limit": rate_limit},
        "metrics": {"fields": {"role": "rolesync_role"}},
    }
    return Profile.model_validate(data).with_base_dir(folder)


def pull_once(interval_ms: int, limited: bool) -> Run:
    config = HubSpotEmulatorConfig(
        burst_limit=LIMIT if limited else 1_000_000,
        interval_ms=interval_ms,
        daily_limit=10_000_000,
        search_rate_limit=5 if limited else 1_000_000,
        log_size=100_000,
    )
    with HubSpotEmulator(config) as emu, tempfile.TemporaryDirectory() as folder:
        emu.seed(**PORTAL, seed=1, as_of=AS_OF)
        env = {"HUBSPOT_ACCESS_TOKEN": emu.config.access_token}
        adapter = HubSpotAdapter(_profile(emu, Path(folder), interval_ms, limited), env=env)
        timed = TimedLimiter(adapter.client.limiter)
        adapter.client.runner.limiter = timed  # every request passes its acquire
        started = time.perf_counter()
        adapter.pull()
        elapsed = time.perf_counter() - started
        adapter.close()
        failed = sum(1 for e in emu.log if e.status is None or not 200 <= e.status < 300)
        return Run(
            adapter.requests_sent,
            failed,
            emu.counters["rate_limited"],
            elapsed,
            timed.answered[-1] - timed.sent[0],
            [t - timed.sent[0] for t in timed.sent],
        )


def window_share(sent: list[float], interval: float) -> float:
    """Mean requests per full interval of the request phase, over the limit."""
    full = math.floor(sent[-1] / interval)
    if full == 0:
        return 1.0
    counts = [sum(1 for t in sent if k * interval <= t < (k + 1) * interval) for k in range(full)]
    return sum(counts) / len(counts) / LIMIT


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--interval-ms", type=int, action="append")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    free = pull_once(1000, limited=False)
    print(
        f"without a limit: {free.requests} requests, pull {free.elapsed:.2f} s, "
        f"request phase {free.phase:.2f} s (service time)\n"
    )
    print(
        "interval  run  requests  failed  429s  required  elapsed (ratio)  "
        "request phase (ratio)  share of allowed rate"
    )
    for interval_ms in args.interval_ms or [1000, 2000]:
        interval = interval_ms / 1000
        for n in range(1, args.runs + 1):
            run = pull_once(interval_ms, limited=True)
            required = (math.ceil(run.requests / LIMIT) - 1) * interval
            print(
                f"{interval_ms:>6} ms  {n:>3}  {run.requests:>8}  {run.failed:>6}  "
                f"{run.rate_limited:>4}  {required:>7.2f}s  {run.elapsed:>7.2f}s "
                f"({run.elapsed / required:.0%})  {run.phase:>13.2f}s "
                f"({run.phase / required:.0%})  {window_share(run.sent, interval):>21.0%}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
