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

import hashlib
import json
import threading
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from roleSync.errors import Diagnostic, InputError, Severity

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
    # Each access token answers 401 EXPIRED_AUTHENTICATION after serving this many API
    # requests, until a new token comes from POST /oauth/v1/token.
    unauthorized_after: int | None = None
    # Share of record ids whose batch updates fail per record (207) on their first
    # `record_error_attempts` attempts.
    record_error_rate: float = 0.0
    record_error_attempts: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in _EVERY:
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(f"{name} must be a whole number >= 1 (or null for off)")
        for name in ("retry_after", "drop_after_processing"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")
        for name in ("record_error_rate", "timeout_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError("seed must be a whole number")
        if not 0.0 <= self.record_error_rate <= 1.0:
            raise ValueError("record_error_rate must be between 0 and 1")
        if not 0.0 <= self.timeout_seconds <= 600:
            raise ValueError("timeout_seconds must be between 0 and 600")
        attempts = self.record_error_attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ValueError("record_error_attempts must be >= 1")


def _every(n: int | None, sequence: int) -> bool:
    return n is not None and sequence % n == 0


class FaultState:
    """The running count of API requests and of write attempts per record."""

    def __init__(self, faults: HubSpotFaults) -> None:
        self.faults = faults
        self._lock = threading.Lock()
        self._sequence = 0
        self._attempts: dict[str, int] = {}

    def next_request(self) -> int:
        with self._lock:
            self._sequence += 1
            return self._sequence

    def timeout(self, sequence: int) -> bool:
        return _every(self.faults.timeout_every, sequence) and self.faults.timeout_seconds > 0

    def drop(self, sequence: int) -> bool:
        return _every(self.faults.drop_every, sequence)

    def bad_gateway(self, sequence: int) -> bool:
        return _every(self.faults.bad_gateway_every, sequence)

    def unavailable(self, sequence: int) -> bool:
        return _every(self.faults.unavailable_every, sequence)

    def rate_limited(self, sequence: int) -> bool:
        return _every(self.faults.rate_limit_every, sequence)

    def error_prone(self, record_id: str) -> bool:
        rate = self.faults.record_error_rate
        if rate <= 0:
            return False
        digest = hashlib.blake2b(f"{self.faults.seed}:{record_id}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big") / 2**64 < rate

    def record_fails(self, record_id: str) -> bool:
        """Count a write attempt on the record; True when this attempt fails."""
        if not self.error_prone(record_id):
            return False
        with self._lock:
            attempt = self._attempts.get(record_id, 0) + 1
            self._attempts[record_id] = attempt
        return attempt <= self.faults.record_error_attempts


def load_faults(path: Path) -> HubSpotFaults:
    """Faults from a YAML or JSON file: the fields of HubSpotFaults, flat or under `faults:`.

    Errors are positioned diagnostics (`file:line:col: error: ...`), all of them.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError([_problem(path, 0, 0, f"cannot read: {exc.strerror}", "io")]) from None
    try:
        document = YAML(typ="rt").load(text) if text.strip() else {}
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        raise InputError([_problem(path, line, col, f"not YAML/JSON: {exc}", "syntax")]) from None
    if isinstance(document, dict) and set(document) == {"faults"}:
        document = document["faults"]
    if not isinstance(document, dict):
        raise InputError([_problem(path, 1, 1, "expected a mapping of fault settings", "type")])
    known = {f.name for f in fields(HubSpotFaults)}
    problems: list[Diagnostic] = []
    values: dict[str, Any] = {}
    for key, value in document.items():
        line, col = _position(document, key)
        if key not in known:
            names = ", ".join(sorted(known))
            problems.append(
                _problem(path, line, col, f"unknown setting {key!r} (known: {names})", "unknown")
            )
            continue
        values[str(key)] = json.loads(json.dumps(value))  # plain Python values
    if not problems:
        try:
            return HubSpotFaults(**values)
        except (TypeError, ValueError) as exc:
            # The messages start with the setting's name: point at that key.
            named = str(exc).split(" ", 1)[0]
            line, col = _position(document, named) if named in document else (1, 1)
            problems.append(_problem(path, line, col, str(exc), "value"))
    raise InputError(problems)


def _position(document: Any, key: Any) -> tuple[int, int]:
    try:
        line, col = document.lc.key(key)
        return int(line) + 1, int(col) + 1
    except (AttributeError, KeyError, TypeError):
        return 0, 0


def _problem(path: Path, line: int, col: int, message: str, code: str) -> Diagnostic:
    return Diagnostic(str(path), line, col, Severity.ERROR, message, f"faults-{code}")
