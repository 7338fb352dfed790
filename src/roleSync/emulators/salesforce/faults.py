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
    garbled_every: 13            # every 13th: handled, then answered 200 with a body that
    garbled_body: html           # is not JSON (a proxy's page: html) or nested without end (deep)
    lock_row_rate: 0.1           # 10% of records: UNABLE_TO_LOCK_ROW ...
    lock_row_attempts: 1         # ... on their first attempt only
    seed: 42                     # which records are lock-prone
    only_kinds: [collections_create]  # the every-Nth faults count and hit only these
                                 # request kinds (the emulator's counter names)
    query_job_outcome: failed    # Bulk 2.0 query jobs fail (or: aborted) on their first poll
    query_results_cut_every: 2   # every 2nd query results page: half its body, then closed
    query_results_broken_every: 3  # every 3rd query results page spoilt, as
    query_results_broken: quoting  # quoting | short_row | header | gzip (CRC fails)

With `only_kinds` set, requests of other kinds are neither numbered nor faulted, so
"every 1st collections_create" loses exactly the answers of task creates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from roleSync.emulators.faults import FaultCounter, check_every, every, load_fault_file

GARBLED_BODIES = {
    "html": b"<html><body><h1>502 Bad Gateway</h1>proxy</body></html>",
    "deep": b"[" * 100_000,
}


RESULTS_BREAKS = ("quoting", "short_row", "header", "gzip")


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
    # Every Nth API request is handled (a write happens), then answered 200 with a body
    # no client can read: `html`, a proxy's page; `deep`, JSON nested 100,000 levels.
    garbled_every: int | None = None
    garbled_body: str = "html"
    # Request kinds (counter names, e.g. "collections_create") the every-Nth faults are
    # limited to; empty: every API request.
    only_kinds: tuple[str, ...] = ()
    # Bulk API 2.0 query jobs: "complete" (the default), or "failed" / "aborted" on the
    # first poll; every Nth results page cut halfway (connection closed mid-body).
    query_job_outcome: str = "complete"
    query_results_cut_every: int | None = None
    # Every Nth query results page spoilt: "quoting" (a stray character after a closing
    # quote), "short_row" (a row without its last cell), "header" (a field renamed),
    # "gzip" (compressed, with a CRC that does not match).
    query_results_broken_every: int | None = None
    query_results_broken: str = "quoting"

    def __post_init__(self) -> None:
        if isinstance(self.only_kinds, str) or not all(
            isinstance(k, str) and k for k in self.only_kinds
        ):
            raise ValueError("only_kinds must be a list of request kinds")
        self.only_kinds = tuple(self.only_kinds)
        check_every(
            self,
            (
                "request_limit_after",
                "unavailable_every",
                "slow_every",
                "drop_every",
                "invalid_session_after",
                "garbled_every",
                "query_results_cut_every",
                "query_results_broken_every",
            ),
        )
        if self.query_job_outcome not in {"complete", "failed", "aborted"}:
            raise ValueError("query_job_outcome must be one of complete, failed, aborted")
        if self.query_results_broken not in RESULTS_BREAKS:
            raise ValueError(f"query_results_broken must be one of {', '.join(RESULTS_BREAKS)}")
        if self.garbled_body not in GARBLED_BODIES:
            raise ValueError(f"garbled_body must be one of {', '.join(GARBLED_BODIES)}")
        if not 0.0 <= self.lock_row_rate <= 1.0:
            raise ValueError("lock_row_rate must be between 0 and 1")
        if not 0.0 <= self.slow_seconds <= 600:
            raise ValueError("slow_seconds must be between 0 and 600")
        if self.lock_row_attempts < 1:
            raise ValueError("lock_row_attempts must be >= 1")


class FaultState(FaultCounter[SalesforceFaults]):
    """The running count of API requests and of lock attempts per record."""

    def number(self, kind: str) -> int:
        """The request's number among those the every-Nth faults count; 0 for a kind
        `only_kinds` leaves alone (no fault hits request 0)."""
        only = self.faults.only_kinds
        return self.next_request() if not only or kind in only else 0

    def drop(self, sequence: int) -> bool:
        return sequence > 0 and super().drop(sequence)

    def unavailable(self, sequence: int) -> bool:
        return sequence > 0 and super().unavailable(sequence)

    def slow(self, sequence: int) -> bool:
        return (
            sequence > 0
            and every(self.faults.slow_every, sequence)
            and self.faults.slow_seconds > 0
        )

    def garbled(self, sequence: int) -> bytes | None:
        """The unreadable body that replaces request `sequence`'s answer, if any."""
        if sequence == 0 or not every(self.faults.garbled_every, sequence):
            return None
        return GARBLED_BODIES[self.faults.garbled_body]

    def lock_prone(self, record_id: str) -> bool:
        return self.prone(record_id, self.faults.lock_row_rate)

    def row_locked(self, record_id: str) -> bool:
        """Count a write attempt on the record; True when this attempt hits the lock."""
        faults = self.faults
        return self.attempt_fails(record_id, faults.lock_row_rate, faults.lock_row_attempts)


def load_faults(path: Path) -> SalesforceFaults:
    """Faults from a YAML or JSON file: the fields of SalesforceFaults, flat or under `faults:`.

    Errors are positioned diagnostics (`file:line:col: error: ...`), all of them.
    """
    return load_fault_file(path, SalesforceFaults)
