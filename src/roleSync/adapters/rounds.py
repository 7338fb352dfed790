"""The CRM-neutral part of the write loop shared by the Salesforce and HubSpot adapters:
rounds of read-check-write until every entry is decided, nothing written twice.

A CRM's loop (`salesforce.rounds`, `hubspot.rounds`) subclasses `Rounds` and supplies
how one pass over the open entries goes (`_rounds`) and how unanswered writes are read
a last time (`_settle`); this module keeps what both share:

- the outcome of a record (APPLIED / FAILED decided; LOCKED / RETRY retried in a later
  round; UNKNOWN sent with no answer, read again before anything is re-sent);
- sending one batch: refused as a whole (the CRM's `refused` error) means nothing was
  written (FAILED), any other request error means the outcome is unknown;
- the last read of unanswered writes, and giving up: every entry still open when the
  rounds run out, or when a round cannot go on (budget, daily limit, credentials, a
  read failing for good), is reported with that reason, so none is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from roleSync.adapters.base import ApplyJournal, ApplyResult
from roleSync.adapters.resilience import RefusedError, RequestError
from roleSync.errors import RoleSyncError
from roleSync.plan import OwnershipChange

log = logging.getLogger(__name__)

NOT_ATTEMPTED = "not attempted"


class Outcome(StrEnum):
    APPLIED = "applied"
    FAILED = "failed"
    # Salesforce UNABLE_TO_LOCK_ROW: retried later, in smaller batches.
    LOCKED = "locked"
    # A per-record error the CRM says may pass (HubSpot CONFLICT): retried later.
    RETRY = "retry"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class RecordResult:
    outcome: Outcome
    reason: str = ""


def chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


Check = Callable[[list[str], set[str]], list[str]]
Write = Callable[[list[str]], dict[str, RecordResult]]
Decide = Callable[[str, RecordResult], None]
Settings = TypeVar("Settings")


class Rounds(Generic[Settings]):
    """Drive entries (by record id) to a decision. The caller supplies:

    - `check(ids, unknown)`: read the current state of `ids`, decide (via its own
      bookkeeping) those that need no write, return the ids still to write. `unknown`
      are ids whose last write went unanswered: found at the target, they are applied.
    - `write(ids)`: write one batch; a result per id.
    - `decide(id, result)`: record an APPLIED or FAILED outcome.
    - `flush()`: optional, called after each batch and at the end (mirror writes are
      grouped per batch rather than one transaction per record).
    """

    # The error a CRM raises when it refuses a request as a whole.
    refused: type[RequestError] = RefusedError
    # How a give-up reason for an unanswered write explains why a re-run is safe.
    rerun_note = "what is already written is recognised and not written again"

    def __init__(
        self,
        settings: Settings,
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

    @property
    def attempts(self) -> int:
        raise NotImplementedError

    def _rounds(self, pending: list[str]) -> set[str]:
        """Run the rounds; return the ids whose last write went unanswered."""
        raise NotImplementedError

    def _settle(self, unknown: set[str]) -> None:
        """Out of rounds: one last read of the unanswered writes (`_settle_batch`)."""
        raise NotImplementedError

    def run(self, ids: Iterable[str]) -> None:
        self.open = {i: RecordResult(Outcome.UNKNOWN, NOT_ATTEMPTED) for i in ids}
        try:
            unknown = self._rounds(list(self.open))
            if unknown:
                self._settle(unknown)
            for record_id, result in list(self.open.items()):
                self._give_up(record_id, result, f"after {self.attempts} attempts")
        except RoleSyncError as exc:
            # Budget, daily limit, credentials, or a read that kept failing: stop here.
            log.info("stopping the write loop: %s", exc)  # the report says it per entry
            for record_id, result in list(self.open.items()):
                self._give_up(record_id, result, f"the run stopped: {exc}")
        finally:
            self._flush()

    def _checked(self, ids: list[str], unknown: set[str]) -> list[str]:
        """`check` the ids; close those it decided; return those still to write."""
        to_write = self._check(ids, unknown)
        for decided in set(ids) - set(to_write):
            self.open.pop(decided, None)
        return to_write

    def _settle_batch(self, batch: list[str]) -> None:
        # The unanswered writes that did land are found at their target by `check`.
        still = set(self._check(batch, set(batch)))
        for decided in set(batch) - still:
            self.open.pop(decided, None)
        for record_id in still:
            last = self.open[record_id].reason
            self.open[record_id] = RecordResult(
                Outcome.FAILED, f"not applied: no answer to any attempt ({last})"
            )

    def _take(self, record_id: str, result: RecordResult) -> bool:
        """Record one write result; False when the entry stays open for a later round."""
        if result.outcome in (Outcome.APPLIED, Outcome.FAILED):
            self._decide(record_id, result)
            self.open.pop(record_id, None)
            return True
        self.open[record_id] = result
        return False

    def _send(self, writer: Write, batch: list[str]) -> dict[str, RecordResult]:
        self.write_batches += 1
        try:
            results = writer(batch)
        except self.refused as exc:
            # Refused as a whole (a bad field, no permission): nothing was written.
            return {i: RecordResult(Outcome.FAILED, str(exc)) for i in batch}
        except RequestError as exc:
            # Sent, with no usable answer (or not sure it was not sent): read first.
            return {i: RecordResult(Outcome.UNKNOWN, str(exc)) for i in batch}
        # An id the CRM did not answer for is unknown: read before re-sending.
        return {i: results.get(i, RecordResult(Outcome.UNKNOWN, "no result")) for i in batch}

    def _give_up(self, record_id: str, last: RecordResult, why: str) -> None:
        if last.outcome is Outcome.UNKNOWN and last.reason != NOT_ATTEMPTED:
            reason = f"outcome unknown ({last.reason}); {why}. Re-running the plan is safe: "
            reason += self.rerun_note
        elif last.outcome in (Outcome.LOCKED, Outcome.RETRY, Outcome.FAILED):
            reason = f"{last.reason} ({why})"
        else:
            reason = f"not applied: {why}"
        self._decide(record_id, RecordResult(Outcome.FAILED, reason))
        self.open.pop(record_id, None)


class Journaled:
    """Ownership writes with each batch journaled: the intent (the records that passed
    compare-and-set) before it is sent, the decided outcomes after. Records left open
    (retried later, or no answer) stay pending: retried in a later round, or read back
    by the next run if this one dies first. One batch count across every `wrap`ped
    writer; `refused` is the CRM's error for a request refused as a whole."""

    def __init__(
        self,
        journal: ApplyJournal,
        changes: Mapping[str, OwnershipChange],
        refused: type[RequestError] = RefusedError,
    ) -> None:
        self.journal = journal
        self.changes = changes
        self.refused = refused
        self.batches = 0

    def wrap(self, writer: Write) -> Write:
        journal = self.journal

        def write(ids: list[str]) -> dict[str, RecordResult]:
            batch_no, self.batches = self.batches, self.batches + 1
            journal.intent(batch_no, [self.changes[i] for i in ids])
            try:
                results = writer(ids)
            except self.refused as exc:  # refused as a whole: nothing written
                journal.result(batch_no, ApplyResult(failed={i: str(exc) for i in ids}))
                raise
            except RequestError:  # no answer: every record stays open
                journal.result(batch_no, ApplyResult())
                raise
            done = ApplyResult()
            for i, answer in results.items():
                if answer.outcome is Outcome.APPLIED:
                    done.applied.append(i)
                elif answer.outcome is Outcome.FAILED:
                    done.failed[i] = answer.reason
            journal.result(batch_no, done)
            return results

        return write
