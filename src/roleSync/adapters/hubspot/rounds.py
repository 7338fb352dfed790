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

from dataclasses import dataclass

from roleSync.adapters import rounds as shared
from roleSync.adapters.rounds import Outcome, chunks


@dataclass(frozen=True, slots=True)
class RoundSettings:
    batch_size: int = 100
    # Rounds after the first, for per-record errors that may pass and unanswered writes.
    retry_rounds: int = 3
    # Seconds before retry round n: n * retry_pause.
    retry_pause: float = 2.0
    # Seconds before re-reading records whose write went unanswered.
    settle_seconds: float = 5.0


class Rounds(shared.Rounds[RoundSettings]):
    """Drive entries (by record id) to a decision (see `roleSync.adapters.rounds.Rounds`
    for `check`, `write`, `decide` and `flush`). Each `check` reads one batch, and the
    ids it returns are written at once."""

    @property
    def attempts(self) -> int:
        return self.settings.retry_rounds + 1

    def _rounds(self, pending: list[str]) -> set[str]:
        unknown: set[str] = set()
        for round_no in range(self.attempts):
            if not pending:
                return set()
            if round_no:
                pause = self.settings.retry_pause * round_no
                if unknown:
                    pause = max(pause, self.settings.settle_seconds)
                self._sleep(pause)
            pending, unknown = self._round(pending, unknown)
        return unknown

    def _settle(self, unknown: set[str]) -> None:
        self._sleep(self.settings.settle_seconds)
        for batch in chunks(sorted(unknown), self.settings.batch_size):
            self._settle_batch(batch)

    def _round(self, pending: list[str], unknown: set[str]) -> tuple[list[str], set[str]]:
        again: list[str] = []
        unanswered: set[str] = set()
        for batch in chunks(pending, self.settings.batch_size):
            to_write = self._checked(batch, unknown & set(batch))
            results = self._send(self._write, to_write) if to_write else {}
            for record_id, result in results.items():
                if self._take(record_id, result):
                    continue
                again.append(record_id)
                if result.outcome is Outcome.UNKNOWN:
                    unanswered.add(record_id)
            self._flush()
        return again, unanswered
