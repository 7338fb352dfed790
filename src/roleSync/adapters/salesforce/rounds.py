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

from collections.abc import Callable
from dataclasses import dataclass

from roleSync.adapters import rounds as shared
from roleSync.adapters.rounds import Check, Decide, Outcome, RecordResult, Write, chunks
from roleSync.adapters.salesforce.client import SalesforceRequestError


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


class Rounds(shared.Rounds[RoundSettings]):
    """Drive entries (by id) to a decision (see `roleSync.adapters.rounds.Rounds` for
    `check`, `write`, `decide` and `flush`). Salesforce adds:

    - `bulk(ids)`: optional, a result per id for a large first round.
    """

    refused = SalesforceRequestError
    rerun_note = "an account already at its target owner counts as already applied"

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
        super().__init__(
            settings, check=check, write=write, decide=decide, sleep=sleep, flush=flush
        )
        self._bulk = bulk
        self._bulk_threshold = bulk_threshold

    @property
    def attempts(self) -> int:
        return len(self.settings.lock_batch_sizes) + 1

    def _rounds(self, pending: list[str]) -> set[str]:
        lock_sizes = self.settings.lock_batch_sizes
        locked: set[str] = set()
        unknown: set[str] = set()
        for round_no in range(len(lock_sizes) + 1):
            if not pending:
                return set()
            if round_no:
                self._sleep(self.settings.lock_pause * round_no)
            to_write = self._checked(pending, unknown)
            retry_locked = [i for i in to_write if i in locked]
            fresh = [i for i in to_write if i not in locked]
            locked, unknown = set(), set()
            size = lock_sizes[round_no - 1] if round_no else self.settings.batch_size
            batches = self._batches(fresh, round_no) + [
                (self._write, b) for b in chunks(retry_locked, size)
            ]
            for writer, batch in batches:
                for record_id, result in self._send(writer, batch).items():
                    if not self._take(record_id, result):
                        (locked if result.outcome is Outcome.LOCKED else unknown).add(record_id)
                self._flush()
            pending = [i for i in self.open if i in locked or i in unknown]
        return unknown

    def _settle(self, unknown: set[str]) -> None:
        self._settle_batch(sorted(unknown))

    def _batches(self, ids: list[str], round_no: int) -> list[tuple[Write, list[str]]]:
        if (
            round_no == 0
            and self._bulk is not None
            and self._bulk_threshold is not None
            and len(ids) > self._bulk_threshold
        ):
            return [(self._bulk, ids)]
        return [(self._write, b) for b in chunks(ids, self.settings.batch_size)]
