"""Write a plan's ownership changes and metric writes to Salesforce.

Ownership: compare-and-set first (read each account's current owner and lock just
before writing, through sObject Collections retrieve, 2,000 accounts a request), then
Account.OwnerId through sObject Collections (200 a request, allOrNone false,
Sforce-Auto-Assign: FALSE), or one Bulk API 2.0 job when there are more changes than
`bulk_threshold`. Metrics: the configured User fields, through
Collections. Every outcome also goes into the mirror, so the next plan sees it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from roleSync.adapters.base import ApplyJournal, ApplyResult
from roleSync.adapters.crm import accepted_metric_writes
from roleSync.adapters.mirror import Mirror
from roleSync.adapters.rounds import Journaled, Outcome, RecordResult, Write
from roleSync.adapters.salesforce.client import (
    MAX_RETRIEVE_IDS,
    SalesforceClient,
    SalesforceRequestError,
)
from roleSync.adapters.salesforce.rounds import Rounds, RoundSettings, classify_error, record_result
from roleSync.adapters.salesforce.soql import check_fields
from roleSync.model import FieldValue
from roleSync.plan import MetricWrite, OwnershipChange
from roleSync.profile import Profile

DELETED = "deleted in Salesforce"


def estimate_requests(
    changes: int, metric_writes: int, *, batch_size: int, bulk_threshold: int
) -> int:
    """Requests an apply is expected to send, for the budget check before any write:
    compare-and-set reads (2,000 ids a collections retrieve), writes, a follow-up pull of
    what was written, and a tenth more for retries."""
    reads = math.ceil(changes / MAX_RETRIEVE_IDS) + math.ceil(metric_writes / MAX_RETRIEVE_IDS)
    # A bulk job: create, upload, close, a few polls, the job, three result files.
    writes = 10 if changes > bulk_threshold else math.ceil(changes / batch_size)
    writes += math.ceil(metric_writes / batch_size)
    catch_up = (math.ceil(changes / 2000) + 1 if changes else 0) + (1 if metric_writes else 0)
    total = reads + writes + catch_up
    return total + math.ceil(total / 10)


def current_accounts(
    client: SalesforceClient, ids: list[str], lock_field: str | None
) -> dict[str, tuple[str | None, bool]]:
    """Account id -> (owner, locked) as Salesforce holds them now, by the ids asked for.
    Accounts Salesforce answers null for (deleted, never existed, not visible) are
    absent: the caller reports them "deleted in Salesforce"."""
    found: dict[str, tuple[str | None, bool]] = {}
    records = client.retrieve("Account", ids, check_fields(("OwnerId", lock_field)))
    for account_id, record in records.items():
        lower = {k.lower(): v for k, v in record.items()}
        locked = bool(lower.get(lock_field.lower())) if lock_field else False
        owner = lower.get("ownerid")
        found[account_id] = (None if owner is None else str(owner), locked)
    return found


class OwnershipWriter:
    def __init__(
        self,
        client: SalesforceClient,
        mirror: Mirror,
        profile: Profile,
        result: ApplyResult,
        settings: RoundSettings,
        sleep: Callable[[float], None],
        now: Callable[[], datetime],
        journal: ApplyJournal | None = None,
    ) -> None:
        assert profile.salesforce is not None
        self.client = client
        self.mirror = mirror
        self.result = result
        self.lock_field = profile.salesforce.fields.lock
        self.bulk_threshold = profile.salesforce.bulk_threshold
        self.settings = settings
        self.sleep = sleep
        self.now = now
        self.changes: dict[str, OwnershipChange] = {}
        self._written: dict[str, str | None] = {}
        self._deleted: list[str] = []
        self.journal = journal
        self._journaled_writes: Journaled | None = None

    def run(self, changes: Sequence[OwnershipChange]) -> None:
        active = self.mirror.owners_active()
        for change in changes:
            if change.account_id in self.changes:
                self.result.failed[change.account_id] = "the plan changes this account twice"
                continue
            if change.to_owner_id not in active:
                self.result.failed[change.account_id] = (
                    f"target owner {change.to_owner_id} no longer exists"
                )
            elif not active[change.to_owner_id]:
                self.result.failed[change.account_id] = (
                    f"target owner {change.to_owner_id} is inactive"
                )
            else:
                self.changes[change.account_id] = change
        rounds = Rounds(
            self.settings,
            check=self.check,
            write=self._journaled(self.write_collection),
            decide=self.decide,
            sleep=self.sleep,
            bulk=self._journaled(self.write_bulk),
            bulk_threshold=self.bulk_threshold,
            flush=self.flush,
        )
        rounds.run(list(self.changes))

    # -- compare-and-set -------------------------------------------------------

    def current(self, ids: list[str]) -> dict[str, tuple[str | None, bool]]:
        """Account id -> (owner, locked) as Salesforce holds them now."""
        return current_accounts(self.client, ids, self.lock_field)

    def check(self, ids: list[str], unknown: set[str]) -> list[str]:
        current = self.current(ids)
        to_write: list[str] = []
        found_owner: dict[str, str | None] = {}
        locked: list[str] = []
        deleted: list[str] = []
        for account_id in ids:
            change = self.changes[account_id]
            if account_id not in current:
                self.result.failed[account_id] = DELETED
                deleted.append(account_id)
                continue
            owner, is_locked = current[account_id]
            if owner == change.to_owner_id:
                # Ours if our last write went unanswered; otherwise someone got there first.
                bucket = self.result.applied if account_id in unknown else None
                (bucket if bucket is not None else self.result.already_applied).append(account_id)
                found_owner[account_id] = owner
            elif is_locked:
                self.result.failed[account_id] = "account was locked after the plan was made"
                locked.append(account_id)
            elif owner != change.from_owner_id:
                self.result.conflicts[account_id] = owner
                found_owner[account_id] = owner
            else:
                to_write.append(account_id)
        self.mirror.record_accounts(found_owner, locked=locked, deleted=deleted)
        return to_write

    # -- writes ----------------------------------------------------------------

    def _journaled(self, writer: Write) -> Write:
        """`writer` with each batch journaled (see `Journaled`)."""
        if self.journal is None:
            return writer
        if self._journaled_writes is None:
            self._journaled_writes = Journaled(self.journal, self.changes, SalesforceRequestError)
        return self._journaled_writes.wrap(writer)

    def write_collection(self, ids: list[str]) -> dict[str, RecordResult]:
        records = [
            {"attributes": {"type": "Account"}, "id": i, "OwnerId": self.changes[i].to_owner_id}
            for i in ids
        ]
        answers = self.client.update_collection(records)
        # Results come back in request order: position maps them to plan entries.
        return {i: record_result(answer) for i, answer in zip(ids, answers, strict=True)}

    def write_bulk(self, ids: list[str]) -> dict[str, RecordResult]:
        rows = [{"Id": i, "OwnerId": self.changes[i].to_owner_id} for i in ids]
        outcome = self.client.bulk_update("Account", rows)
        results: dict[str, RecordResult] = {}
        for i in outcome.succeeded:
            results[i] = RecordResult(Outcome.APPLIED)
        for i, error in outcome.failed.items():
            # sf__Error: "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access...:--"
            code, _, message = error.partition(":")
            results[i] = classify_error(code.strip(), message.rstrip(":-").strip())
        for i in outcome.unprocessed:
            results[i] = RecordResult(Outcome.UNKNOWN, "not processed by the bulk job")
        return results

    def decide(self, account_id: str, result: RecordResult) -> None:
        change = self.changes[account_id]
        if result.outcome is Outcome.APPLIED:
            self.result.applied.append(account_id)
            self._written[account_id] = change.to_owner_id
            return
        self.result.failed[account_id] = result.reason
        if result.reason == DELETED:
            self._deleted.append(account_id)

    def flush(self) -> None:
        """What was written (or found deleted) since the last flush, into the mirror."""
        if self._written or self._deleted:
            self.mirror.record_accounts(
                self._written, deleted=self._deleted, stamp=self.now().isoformat()
            )
            self._written, self._deleted = {}, []


class MetricWriter:
    """Role metrics into User fields: only the owners and fields the plan names."""

    def __init__(
        self,
        client: SalesforceClient,
        mirror: Mirror,
        profile: Profile,
        result: ApplyResult,
        settings: RoundSettings,
        sleep: Callable[[float], None],
    ) -> None:
        self.client = client
        self.mirror = mirror
        self.profile = profile
        self.result = result
        self.settings = settings
        self.sleep = sleep
        self.writes: dict[str, MetricWrite] = {}
        # Owner id -> the values it does not hold yet (what the next write sends).
        self.sending: dict[str, Mapping[str, FieldValue]] = {}
        self._written: dict[str, Mapping[str, FieldValue]] = {}

    def run(self, writes: Sequence[MetricWrite]) -> None:
        known = self.mirror.owners_active()
        self.writes.update(
            accepted_metric_writes(writes, self.profile, known, self.result, "field")
        )
        Rounds(
            self.settings,
            check=self.check,
            write=self.write,
            decide=self.decide,
            sleep=self.sleep,
            flush=self.flush,
        ).run(list(self.writes))

    def check(self, ids: list[str], unknown: set[str]) -> list[str]:
        """Compare-and-set: every owner's fields are read (collections retrieve, 2,000 a
        request) before they are written. An owner holding a value other than the one
        the plan was made from is a conflict, and nothing is written for it; one already
        holding the planned values is done (an unanswered write that landed)."""
        fields = check_fields(sorted({name for i in ids for name in self.writes[i].values}))
        holding = {
            owner_id: {k.lower(): v for k, v in record.items()}
            for owner_id, record in self.client.retrieve("User", ids, fields).items()
        }
        to_write = []
        for owner_id in ids:
            write = self.writes[owner_id]
            now = holding.get(owner_id)
            if now is None:
                self.decide(owner_id, RecordResult(Outcome.FAILED, DELETED))
                continue
            current = {name: now.get(name.lower()) for name in write.values}
            conflict = write.conflict_with(current)
            if conflict is not None:
                self.result.metric_conflicts[owner_id] = conflict
                continue
            self.sending[owner_id] = write.pending(current)
            if self.sending[owner_id]:
                to_write.append(owner_id)
            else:
                self.decide(owner_id, RecordResult(Outcome.APPLIED))
        return to_write

    def write(self, ids: list[str]) -> dict[str, RecordResult]:
        records = [{"attributes": {"type": "User"}, "id": i, **self.sending[i]} for i in ids]
        answers = self.client.update_collection(records)
        return {i: record_result(answer) for i, answer in zip(ids, answers, strict=True)}

    def decide(self, owner_id: str, result: RecordResult) -> None:
        if result.outcome is Outcome.APPLIED:
            self.result.metrics_written.append(owner_id)
            self._written[owner_id] = self.writes[owner_id].values
        else:
            self.result.metrics_failed[owner_id] = result.reason

    def flush(self) -> None:
        if self._written:
            self.mirror.record_owner_fields(self._written)
            self._written = {}
