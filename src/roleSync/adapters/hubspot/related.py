"""Write what a handoff carries: the owners of carried deals, contacts and open tasks
(`hubspot_owner_id` through batch update, 100 a request), and the handoff tasks
(related_tasks.py), every batch journaled.

The records of each object type go through the shared write loop (`Rounds`), keyed by
`plan.types.related_key` ("deal:123"): a contact and a deal may share a numeric id.
Each batch is read (batch read) right before it is written (compare-and-set):

- gone (deleted or archived) -> failed;
- owned by the target already -> already applied (applied when our own write went
  unanswered: the read shows it landed);
- a deal closed since (its stage's closed flag, as the pull decides it) or a task
  completed since -> conflict: a closed record never moves;
- owned by anyone but `from_owner_id` -> conflict;
- otherwise written at once.

A target owner unknown or archived (the person left) is failed before anything is read.
What the reads found and what was written goes into the mirror batch by batch, so the
next plan sees it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from roleSync.adapters.base import RelatedJournal, RelatedResult
from roleSync.adapters.hubspot.client import HubSpotClient
from roleSync.adapters.hubspot.records import (
    CONTACT_PROPERTIES,
    DELETED,
    OWNER,
    TASK_DONE,
    TASK_PROPERTIES,
    batch_answer,
    contact_row,
    deal_properties,
    deal_row,
    task_row,
    text,
    write_results,
)
from roleSync.adapters.hubspot.rounds import Rounds, RoundSettings
from roleSync.adapters.mirror import Mirror, Row, Table
from roleSync.adapters.resilience import RefusedError, RequestError
from roleSync.adapters.rounds import Outcome, RecordResult, Write
from roleSync.plan.types import HandoffTask, RelatedChange, RelatedObject, related_key
from roleSync.profile import Profile

OBJECT_TYPES: dict[RelatedObject, str] = {
    RelatedObject.DEAL: "deals",
    RelatedObject.CONTACT: "contacts",
    RelatedObject.TASK: "tasks",
}
TABLES: dict[RelatedObject, Table] = {
    RelatedObject.DEAL: "deals",
    RelatedObject.CONTACT: "contacts",
    RelatedObject.TASK: "tasks",
}
CLOSED = {
    RelatedObject.DEAL: "the deal was closed after the plan was made",
    RelatedObject.TASK: "the task was completed after the plan was made",
}


def estimate_related_requests(
    records: Mapping[RelatedObject, int], tasks: int, batch: int = 100
) -> int:
    """Requests `apply_related` is expected to send without faults: the owners (active,
    archived, and the users object when metrics go there), a compare-and-set read and a
    write per batch of each object's carried records, a read by key and a create per
    batch of tasks."""
    if not any(records.values()) and not tasks:
        return 0
    batches = sum(math.ceil(n / batch) for n in records.values()) + math.ceil(tasks / batch)
    return 3 + 2 * batches


def target_problem(owner_id: str, active: Mapping[str, bool]) -> str | None:
    """Why `owner_id` may not receive records or tasks, or None."""
    if owner_id not in active:
        return f"target owner {owner_id} no longer exists"
    if not active[owner_id]:
        # Archived owners (the person left) never receive records.
        return f"target owner {owner_id} is inactive (archived in HubSpot)"
    return None


class RelatedBatches:
    """Carried records and handoff tasks with each batch journaled: the intent (the
    entries about to be written) before it is sent, the decided outcomes after. One
    batch count across every `wrap`ped writer of one `apply_related` call; entries left
    open (retried later, or no answer) stay pending in the journal."""

    def __init__(self, journal: RelatedJournal | None) -> None:
        self.journal = journal
        self.batches = 0

    def wrap(
        self, writer: Write, entries: Mapping[str, RelatedChange | HandoffTask], *, tasks: bool
    ) -> Write:
        journal = self.journal
        if journal is None:
            return writer

        def outcome(answers: Mapping[str, RecordResult]) -> RelatedResult:
            done = RelatedResult()
            for key, answer in answers.items():
                if answer.outcome is Outcome.APPLIED:
                    (done.tasks_created if tasks else done.applied).append(key)
                elif answer.outcome is Outcome.FAILED:
                    (done.tasks_failed if tasks else done.failed)[key] = answer.reason
            return done

        def write(keys: list[str]) -> dict[str, RecordResult]:
            batch_no, self.batches = self.batches, self.batches + 1
            journal.intent(batch_no, [entries[k] for k in keys])
            try:
                results = writer(keys)
            except RefusedError as exc:  # refused as a whole: nothing written
                reason = str(exc)
                journal.result(batch_no, outcome(dict.fromkeys(keys, _failed(reason))))
                raise
            except RequestError:  # no answer: every entry stays open
                journal.result(batch_no, RelatedResult())
                raise
            journal.result(batch_no, outcome(results))
            return results

        return write


def _failed(reason: str) -> RecordResult:
    return RecordResult(Outcome.FAILED, reason)


class RecordOwners:
    """The owners of one object type's carried records, keyed by `related_key`."""

    def __init__(
        self,
        client: HubSpotClient,
        mirror: Mirror,
        profile: Profile,
        kind: RelatedObject,
        result: RelatedResult,
        settings: RoundSettings,
        sleep: Callable[[float], None],
        batches: RelatedBatches,
    ) -> None:
        assert profile.hubspot is not None
        self.client = client
        self.mirror = mirror
        self.profile = profile
        self.kind = kind
        self.object_type = OBJECT_TYPES[kind]
        self.result = result
        self.settings = settings
        self.sleep = sleep
        self.batches = batches
        self.changes: dict[str, RelatedChange] = {}
        # What the last read found of each record about to be written (for the mirror).
        self._found: dict[str, Mapping[str, Any]] = {}
        self._rows: list[Row] = []
        self._gone: list[str] = []
        # The mirror holds contacts and tasks only when the profile pulls them.
        pulls = profile.hubspot.pull
        self._mirrored = {
            RelatedObject.DEAL: True,
            RelatedObject.CONTACT: pulls.contacts,
            RelatedObject.TASK: pulls.tasks,
        }[kind]

    def run(self, changes: Sequence[RelatedChange]) -> None:
        self.changes = {related_key(c): c for c in changes}
        rounds = Rounds(
            self.settings,
            check=self.check,
            write=self.batches.wrap(self.write, self.changes, tasks=False),
            decide=self.decide,
            sleep=self.sleep,
            flush=self.flush,
        )
        rounds.run(list(self.changes))

    def _properties(self) -> tuple[str, ...]:
        if self.kind is RelatedObject.DEAL:
            return deal_properties(self.profile)
        return CONTACT_PROPERTIES if self.kind is RelatedObject.CONTACT else TASK_PROPERTIES

    def _closed(self, properties: Mapping[str, Any]) -> bool:
        if self.kind is RelatedObject.DEAL:
            return deal_row(self.profile, {"id": "0", "properties": properties}, None).closed
        if self.kind is RelatedObject.TASK:
            return text(properties, "hs_task_status").upper() == TASK_DONE
        return False

    def check(self, keys: list[str], unknown: set[str]) -> list[str]:
        """Compare-and-set: the owner (and whether closed) of these records now."""
        ids = {self.changes[k].record_id: k for k in keys}
        found = batch_answer(
            self.client.batch_read(self.object_type, list(ids), self._properties())
        )
        to_write: list[str] = []
        for record_id, key in ids.items():
            change = self.changes[key]
            record = found.records.get(record_id)
            if record is None:
                error = found.errors.get(record_id)
                if error is None or error.reason == DELETED:
                    self.result.failed[key] = DELETED
                    self._gone.append(record_id)
                else:
                    self.result.failed[key] = f"could not read it before writing: {error.reason}"
                continue
            properties = dict(record.get("properties") or {})
            owner = text(properties, OWNER) or None
            if owner == change.to_owner_id:
                # Ours if our last write went unanswered; otherwise someone got there first.
                target = self.result.applied if key in unknown else self.result.already_applied
                target.append(key)
            elif owner != change.from_owner_id or self._closed(properties):
                # Moved by someone since the plan, or closed since: a closed record never
                # moves (a won deal stays with who won it).
                self.result.conflicts[key] = owner
            else:
                self._found[key] = properties
                to_write.append(key)
                continue
            self._mirror(change, properties, owner)
        return to_write

    def write(self, keys: list[str]) -> dict[str, RecordResult]:
        inputs = [
            {"id": self.changes[k].record_id, "properties": {OWNER: self.changes[k].to_owner_id}}
            for k in keys
        ]
        answer = self.client.batch_update(self.object_type, inputs)
        results = write_results(answer, [self.changes[k].record_id for k in keys])
        return {
            k: results[self.changes[k].record_id]
            for k in keys
            if self.changes[k].record_id in results
        }

    def decide(self, key: str, result: RecordResult) -> None:
        change = self.changes[key]
        if result.outcome is Outcome.APPLIED:
            self.result.applied.append(key)
            self._mirror(change, self._found.pop(key, {}), change.to_owner_id)
            return
        self.result.failed[key] = result.reason
        if result.reason == DELETED:
            self._gone.append(change.record_id)

    def _mirror(
        self, change: RelatedChange, properties: Mapping[str, Any], owner: str | None
    ) -> None:
        """The record as read, with `owner`, for the mirror (a completed task leaves it)."""
        if not properties:
            return  # decided without a read in this call: the next pull brings it
        record = {"id": change.record_id, "properties": {**properties, OWNER: owner}}
        row: Row | None
        if self.kind is RelatedObject.DEAL:
            row = deal_row(self.profile, record, change.account_id)
        elif self.kind is RelatedObject.CONTACT:
            row = contact_row(record, change.account_id)
        else:
            row = task_row(record, change.account_id)
        if row is None:
            self._gone.append(change.record_id)
        else:
            self._rows.append(row)

    def flush(self) -> None:
        if not self._mirrored or not (self._rows or self._gone):
            self._rows, self._gone = [], []
            return
        table = TABLES[self.kind]
        # No cursor moves: the next pull still reads these records (their stamps moved).
        self.mirror.store(table, table, self._rows, deleted=self._gone, cursor=None, replace=False)
        self._rows, self._gone = [], []
