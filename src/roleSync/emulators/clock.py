"""An emulated CRM's notion of now: strictly increasing stamps, ties on demand."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_MS = timedelta(milliseconds=1)


def _wall() -> datetime:
    return datetime.now(UTC)


def _to_ms(moment: datetime) -> datetime:
    # Salesforce stamps carry milliseconds; finer digits would make ties impossible.
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class Clock:
    """The org's notion of now: each stamp is later than the last, by 1 ms if need be.

    Real orgs give many records the same SystemModstamp (bulk writes, triggers), and
    incremental pulls must survive that, so ties can be made on purpose: `freeze()`
    hands out one instant until `unfreeze()`, and `set()` moves the clock (even
    backwards) to replay a scenario.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0) if start is None else start - _wall()
        self._last: datetime | None = None
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        """The next stamp (consumes it)."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            stamp = _to_ms(_wall() + self._offset)
            if self._last is not None and stamp <= self._last:
                stamp = self._last + _MS
            self._last = stamp
            return stamp

    def peek(self) -> datetime:
        """The current time, without consuming a stamp."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            stamp = _to_ms(_wall() + self._offset)
            return stamp if self._last is None or stamp > self._last else self._last

    def set(self, when: datetime) -> None:
        """Make `when` the next stamp; time runs on from there."""
        with self._lock:
            when = _to_ms(when)
            self._offset = when - _wall()
            self._last = when - _MS
            if self._frozen is not None:
                self._frozen = when

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._offset += delta
            if self._frozen is not None:
                self._frozen = _to_ms(self._frozen + delta)

    def freeze(self, when: datetime | None = None) -> None:
        """Every stamp from now on is `when` (default: the current time): ties."""
        moment = _to_ms(when) if when is not None else self.peek()
        with self._lock:
            self._frozen = moment

    def unfreeze(self) -> None:
        with self._lock:
            if self._frozen is not None and (self._last is None or self._frozen > self._last):
                self._last = self._frozen
            self._frozen = None

    @contextmanager
    def frozen(self, when: datetime | None = None) -> Iterator[datetime]:
        self.freeze(when)
        try:
            yield self.peek()
        finally:
            self.unfreeze()
