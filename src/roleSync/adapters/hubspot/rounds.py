"""The write loop of ownership changes and metric writes: batch by batch, a
compare-and-set read right before each write, and later rounds for what is not
decided yet; nothing is lost and nothing written twice.

Each batch (at most 100 records, HubSpot's batch limit):

1. `check` reads the records' current state (batch read) and decides those that need no
   write (already at the target, changed by someone else, locked, archived); the rest
   are written at once, so the window between the read and the write is one request.
2. `write` sends one batch update and maps its answer to each record:
   - APPLIED / FAILED: decided.
   - RETRY: a per-record error HubSpot says may pass (CONFLICT: the record was being
     updated by another request): retried in a later round, after a pause.
   - UNKNOWN: the write was sent but no answer came back (dropped connection, timeout,
     502): the next round reads the record before anything is sent again, and the
     read tells whether the write happened. A pause (`settle_seconds`) lets a request
     the server is still working on finish first.

A round that cannot go on (the portal's daily limit, credentials rejected, a read
failing for good) ends the loop: every entry still open is reported with that reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from roleSync.adapters.resilience import RefusedError, RequestError
from roleSync.errors import RoleSyncError

log = logging.getLogger(__name__)

NOT_ATTEMPTED = "not attempted"


class Outcome(StrEnum):
    APPLIED = "applied"
    FAILED = "failed"
    RETRY = "retry"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class RecordResult:
    outcome: Outcome
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RoundSettings:
    batch_size: int = 100
    # Rounds after the first, for per-record errors that may pass and unanswered writes.
    retry_rounds: int = 3
    # Seconds before retry round n: n * retry_pause.
    retry_pause: float = 2.0
    # Seconds before re-reading records whose write went unanswered.
    settle_seconds: float = 5.0


def chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


Check = Callable[[list[str], set[str]], list[str]]
Write = Callable[[list[str]], dict[str, RecordResult]]
Decide = Callable[[str, RecordResult], None]


class Rounds:
    """Drive entries (by record id) to a decision. The caller supplies:

    - `check(ids, unknown)`: read the current state of `ids` (one batch), decide through
      `decide` those that need no write, return the ids to write now. `unknown` are ids
      whose last write went unanswered: found at their target, they were applied.
    - `write(ids)`: write one batch; a result per id.
    - `decide(id, result)`: record an APPLIED or FAILED outcome.
    - `flush()`: optional, after each batch (mirror writes grouped per batch).
    """

    def __init__(
        self,
        settings: RoundSettings,
        *,
        check: Check,
        write: Write,
        decide: Decide,
        sleep: Callable[[float], None],
        flush: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self._check = check
        self._write = write
        self._decide = decide
        self._sleep = sleep
        self._flush = flush or (lambda: None)
        self.open: dict[str, RecordResult] = {}
        self.write_batches = 0

    def run(self, ids: Iterable[str]) -> None:
        self.open = {i: RecordResult(Outcome.UNKNOWN, NOT_ATTEMPTED) for i in ids}
        pending = list(self.open)
        unknown: set[str] = set()
        rounds = self.settings.retry_rounds + 1
        try:
            for round_no in range(rounds):
                if not pending:
                    return
                if round_no:
                    pause = self.settings.retry_pause * round_no
                    if unknown:
                        pause = max(pause, self.settings.settle_seconds)
                    self._sleep(pause)
                pending, unknown = self._round(pending, unknown)
            if unknown:
                # Out of rounds: one last read settles the unanswered writes that did land.
                self._sleep(self.settings.settle_seconds)
                for batch in chunks(sorted(unknown), self.settings.batch_size):
                    still = set(self._check(batch, set(batch)))
                    for decided in set(batch) - still:
                        self.open.pop(decided, None)
                    for record_id in still:
                        last = self.open[record_id].reason
                        self.open[record_id] = RecordResult(
                            Outcome.FAILED, f"not applied: no answer to any attempt ({last})"
                        )
            for record_id, result in list(self.open.items()):
                self._give_up(record_id, result, f"after {rounds} attempts")
        except RoleSyncError as exc:
            # The daily limit, credentials, or a read that kept failing: stop here.
            log.info("stopping the write loop: %s", exc)  # the report says it per entry
            for record_id, result in list(self.open.items()):
                self._give_up(record_id, result, f"the run stopped: {exc}")
        finally:
            self._flush()

    def _round(self, pending: list[str], unknown: set[str]) -> tuple[list[str], set[str]]:
        again: list[str] = []
        unanswered: set[str] = set()
        for batch in chunks(pending, self.settings.batch_size):
            to_write = self._check(batch, unknown & set(batch))
            for decided in set(batch) - set(to_write):
                self.open.pop(decided, None)
            results = self._send(to_write) if to_write else {}
            for record_id, result in results.items():
                if result.outcome in (Outcome.APPLIED, Outcome.FAILED):
                    self._decide(record_id, result)
                    self.open.pop(record_id, None)
                    continue
                self.open[record_id] = result
                again.append(record_id)
                if result.outcome is Outcome.UNKNOWN:
                    unanswered.add(record_id)
            self._flush()
        return again, unanswered

    def _send(self, batch: list[str]) -> dict[str, RecordResult]:
        self.write_batches += 1
        try:
            results = self._write(batch)
        except RefusedError as exc:
            # Refused as a whole (a bad property, a missing scope): nothing was written.
            return {i: RecordResult(Outcome.FAILED, str(exc)) for i in batch}
        except RequestError as exc:
            # Sent, with no usable answer (or not sure it was not sent): read first.
            return {i: RecordResult(Outcome.UNKNOWN, str(exc)) for i in batch}
        # An id HubSpot did not answer for is unknown: read before re-sending.
        return {i: results.get(i, RecordResult(Outcome.UNKNOWN, "no result")) for i in batch}

    def _give_up(self, record_id: str, last: RecordResult, why: str) -> None:
        if last.outcome is Outcome.UNKNOWN and last.reason != NOT_ATTEMPTED:
            reason = (
                f"outcome unknown ({last.reason}); {why}. Re-running the plan is safe: "
                "what is already written is recognised and not written again"
            )
        elif last.outcome in (Outcome.RETRY, Outcome.FAILED):
            reason = f"{last.reason} ({why})"
        else:
            reason = f"not applied: {why}"
        self._decide(record_id, RecordResult(Outcome.FAILED, reason))
        self.open.pop(record_id, None)
