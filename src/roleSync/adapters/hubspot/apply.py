"""Write a plan's ownership changes: `hubspot_owner_id` through batch update, 100 a request,
each batch checked by a batch read right before it is written (compare-and-set).

A company whose owner changed since the plan is a conflict and is left alone; one
already owned by the target is already applied; one locked (the profile's lock property)
or archived since is failed with the reason. What was written, and what the reads
found, goes into the mirror batch by batch, so the next plan sees it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime

from roleSync.adapters.base import ApplyJournal, ApplyResult
from roleSync.adapters.hubspot.client import HubSpotClient
from roleSync.adapters.hubspot.records import (
    DELETED,
    OWNER,
    BatchAnswer,
    batch_answer,
    iso,
    text,
    truthy,
    write_results,
)
from roleSync.adapters.hubspot.rounds import Rounds, RoundSettings
from roleSync.adapters.hubspot.search import STAMP
from roleSync.adapters.mirror import Mirror
from roleSync.adapters.rounds import Journaled, Outcome, RecordResult, Write
from roleSync.plan import OwnershipChange
from roleSync.profile import Profile

LOCKED = "company was locked (do not route) after the plan was made"


def estimate_requests(changes: int, metric_records: int, batch: int = 100) -> int:
    """Requests an apply is expected to send without faults: owners, a read and a write
    per batch of changes, a compare-and-set read and a write per batch of metric records."""
    return 3 + 2 * math.ceil(changes / batch) + 2 * math.ceil(metric_records / batch)


def current_companies(client: HubSpotClient, ids: list[str], lock: str | None) -> BatchAnswer:
    """The owner (and lock) of these companies now: one batch read (at most 100 ids)."""
    wanted = [OWNER, lock] if lock else [OWNER]
    return batch_answer(client.batch_read("companies", ids, wanted))


class OwnershipWriter:
    def __init__(
        self,
        client: HubSpotClient,
        mirror: Mirror,
        profile: Profile,
        result: ApplyResult,
        settings: RoundSettings,
        sleep: Callable[[float], None],
        now: Callable[[], datetime],
        journal: ApplyJournal | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        assert profile.hubspot is not None
        self.client = client
        self.mirror = mirror
        self.result = result
        self.lock = profile.hubspot.properties.lock
        self.settings = settings
        self.sleep = sleep
        self.now = now
        self.changes: dict[str, OwnershipChange] = {}
        self.rounds: Rounds | None = None
        self._written: dict[str, str | None] = {}
        self._deleted: list[str] = []
        self._stamp: str | None = None
        self.journal = journal
        self._journaled_writes: Journaled | None = None
        self._progress = progress
        self._reported = 0

    def run(self, changes: Sequence[OwnershipChange]) -> None:
        active = self.mirror.owners_active()
        for change in changes:
            if change.account_id in self.changes or change.account_id in self.result.failed:
                self.result.failed[change.account_id] = "the plan changes this company twice"
                self.changes.pop(change.account_id, None)
            elif change.to_owner_id not in active:
                self.result.failed[change.account_id] = (
                    f"target owner {change.to_owner_id} no longer exists"
                )
            elif not active[change.to_owner_id]:
                # Archived owners (the person left) never receive companies.
                self.result.failed[change.account_id] = (
                    f"target owner {change.to_owner_id} is inactive (archived in HubSpot)"
                )
            else:
                self.changes[change.account_id] = change
        self.rounds = Rounds(
            self.settings,
            check=self.check,
            write=self._journaled(self.write),
            decide=self.decide,
            sleep=self.sleep,
            flush=self.flush,
        )
        self.rounds.run(list(self.changes))

    def check(self, ids: list[str], unknown: set[str]) -> list[str]:
        """Compare-and-set: the owner and lock of these companies now."""
        found = current_companies(self.client, ids, self.lock)
        to_write: list[str] = []
        seen_owner: dict[str, str | None] = {}
        locked: list[str] = []
        for company_id in ids:
            change = self.changes[company_id]
            record = found.records.get(company_id)
            if record is None:
                reason = found.errors.get(company_id)
                self.result.failed[company_id] = (
                    DELETED
                    if reason is None or reason.reason == DELETED
                    else f"could not read it before writing: {reason.reason}"
                )
                if reason is None or reason.reason == DELETED:
                    self._deleted.append(company_id)
                continue
            properties = record.get("properties") or {}
            owner = text(properties, OWNER) or None
            if owner == change.to_owner_id:
                # Ours if our last write went unanswered; otherwise someone got there first.
                if company_id in unknown:
                    self.result.applied.append(company_id)
                else:
                    self.result.already_applied.append(company_id)
                seen_owner[company_id] = owner
            elif self.lock and truthy(properties.get(self.lock)):
                self.result.failed[company_id] = LOCKED
                locked.append(company_id)
            elif owner != change.from_owner_id:
                self.result.conflicts[company_id] = owner
                seen_owner[company_id] = owner
            else:
                to_write.append(company_id)
        self.mirror.record_accounts(seen_owner, locked=locked)
        return to_write

    def _journaled(self, writer: Write) -> Write:
        """`writer` with each batch journaled (see `Journaled`)."""
        if self.journal is None:
            return writer
        if self._journaled_writes is None:
            self._journaled_writes = Journaled(self.journal, self.changes)
        return self._journaled_writes.wrap(writer)

    def write(self, ids: list[str]) -> dict[str, RecordResult]:
        inputs = [{"id": i, "properties": {OWNER: self.changes[i].to_owner_id}} for i in ids]
        answer = self.client.batch_update("companies", inputs)
        for record in answer.get("results") or []:
            # A batch gives all its records one modification stamp.
            self._stamp = iso((record.get("properties") or {}).get(STAMP)) or self._stamp
            break
        return write_results(answer, ids)

    def decide(self, company_id: str, result: RecordResult) -> None:
        if result.outcome is Outcome.APPLIED:
            self.result.applied.append(company_id)
            self._written[company_id] = self.changes[company_id].to_owner_id
            return
        self.result.failed[company_id] = result.reason
        if result.reason == DELETED:
            self._deleted.append(company_id)

    def _decided(self) -> int:
        r = self.result
        return len(r.applied) + len(r.already_applied) + len(r.conflicts) + len(r.failed)

    def flush(self) -> None:
        if self._progress is not None:
            decided = self._decided()
            if decided > self._reported:
                self._progress(decided - self._reported)
                self._reported = decided
        if self._written or self._deleted:
            stamp = self._stamp or self.now().isoformat()
            self.mirror.record_accounts(self._written, deleted=self._deleted, stamp=stamp)
            self._written, self._deleted = {}, []
