"""What the writers of carried records and of handoff tasks share: journaling each
batch through the RelatedJournal, and the write loop's Salesforce rounds with one bulk
job per sObject type.

A batch holds carried records (of up to three types) or handoff tasks, never both; one
batch count runs across both writers of one `apply_related` call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from roleSync.adapters.base import RelatedJournal, RelatedResult
from roleSync.adapters.resilience import RequestError
from roleSync.adapters.rounds import Outcome, RecordResult, Write, chunks
from roleSync.adapters.salesforce.client import SalesforceRequestError
from roleSync.adapters.salesforce.rounds import Rounds
from roleSync.plan.types import HandoffTask, RelatedChange

# The reason of an APPLIED task result that means "found, created before": the task
# writer counts it as existing, not created.
EXISTING = "a task with this key exists"


def related_outcomes(results: Mapping[str, RecordResult], *, tasks: bool) -> RelatedResult:
    """The decided results of one batch as a RelatedResult; open ones are left out (a
    later round retries them, or the next run reads them back)."""
    done = RelatedResult()
    for key, answer in results.items():
        if answer.outcome is Outcome.APPLIED:
            if not tasks:
                done.applied.append(key)
            elif answer.reason == EXISTING:
                done.tasks_existing.append(key)
            else:
                done.tasks_created.append(key)
        elif answer.outcome is Outcome.FAILED:
            (done.tasks_failed if tasks else done.failed)[key] = answer.reason
    return done


class RelatedJournaled:
    """Writes with each batch journaled: the intent (entries that passed the check)
    before it is sent, the decided outcomes after. Entries left open stay pending in
    the journal: retried in a later round, or read back by the next run if this one
    dies first."""

    def __init__(self, journal: RelatedJournal) -> None:
        self.journal = journal
        self.batches = 0

    def wrap(
        self,
        writer: Write,
        entries: Mapping[str, RelatedChange] | Mapping[str, HandoffTask],
        *,
        tasks: bool,
    ) -> Write:
        journal = self.journal

        def write(keys: list[str]) -> dict[str, RecordResult]:
            batch_no, self.batches = self.batches, self.batches + 1
            journal.intent(batch_no, [entries[k] for k in keys])
            try:
                results = writer(keys)
            except SalesforceRequestError as exc:  # refused as a whole: nothing written
                failed = {k: RecordResult(Outcome.FAILED, str(exc)) for k in keys}
                journal.result(batch_no, related_outcomes(failed, tasks=tasks))
                raise
            except RequestError:  # no answer: every entry stays open
                journal.result(batch_no, RelatedResult())
                raise
            journal.result(batch_no, related_outcomes(results, tasks=tasks))
            return results

        return write


def maybe_journaled(
    journaled: RelatedJournaled | None,
    writer: Write,
    entries: Mapping[str, RelatedChange] | Mapping[str, HandoffTask],
    *,
    tasks: bool,
) -> Write:
    return writer if journaled is None else journaled.wrap(writer, entries, tasks=tasks)


class RecordRounds(Rounds):
    """Rounds over carried records of several sObject types: a first round with more
    records of one type than the bulk threshold sends that type as one Bulk API 2.0 job
    (a job holds one type); everything else goes through sObject Collections, 200 a
    request, types mixed."""

    rerun_note = "a record already at its target owner counts as already applied"

    def __init__(self, *args: Any, type_of: Callable[[str], str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._type_of = type_of

    def _batches(self, ids: list[str], round_no: int) -> list[tuple[Write, list[str]]]:
        if round_no or self._bulk is None or self._bulk_threshold is None:
            return super()._batches(ids, round_no)
        by_type: dict[str, list[str]] = {}
        for key in ids:
            by_type.setdefault(self._type_of(key), []).append(key)
        big = {t for t, keys in by_type.items() if len(keys) > self._bulk_threshold}
        batches: list[tuple[Write, list[str]]] = [(self._bulk, by_type[t]) for t in sorted(big)]
        rest = [key for key in ids if self._type_of(key) not in big]
        batches += [(self._write, batch) for batch in chunks(rest, self.settings.batch_size)]
        return batches


class TaskRounds(Rounds):
    """Rounds over handoff tasks to create: a task whose create went unanswered is
    looked up by its key before anything is sent again."""

    rerun_note = "a task whose key is found in Salesforce is not created again"
