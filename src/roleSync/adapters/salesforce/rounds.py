"""The write loop shared by ownership changes and metric writes: rounds of
read-check-write until every entry is decided, nothing written twice.

Each round reads the current state of the entries still open (compare-and-set), lets
the caller decide those that need no write, writes the rest, and maps each record's
result to an outcome:

- APPLIED / FAILED: decided.
- LOCKED (UNABLE_TO_LOCK_ROW): retried in a later round, in smaller batches
  (`lock_batch_sizes`), after a pause that grows each round: the lock holder (often a
  parent account being updated by a sibling in the same batch) needs time to finish.
- UNKNOWN (sent, no answer): read again next round before anything is re-sent; the
  read tells whether the write happened. This is what keeps a dropped connection
  from writing a record twice.

A round that cannot go on (the run's budget or the org's daily limit, credentials
rejected, a read failing for good) ends the loop: every entry still open is reported
with that reason, so none is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from roleSync.adapters.resilience import RequestError
from roleSync.adapters.salesforce.client import SalesforceRequestError
from roleSync.errors import RoleSyncError

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    APPLIED = "applied"
    FAILED = "failed"
    LOCKED = "locked"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class RecordResult:
    outcome: Outcome
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RoundSettings:
    batch_size: int = 200
    # Batch sizes of the retries of locked rows, one round each.
    lock_batch_sizes: tuple[int, ...] = (50, 10, 1)
    # Seconds before retry round n: n * lock_pause.
    lock_pause: float = 1.0


def record_result(result: dict[str, object]) -> RecordResult:
    """One entry of a collections response: {"success", "errors": [{"statusCode", ...}]}."""
    if result.get("success") is True:
        return RecordResult(Outcome.APPLIED)
    errors = result.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    return classify_error(str(first.get("statusCode", "")), str(first.get("message", "")))


def classify_error(code: str, message: str) -> RecordResult:
    if code == "UNABLE_TO_LOCK_ROW":
        return RecordResult(Outcome.LOCKED, f"{code}: {message}")
    if code == "ENTITY_IS_DELETED":
        return RecordResult(Outcome.FAILED, "deleted in Salesforce")
    return RecordResult(Outcome.FAILED, f"{code}: {message}" if code else message or "failed")


def chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


Check = Callable[[list[str], set[str]], list[str]]
Write = Callable[[list[str]], dict[str, RecordResult]]
Decide = Callable[[str, RecordResult], None]


class Rounds:
    """Drive entries (by id) to a decision. The caller supplies:

    - `check(ids, unknown)`: read the current state of `ids`, decide (via its own
      bookkeeping) those that need no write, return the ids still to write. `unknown`
      are ids whose last write went unanswered: found at the target, they are applied.
    - `write(ids)`: write one batch; a result per id.
    - `bulk(ids)`: optional, a result per id for a large first round.
    - `decide(id, result)`: record an APPLIED or FAILED outcome.
    - `flush()`: optional, called after each batch and at the end (mirror writes are
      grouped per batch rather than one transaction per record).
    """

    def __init__(
        self,
        settings: RoundSettings,
        *,
        check: Check,
        write: Write,
        decide: Decide,
        sleep: Callable[[float], None],
        bulk: Write | None = None,
        bulk_threshold: int | None = None,
        flush: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self._check = check
        self._write = write
        self._decide = decide
        self._sleep = sleep
        self._bulk = bulk
        self._bulk_threshold = bulk_threshold
        self._flush = flush or (lambda: None)
        self.open: dict[str, RecordResult] = {}

    def run(self, ids: Iterable[str]) -> None:
        lock_sizes = self.settings.lock_batch_sizes
        self.open = {i: RecordResult(Outcome.UNKNOWN, "not attempted") for i in ids}
        locked: set[str] = set()
        unknown: set[str] = set()
        pending = list(self.open)
        try:
            for round_no in range(len(lock_sizes) + 1):
                if not pending:
                    return
                if round_no:
                    self._sleep(self.settings.lock_pause * round_no)
                to_write = self._check(pending, unknown)
                for decided in set(pending) - set(to_write):
                    self.open.pop(decided, None)
                retry_locked = [i for i in to_write if i in locked]
                fresh = [i for i in to_write if i not in locked]
                locked, unknown = set(), set()
                size = lock_sizes[round_no - 1] if round_no else self.settings.batch_size
                batches = self._batches(fresh, round_no) + [
                    (self._write, b) for b in chunks(retry_locked, size)
                ]
                for writer, batch in batches:
                    for record_id, result in self._send(writer, batch).items():
                        if result.outcome in (Outcome.APPLIED, Outcome.FAILED):
                            self._decide(record_id, result)
                            self.open.pop(record_id, None)
                            continue
                        self.open[record_id] = result
                        (locked if result.outcome is Outcome.LOCKED else unknown).add(record_id)
                    self._flush()
                pending = [i for i in self.open if i in locked or i in unknown]
            if unknown:
                # Out of rounds: one last read settles the unanswered writes that did land.
                still = set(self._check(sorted(unknown), unknown))
                for decided in unknown - still:
                    self.open.pop(decided, None)
                for record_id in still:
                    last = self.open[record_id].reason
                    self.open[record_id] = RecordResult(
                        Outcome.FAILED, f"not applied: no answer to any attempt ({last})"
                    )
            for record_id, result in list(self.open.items()):
                self._give_up(record_id, result, f"after {len(lock_sizes) + 1} attempts")
        except RoleSyncError as exc:
            # Budget, daily limit, credentials, or a read that kept failing: stop here.
            log.info("stopping the write loop: %s", exc)  # the report says it per entry
            for record_id, result in list(self.open.items()):
                self._give_up(record_id, result, f"the run stopped: {exc}")
        finally:
            self._flush()

    def _batches(self, ids: list[str], round_no: int) -> list[tuple[Write, list[str]]]:
        if (
            round_no == 0
            and self._bulk is not None
            and self._bulk_threshold is not None
            and len(ids) > self._bulk_threshold
        ):
            return [(self._bulk, ids)]
        return [(self._write, b) for b in chunks(ids, self.settings.batch_size)]

    def _send(self, writer: Write, batch: list[str]) -> dict[str, RecordResult]:
        try:
            results = writer(batch)
        except SalesforceRequestError as exc:
            # Refused as a whole (a bad field, no permission): nothing was written.
            return {i: RecordResult(Outcome.FAILED, str(exc)) for i in batch}
        except RequestError as exc:
            return {i: RecordResult(Outcome.UNKNOWN, str(exc)) for i in batch}
        # An id the CRM did not answer for is unknown: read before re-sending.
        return {i: results.get(i, RecordResult(Outcome.UNKNOWN, "no result")) for i in batch}

    def _give_up(self, record_id: str, last: RecordResult, why: str) -> None:
        if last.outcome is Outcome.UNKNOWN and last.reason != "not attempted":
            reason = (
                f"outcome unknown ({last.reason}); {why}. Re-running the plan is safe: "
                "an account already at its target owner counts as already applied"
            )
        elif last.outcome in (Outcome.LOCKED, Outcome.FAILED):
            reason = f"{last.reason} ({why})"
        else:
            reason = f"not applied: {why}"
        self._decide(record_id, RecordResult(Outcome.FAILED, reason))
        self.open.pop(record_id, None)
