"""Write the owners of the records a handoff carries: open Opportunities, Contacts and
open Tasks, to their account's new owner.

Like accounts (`apply.py`): compare-and-set first, through an sObject Collections
retrieve per type (2,000 records a request) of OwnerId, and IsClosed for Opportunity
and Task: a record whose owner is no longer the planned one, or a deal or task closed
since the plan, is a conflict and never moves; one already at its target is already
applied; one gone is failed. Then OwnerId through sObject Collections (200 records a
request, types mixed, allOrNone false, Sforce-Auto-Assign: FALSE), or one Bulk API 2.0
job per type that has more records than `bulk_threshold`. Row locks are retried in
smaller batches; an unanswered write is read back before anything is sent again.

The compare-and-set read selects what a pull selects of each object the profile pulls,
so what it finds (and what is written) goes into the mirror: the next plan sees the
new owners, and a deal or task closed since is no longer carried.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from roleSync.adapters.base import RelatedResult
from roleSync.adapters.mirror import Mirror
from roleSync.adapters.rounds import Outcome, RecordResult
from roleSync.adapters.salesforce.client import MAX_RETRIEVE_IDS, SalesforceClient
from roleSync.adapters.salesforce.pull import mirror_rows, pulled_fields
from roleSync.adapters.salesforce.related_rounds import (
    RecordRounds,
    RelatedJournaled,
    maybe_journaled,
)
from roleSync.adapters.salesforce.rounds import RoundSettings, classify_error, record_result
from roleSync.adapters.salesforce.soql import check_fields
from roleSync.plan.types import RelatedChange, RelatedObject, related_key
from roleSync.profile import Profile

DELETED = "deleted in Salesforce"
SOBJECTS: Mapping[RelatedObject, str] = {
    RelatedObject.DEAL: "Opportunity",
    RelatedObject.CONTACT: "Contact",
    RelatedObject.TASK: "Task",
}
# Records that close: a closed deal stays with whoever won or lost it, a completed task
# with whoever did it.
CLOSABLE = frozenset({"Opportunity", "Task"})
# A bulk job: create, upload, close, a few polls, the results files.
BULK_JOB_REQUESTS = 10


def estimate_related_requests(
    per_type: Mapping[str, int],
    task_queries: int,
    tasks: int,
    *,
    batch_size: int,
    bulk_threshold: int,
) -> int:
    """Requests `apply_related` is expected to send, for the budget check before its
    first write: compare-and-set reads (2,000 records a retrieve, per type), owner
    writes (a bulk job per type above the threshold, else 200 records a collections
    request), the lookups of task keys and the creates (200 a request), a follow-up
    pull of each type written, and a tenth more for retries."""
    reads = sum(math.ceil(n / MAX_RETRIEVE_IDS) for n in per_type.values())
    bulk = [n for n in per_type.values() if n > bulk_threshold]
    rest = sum(n for n in per_type.values() if n <= bulk_threshold)
    writes = BULK_JOB_REQUESTS * len(bulk) + math.ceil(rest / batch_size)
    catch_up = sum(math.ceil(n / 2000) + 1 for n in per_type.values() if n)
    task_work = task_queries + math.ceil(tasks / batch_size) + (1 if tasks else 0)
    total = reads + writes + catch_up + task_work
    return total + math.ceil(total / 10)


def object_counts(changes: Sequence[RelatedChange]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for change in changes:
        sobject = SOBJECTS[change.object]
        counts[sobject] = counts.get(sobject, 0) + 1
    return counts


class RelatedRecordWriter:
    """One `apply_related` call's owner writes of carried records, keyed by
    `related_key` ("deal:006...") everywhere: rounds, journal and result."""

    def __init__(
        self,
        client: SalesforceClient,
        mirror: Mirror,
        profile: Profile,
        result: RelatedResult,
        settings: RoundSettings,
        sleep: Callable[[float], None],
        journaled: RelatedJournaled | None = None,
    ) -> None:
        assert profile.salesforce is not None
        self.client = client
        self.mirror = mirror
        self.profile = profile
        self.result = result
        self.settings = settings
        self.sleep = sleep
        self.bulk_threshold = profile.salesforce.bulk_threshold
        self.journaled = journaled
        self.changes: dict[str, RelatedChange] = {}
        # key -> the record as the compare-and-set read found it (for the mirror).
        self._found: dict[str, dict[str, Any]] = {}
        self._written: list[str] = []
        self._deleted: list[str] = []
        self.written_types: set[str] = set()

    def run(self, changes: Sequence[RelatedChange]) -> None:
        active = self.mirror.owners_active()
        for change in changes:
            key = related_key(change)
            if key in self.changes:
                self.result.failed[key] = "the plan carries this record twice"
            elif change.to_owner_id not in active:
                self.result.failed[key] = f"target owner {change.to_owner_id} no longer exists"
            elif not active[change.to_owner_id]:
                self.result.failed[key] = f"target owner {change.to_owner_id} is inactive"
            else:
                self.changes[key] = change
        RecordRounds(
            self.settings,
            check=self.check,
            write=maybe_journaled(self.journaled, self.write_collection, self.changes, tasks=False),
            decide=self.decide,
            sleep=self.sleep,
            bulk=maybe_journaled(self.journaled, self.write_bulk, self.changes, tasks=False),
            bulk_threshold=self.bulk_threshold,
            flush=self.flush,
            type_of=self.sobject,
        ).run(list(self.changes))

    def sobject(self, key: str) -> str:
        return SOBJECTS[self.changes[key].object]

    # -- compare-and-set -------------------------------------------------------

    def current(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """Key -> the record as Salesforce holds it now (field names lower-cased);
        records Salesforce no longer shows are absent."""
        by_type: dict[str, list[str]] = {}
        for key in keys:
            by_type.setdefault(self.sobject(key), []).append(key)
        found: dict[str, dict[str, Any]] = {}
        for sobject, of_type in by_type.items():
            wanted = ["OwnerId", *(["IsClosed"] if sobject in CLOSABLE else [])]
            fields = check_fields((*wanted, *pulled_fields(self.profile, sobject)))
            ids = [self.changes[k].record_id for k in of_type]
            records = self.client.retrieve(sobject, ids, fields)
            for key in of_type:
                record = records.get(self.changes[key].record_id)
                if record is not None:
                    found[key] = record
        return found

    def check(self, keys: list[str], unknown: set[str]) -> list[str]:
        current = self.current(keys)
        to_write: list[str] = []
        for key in keys:
            change = self.changes[key]
            record = current.get(key)
            if record is None:
                self.result.failed[key] = DELETED
                self._deleted.append(key)
                continue
            self._found[key] = record
            lower = {k.lower(): v for k, v in record.items()}
            owner = None if lower.get("ownerid") is None else str(lower["ownerid"])
            if owner == change.to_owner_id:
                # Ours if our last write went unanswered; otherwise someone got there first.
                (self.result.applied if key in unknown else self.result.already_applied).append(key)
            elif lower.get("isclosed"):
                self.result.conflicts[key] = owner  # closed since the plan: never moves
            elif owner != change.from_owner_id:
                self.result.conflicts[key] = owner
            else:
                to_write.append(key)
        writing = set(to_write)
        self._record_found([k for k in keys if k in current and k not in writing])
        return to_write

    # -- writes ----------------------------------------------------------------

    def write_collection(self, keys: list[str]) -> dict[str, RecordResult]:
        # Grouped by type (a stable sort keeps each account's records together): Salesforce
        # processes a mixed request in chunks of one type, at most 10 of them.
        order = {name: n for n, name in enumerate(SOBJECTS.values())}
        ordered = sorted(keys, key=lambda k: order[self.sobject(k)])
        records = [
            {
                "attributes": {"type": self.sobject(k)},
                "id": self.changes[k].record_id,
                "OwnerId": self.changes[k].to_owner_id,
            }
            for k in ordered
        ]
        answers = self.client.update_collection(records)
        # Results come back in request order: position maps them to plan entries.
        return {k: record_result(answer) for k, answer in zip(ordered, answers, strict=True)}

    def write_bulk(self, keys: list[str]) -> dict[str, RecordResult]:
        """One Bulk API 2.0 job of one type (RecordRounds groups the batch so)."""
        sobject = self.sobject(keys[0])
        # Bulk answers carry the 18-character Id; the first 15 characters are the Id.
        by_id = {self.changes[k].record_id[:15]: k for k in keys}
        rows = [
            {"Id": self.changes[k].record_id, "OwnerId": self.changes[k].to_owner_id} for k in keys
        ]
        outcome = self.client.bulk_update(sobject, rows)
        results: dict[str, RecordResult] = {}
        for record_id in outcome.succeeded:
            results[by_id[record_id[:15]]] = RecordResult(Outcome.APPLIED)
        for record_id, error in outcome.failed.items():
            code, _, message = error.partition(":")
            key = by_id.get(record_id[:15])
            if key is not None:
                results[key] = classify_error(code.strip(), message.rstrip(":-").strip())
        for record_id in outcome.unprocessed:
            key = by_id.get(record_id[:15])
            if key is not None:
                results[key] = RecordResult(Outcome.UNKNOWN, "not processed by the bulk job")
        return results

    def decide(self, key: str, result: RecordResult) -> None:
        if result.outcome is Outcome.APPLIED:
            self.result.applied.append(key)
            self._written.append(key)
            return
        self.result.failed[key] = result.reason
        if result.reason == DELETED:
            self._deleted.append(key)

    # -- the mirror ------------------------------------------------------------

    def _record_found(self, keys: list[str]) -> None:
        """Records the read decided without a write (at the target, moved by someone,
        closed since), into the mirror as found."""
        self._store({k: self._found[k] for k in keys}, [])

    def flush(self) -> None:
        """What was written (or found deleted) since the last flush, into the mirror."""
        if not (self._written or self._deleted):
            return
        written = {}
        for key in self._written:
            self.written_types.add(self.sobject(key))
            record = self._found.get(key)
            if record is not None:
                owner_field = next((f for f in record if f.lower() == "ownerid"), "OwnerId")
                written[key] = {**record, owner_field: self.changes[key].to_owner_id}
        self._store(written, self._deleted)
        self._written, self._deleted = [], []

    def _store(self, records: Mapping[str, Mapping[str, Any]], deleted: list[str]) -> None:
        by_type: dict[str, tuple[list[Mapping[str, Any]], list[str]]] = {}
        for key, record in records.items():
            by_type.setdefault(self.sobject(key), ([], []))[0].append(record)
        for key in deleted:
            by_type.setdefault(self.sobject(key), ([], []))[1].append(self.changes[key].record_id)
        for sobject, (found, gone) in by_type.items():
            converted = mirror_rows(self.profile, sobject, found)
            if converted is None:
                continue  # the profile does not pull this object: no mirror table for it
            table, rows, stale = converted
            self.mirror.store(
                sobject, table, rows, deleted=[*stale, *gone], cursor=None, replace=False
            )
