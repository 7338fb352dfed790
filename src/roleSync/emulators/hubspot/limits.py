"""HubSpot's rate limits: a rolling burst window, a daily quota, and search's own limit.

Each bucket (one per app: the private-app token, or the OAuth app whose tokens come
from /oauth/v1/token) has a rolling window of `burst_limit` requests per
`interval_ms`, a daily count, and a rolling window of `search_limit` search requests
per `search_interval_ms`. Refused requests do not count against any of them.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
SECONDLY = "SECONDLY"
DAILY = "DAILY"
MESSAGES = {
    TEN_SECONDLY: "You have reached your ten_secondly_rolling limit.",
    SECONDLY: "You have reached your secondly limit.",
    DAILY: "You have reached your daily limit.",
}


@dataclass(frozen=True, slots=True)
class Admission:
    policy: str | None  # None: admitted; else the policy that refused the request
    retry_after: float  # seconds until the refused request could succeed
    headers: dict[str, str]


@dataclass
class _Bucket:
    burst: deque[float] = field(default_factory=deque)
    search: deque[float] = field(default_factory=deque)
    daily: int = 0


class RateLimiter:
    def __init__(
        self,
        *,
        burst_limit: int,
        interval_ms: int,
        daily_limit: int,
        search_limit: int,
        search_interval_ms: int = 1000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst_limit = burst_limit
        self.interval = interval_ms / 1000
        self.interval_ms = interval_ms
        self.daily_limit = daily_limit
        self.search_limit = search_limit
        self.search_interval = search_interval_ms / 1000
        self._now = now
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    def admit(self, bucket: str, *, search: bool, daily_ceiling: int | None = None) -> Admission:
        """Count the request against `bucket`, or say which limit refuses it."""
        ceiling = self.daily_limit if daily_ceiling is None else daily_ceiling
        with self._lock:
            now = self._now()
            state = self._buckets.setdefault(bucket, _Bucket())
            _expire(state.burst, now - self.interval)
            _expire(state.search, now - self.search_interval)
            policy: str | None = None
            wait = 0.0
            if state.daily >= ceiling:
                policy, wait = DAILY, _until_midnight()
            elif len(state.burst) >= self.burst_limit:
                policy = TEN_SECONDLY
                wait = state.burst[0] + self.interval - now
            elif search and len(state.search) >= self.search_limit:
                policy = SECONDLY
                wait = state.search[0] + self.search_interval - now
            else:
                state.burst.append(now)
                if search:
                    state.search.append(now)
                state.daily += 1
            return Admission(policy, max(0.0, wait), self._headers(state, ceiling))

    def headers(self, bucket: str, daily_ceiling: int | None = None) -> dict[str, str]:
        """The rate-limit headers as they stand, without counting a request."""
        ceiling = self.daily_limit if daily_ceiling is None else daily_ceiling
        with self._lock:
            state = self._buckets.setdefault(bucket, _Bucket())
            _expire(state.burst, self._now() - self.interval)
            return self._headers(state, ceiling)

    def used_today(self, bucket: str) -> int:
        with self._lock:
            state = self._buckets.get(bucket)
            return 0 if state is None else state.daily

    def reset_daily(self) -> None:
        with self._lock:
            for state in self._buckets.values():
                state.daily = 0

    def _headers(self, state: _Bucket, ceiling: int) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Max": str(self.burst_limit),
            "X-HubSpot-RateLimit-Remaining": str(max(0, self.burst_limit - len(state.burst))),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.interval_ms),
            "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, ceiling - state.daily)),
        }


def retry_after_header(seconds: float) -> str:
    # HTTP's Retry-After holds whole seconds: round up, so a client that obeys it
    # never comes back too early.
    return str(max(1, math.ceil(seconds)))


def _expire(window: deque[float], horizon: float) -> None:
    while window and window[0] <= horizon:
        window.popleft()


def _until_midnight() -> float:
    now = datetime.now(UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    return (midnight - now).total_seconds()
