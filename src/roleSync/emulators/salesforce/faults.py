"""Fault injection: what goes wrong, when, and the bookkeeping that makes it repeatable.

Every "every Nth" fault counts API requests (everything but the OAuth token
endpoint) from 1 in arrival order, so a test that sends the same requests sees
the same faults. Row locks are decided per record Id from `seed`, not by chance
at request time, so a record that is lock-prone stays so, and it fails only on
its first `lock_row_attempts` write attempts: retried later, it succeeds.

A fault file (`rolesync emulate salesforce --faults FILE`) is YAML or JSON holding
these settings, flat or under a `faults:` key; unknown keys are errors:

    request_limit_after: 500     # 403 REQUEST_LIMIT_EXCEEDED from the 501st API call
    unavailable_every: 7         # 503 SERVER_UNAVAILABLE on every 7th
    slow_every: 5                # every 5th waits slow_seconds first
    slow_seconds: 0.5
    drop_every: 11               # every 11th: connection closed, no answer
    drop_after_processing: false # true: the write happens, only the answer is lost
    invalid_session_after: 100   # each token serves 100 calls, then 401 INVALID_SESSION_ID
    lock_row_rate: 0.1           # 10% of records: UNABLE_TO_LOCK_ROW ...
    lock_row_attempts: 1         # ... on their first attempt only
    seed: 42                     # which records are lock-prone
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from roleSync.errors import Diagnostic, InputError, Severity


@dataclass
class SalesforceFaults:
    """All off by default. See the module docstring for how requests are counted."""

    # After this many API requests in the day: 403 REQUEST_LIMIT_EXCEEDED.
    request_limit_after: int | None = None
    # Every Nth API request answers 503 SERVER_UNAVAILABLE.
    unavailable_every: int | None = None
    # Every Nth API request sleeps `slow_seconds` before it is handled.
    slow_every: int | None = None
    slow_seconds: float = 1.0
    # Every Nth API request: the connection closes without an answer.
    drop_every: int | None = None
    # False: the request is dropped before it is processed (nothing written);
    # True: it is processed, then the answer is lost (the write happened).
    drop_after_processing: bool = False
    # Each access token expires after serving this many API requests: 401
    # INVALID_SESSION_ID until a new token comes from /services/oauth2/token.
    invalid_session_after: int | None = None
    # Share of records (by Id) that fail with UNABLE_TO_LOCK_ROW in collections and
    # Bulk 2.0 updates, each on its first `lock_row_attempts` attempts.
    lock_row_rate: float = 0.0
    lock_row_attempts: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in (
            "request_limit_after",
            "unavailable_every",
            "slow_every",
            "drop_every",
            "invalid_session_after",
        ):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(f"{name} must be a whole number >= 1 (or null for off)")
        if not 0.0 <= self.lock_row_rate <= 1.0:
            raise ValueError("lock_row_rate must be between 0 and 1")
        if not 0.0 <= self.slow_seconds <= 600:
            raise ValueError("slow_seconds must be between 0 and 600")
        if self.lock_row_attempts < 1:
            raise ValueError("lock_row_attempts must be >= 1")


def _every(n: int | None, sequence: int) -> bool:
    return n is not None and sequence % n == 0


class FaultState:
    """The running count of API requests and of lock attempts per record."""

    def __init__(self, faults: SalesforceFaults) -> None:
        self.faults = faults
        self._lock = threading.Lock()
        self._sequence = 0
        self._lock_attempts: dict[str, int] = {}

    def next_request(self) -> int:
        with self._lock:
            self._sequence += 1
            return self._sequence

    def slow(self, sequence: int) -> bool:
        return _every(self.faults.slow_every, sequence) and self.faults.slow_seconds > 0

    def drop(self, sequence: int) -> bool:
        return _every(self.faults.drop_every, sequence)

    def unavailable(self, sequence: int) -> bool:
        return _every(self.faults.unavailable_every, sequence)

    def lock_prone(self, record_id: str) -> bool:
        rate = self.faults.lock_row_rate
        if rate <= 0:
            return False
        digest = hashlib.blake2b(f"{self.faults.seed}:{record_id}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big") / 2**64 < rate

    def row_locked(self, record_id: str) -> bool:
        """Count a write attempt on the record; True when this attempt hits the lock."""
        if not self.lock_prone(record_id):
            return False
        with self._lock:
            attempt = self._lock_attempts.get(record_id, 0) + 1
            self._lock_attempts[record_id] = attempt
        return attempt <= self.faults.lock_row_attempts


def load_faults(path: Path) -> SalesforceFaults:
    """Faults from a YAML or JSON file: the fields of SalesforceFaults, flat or under `faults:`.

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
    known = {f.name: f for f in fields(SalesforceFaults)}
    problems: list[Diagnostic] = []
    values: dict[str, Any] = {}
    for key, value in document.items():
        line, col = _position(document, key)
        if key not in known:
            names = ", ".join(known)
            problems.append(
                _problem(path, line, col, f"unknown setting {key!r} (known: {names})", "unknown")
            )
            continue
        values[str(key)] = json.loads(json.dumps(value))  # plain Python values
    if not problems:
        try:
            return SalesforceFaults(**values)
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
