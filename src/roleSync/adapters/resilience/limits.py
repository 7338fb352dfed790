"""Proactive rate limiters with injectable clocks and sleeps."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

Sleep = Callable[[float], None]
Clock = Callable[[], float]


@dataclass(slots=True)
class TokenBucket:
    """At most `rate` requests per `per` seconds on average, bursts up to `capacity`."""

    rate: float
    per: float = 1.0
    capacity: float | None = None
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep
    _tokens: float = field(init=False, default=0.0)
    _stamp: float | None = field(init=False, default=None)

    def _fill(self) -> None:
        now = self.clock()
        cap = self.capacity if self.capacity is not None else self.rate
        if self._stamp is None:
            self._tokens = cap
        else:
            self._tokens = min(cap, self._tokens + (now - self._stamp) * self.rate / self.per)
        self._stamp = now

    def acquire(self) -> float:
        """Take one token, sleeping until there is one; returns the seconds slept."""
        self._fill()
        waited = 0.0
        if self._tokens < 1:
            waited = (1 - self._tokens) * self.per / self.rate
            self.sleep(waited)
            self._fill()
        self._tokens -= 1
        return waited


@dataclass(slots=True)
class RollingWindow:
    """At most `limit` requests in any `interval` seconds: HubSpot's rolling windows.

    The times of this client's requests in the window are kept; a request that would be
    the `limit + 1`th waits until the oldest one leaves. A request's time is when its
    answer arrived (`completed`), never earlier than the server counted it, so the local
    window never empties before the server's does.
    """

    limit: int
    interval: float
    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep
    _times: deque[float] = field(init=False, default_factory=deque)

    def _expire(self, now: float) -> None:
        while self._times and self._times[0] + self.interval <= now:
            self._times.popleft()

    @property
    def used(self) -> int:
        self._expire(self.clock())
        return len(self._times)

    def wait_needed(self) -> float:
        """Seconds the next request would have to wait (0: it may go now)."""
        now = self.clock()
        self._expire(now)
        if len(self._times) < self.limit:
            return 0.0
        return max(0.0, self._times[len(self._times) - self.limit] + self.interval - now)

    def acquire(self) -> float:
        """Wait until a request may go, and count it; returns the seconds slept."""
        now = self.clock()
        self._expire(now)
        waited = 0.0
        if len(self._times) >= self.limit:
            waited = max(0.0, self._times[len(self._times) - self.limit] + self.interval - now)
            self.sleep(waited)
            # The wait was for these to leave the window: they have, whatever an injected
            # sleep (that does not pass time) leaves the clock saying.
            self._expire(now + waited)
        self._times.append(max(self.clock(), now + waited))
        return waited

    def completed(self) -> None:
        """The last request's answer arrived: count it from now."""
        if self._times:
            self._times[-1] = max(self._times[-1], self.clock())

    def sync(self, used: int) -> None:
        """The server says `used` requests are in its window (ours, and others' sharing the
        app's limit): catch up with it. More than we know of: others' requests, counted
        from now. Fewer: the server's window moved on already, so drop our oldest."""
        now = self.clock()
        self._expire(now)
        while len(self._times) > used:
            self._times.popleft()
        while len(self._times) < used:
            self._times.append(now)

    def until_rolled(self) -> float:
        """Seconds until the oldest request leaves the window (a full interval if none)."""
        now = self.clock()
        self._expire(now)
        return self._times[0] + self.interval - now if self._times else self.interval


@dataclass(slots=True)
class HubSpotLimiter:
    """HubSpot's two per-app limits, kept proactively: the burst window (requests per
    10 s by tier) and search's own per-second window (a search counts against both).

    The burst window starts from the profile's tier (or its explicit `burst`) and then
    follows the X-HubSpot-RateLimit-Max/-Remaining/-Interval-Milliseconds headers of
    every answer, so other clients of the same app are accounted for. An explicit `cap`
    is never exceeded, whatever the headers allow.
    """

    burst: RollingWindow
    search: RollingWindow
    cap: int | None = None
    waited: float = 0.0
    # Local work (converting and storing pulled records) that may run whenever a request
    # would have to wait anyway: time spent on it while the window has room is lost to
    # the limit for good, time spent while it is full costs nothing.
    deferred: deque[Callable[[], None]] = field(default_factory=deque)

    def defer(self, job: Callable[[], None]) -> None:
        self.deferred.append(job)

    def drain(self) -> None:
        """Run every deferred job now."""
        while self.deferred:
            self.deferred.popleft()()

    def _idle(self, search: bool) -> None:
        while self.deferred:
            wait = self.burst.wait_needed()
            if search:
                wait = max(wait, self.search.wait_needed())
            if wait <= 0:
                return
            self.deferred.popleft()()

    def acquire(self, search: bool) -> float:
        self._idle(search)
        waited = self.burst.acquire() if not search else 0.0
        if search:
            # Both windows must have room at the same moment: wait for search first, then
            # for the burst window (which search waits never fill).
            waited += self.search.acquire()
            waited += self.burst.acquire()
        self.waited += waited
        return waited

    def completed(self, search: bool) -> None:
        self.burst.completed()
        if search:
            self.search.completed()

    def observe(self, maximum: int | None, remaining: int | None, interval: float | None) -> None:
        """An answer's X-HubSpot-RateLimit-* headers."""
        if interval:
            self.burst.interval = interval
        if maximum:
            self.burst.limit = min(maximum, self.cap) if self.cap else maximum
        if maximum is not None and remaining is not None:
            self.burst.sync(max(0, maximum - remaining))

    def refused(self, search: bool, hinted: float | None) -> float:
        """A 429 that is not DAILY: how long to wait before trying again. Retry-After when
        given, else until the window that refused us rolls on."""
        if hinted is not None:
            return hinted
        window = self.search if search else self.burst
        return window.until_rolled()
