"""Fault injection for the HubSpot emulator: what goes wrong, when, repeatably.

Every "every Nth" fault counts API requests (everything but the OAuth token endpoint)
from 1 in arrival order, so a test sending the same requests sees the same faults.
When several faults fall on one request, the first of drop, 502, 503, 401, 429 wins
(a timeout only delays the request, which then meets the others). Per-record write
errors are decided per record id from `seed`, not by chance at request time: a record
that is error-prone stays so, and fails only on its first `record_error_attempts`
writes, so a later retry succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from roleSync.emulators.faults import FaultCounter, check_every, every, load_fault_file

_EVERY = (
    "rate_limit_every",
    "daily_limit_after",
    "bad_gateway_every",
    "unavailable_every",
    "timeout_every",
    "drop_every",
    "unauthorized_after",
)


@dataclass
class HubSpotFaults:
    """All off by default. See the module docstring for how requests are counted."""

    # Every Nth API request answers 429 TEN_SECONDLY_ROLLING, whatever the real usage.
    rate_limit_every: int | None = None
    # Whether 429 answers (injected or from the limiter) carry Retry-After: HubSpot's
    # documentation does not settle it, so adapters must work both ways.
    retry_after: bool = True
    # After this many API requests served in the day: 429 DAILY until reset_daily().
    daily_limit_after: int | None = None
    # Every Nth API request answers 502 Bad Gateway / 503 Service Unavailable.
    bad_gateway_every: int | None = None
    unavailable_every: int | None = None
    # Every Nth API request waits `timeout_seconds` before it is handled (and is then
    # handled: a client that gave up does not know whether its write happened).
    timeout_every: int | None = None
    timeout_seconds: float = 5.0
    # Every Nth API request: the connection closes without an answer.
    drop_every: int | None = None
    # False: dropped before it is processed (nothing written); True: processed, then
    # the answer is lost (the write happened).
    drop_after_processing: bool = False
    # Only requests of this route kind (e.g. "tasks_batch_create", see routes.py) are
    # dropped, and drop_every counts those alone: "lose the answer of the first create".
    drop_only: str | None = None
    # Each access token answers 401 EXPIRED_AUTHENTICATION after serving this many API
    # requests, until a new token comes from POST /oauth/v1/token.
    unauthorized_after: int | None = None
    # Share of record ids whose batch updates fail per record (207) on their first
    # `record_error_attempts` attempts.
    record_error_rate: float = 0.0
    record_error_attempts: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        check_every(self, _EVERY)
        for name in ("retry_after", "drop_after_processing"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")
        for name in ("record_error_rate", "timeout_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number")
        if self.drop_only is not None and not isinstance(self.drop_only, str):
            raise ValueError("drop_only must be a request kind (text) or null")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError("seed must be a whole number")
        if not 0.0 <= self.record_error_rate <= 1.0:
            raise ValueError("record_error_rate must be between 0 and 1")
        if not 0.0 <= self.timeout_seconds <= 600:
            raise ValueError("timeout_seconds must be between 0 and 600")
        attempts = self.record_error_attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ValueError("record_error_attempts must be >= 1")


class FaultState(FaultCounter[HubSpotFaults]):
    """The running count of API requests and of write attempts per record."""

    def __init__(self, faults: HubSpotFaults) -> None:
        super().__init__(faults)
        self._only_seen = 0  # requests of the `drop_only` kind so far

    def drops(self, sequence: int, kind: str) -> bool:
        """Whether request number `sequence`, of route kind `kind`, is dropped (call once
        per request)."""
        only = self.faults.drop_only
        if only is None:
            return self.drop(sequence)
        if kind != only:
            return False
        with self._lock:
            self._only_seen += 1
            seen = self._only_seen
        return every(self.faults.drop_every, seen)

    def timeout(self, sequence: int) -> bool:
        return every(self.faults.timeout_every, sequence) and self.faults.timeout_seconds > 0

    def bad_gateway(self, sequence: int) -> bool:
        return every(self.faults.bad_gateway_every, sequence)

    def rate_limited(self, sequence: int) -> bool:
        return every(self.faults.rate_limit_every, sequence)

    def error_prone(self, record_id: str) -> bool:
        return self.prone(record_id, self.faults.record_error_rate)

    def record_fails(self, record_id: str) -> bool:
        """Count a write attempt on the record; True when this attempt fails."""
        faults = self.faults
        return self.attempt_fails(record_id, faults.record_error_rate, faults.record_error_attempts)


def load_faults(path: Path) -> HubSpotFaults:
    """Faults from a YAML or JSON file: the fields of HubSpotFaults, flat or under `faults:`.

    Errors are positioned diagnostics (`file:line:col: error: ...`), all of them.
    """
    return load_fault_file(path, HubSpotFaults, sort_names=True)
