"""Create handoff tasks in Salesforce, each exactly once across retries, re-runs and
crashes.

Salesforce's REST API has no idempotency key, so each task carries its plan key in a
custom Task field marked External ID, Unique, case sensitive (`RoleSync_Key__c`, or the
profile's `salesforce.task_key_field`; see docs/salesforce.md). Before creating, the
keys are looked up (SOQL through queryAll, so a task deleted or archived since still
counts as created: a person who deleted their handoff task does not get it again);
found ones are `tasks_existing`. The rest are created through sObject Collections (200
a request, allOrNone false). A record refused with DUPLICATE_VALUE on the key field
exists already (a race, or a lookup that missed it); an unanswered create is looked up
by key before anything is sent again, so no task is ever created twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import quote_plus

from simple_salesforce.format import format_soql

from roleSync.adapters.base import RelatedResult
from roleSync.adapters.mirror import Mirror
from roleSync.adapters.rounds import Outcome, RecordResult
from roleSync.adapters.salesforce.client import SalesforceClient
from roleSync.adapters.salesforce.pull import mirror_rows
from roleSync.adapters.salesforce.related_rounds import (
    EXISTING,
    RelatedJournaled,
    TaskRounds,
    maybe_journaled,
)
from roleSync.adapters.salesforce.rounds import RoundSettings, record_result
from roleSync.plan.types import HandoffTask
from roleSync.profile import Profile

# The custom Task field holding a handoff task's key (External ID, Unique, case
# sensitive) unless the profile names another (`salesforce.task_key_field`).
TASK_KEY_FIELD = "RoleSync_Key__c"
# One key lookup stays well below the 16,384 characters a request URI may have.
MAX_LOOKUP_CHARS = 10000
MAX_LOOKUP_KEYS = 200


def key_chunks(keys: Sequence[str]) -> Iterator[list[str]]:
    """`keys` in groups whose `IN (...)` list, URL-encoded, fits one query request."""
    chunk: list[str] = []
    size = 0
    for key in keys:
        cost = len(quote_plus(format_soql("{}", key))) + 4  # and ", " encoded
        if chunk and (size + cost > MAX_LOOKUP_CHARS or len(chunk) >= MAX_LOOKUP_KEYS):
            yield chunk
            chunk, size = [], 0
        chunk.append(key)
        size += cost
    if chunk:
        yield chunk


def lookup_count(keys: Sequence[str]) -> int:
    """Queries a lookup of `keys` takes (for the budget estimate)."""
    return sum(1 for _ in key_chunks(keys))


def is_duplicate_key(code: str, message: str, field: str) -> bool:
    """DUPLICATE_VALUE on the key field: "duplicate value found: RoleSync_Key__c
    duplicates value on record with id: 00T..."."""
    return code == "DUPLICATE_VALUE" and field.lower() in message.lower()


class HandoffTaskCreator:
    """One `apply_related` call's task creates, keyed by `HandoffTask.key`."""

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
        self.journaled = journaled
        self.key_field = profile.salesforce.task_key_field
        self.tasks: dict[str, HandoffTask] = {}
        # key -> Id of the task this call created (from the answer, or found by key).
        self._ids: dict[str, str] = {}
        self._created: list[str] = []

    def run(self, tasks: Sequence[HandoffTask]) -> None:
        active = self.mirror.owners_active()
        for task in tasks:
            if task.key in self.tasks:
                self.result.tasks_failed[task.key] = "the plan creates this task twice"
            elif task.owner_id not in active:
                self.result.tasks_failed[task.key] = f"assignee {task.owner_id} no longer exists"
            elif not active[task.owner_id]:
                self.result.tasks_failed[task.key] = f"assignee {task.owner_id} is inactive"
            else:
                self.tasks[task.key] = task
        TaskRounds(
            self.settings,
            check=self.check,
            write=maybe_journaled(self.journaled, self.create, self.tasks, tasks=True),
            decide=self.decide,
            sleep=self.sleep,
            flush=self.flush,
        ).run(list(self.tasks))

    # -- looking keys up -------------------------------------------------------

    def existing(self, keys: Sequence[str]) -> dict[str, str]:
        """Key -> Id of the task holding it, deleted and archived tasks included.
        SOQL compares text without regard to case; the key field is case sensitive, so
        only an exact match counts."""
        wanted = set(keys)
        found: dict[str, str] = {}
        for chunk in key_chunks(keys):
            soql = format_soql(
                "SELECT Id, {:literal} FROM Task WHERE {:literal} IN {}",
                self.key_field,
                self.key_field,
                chunk,
            )
            for record in self.client.query(soql, include_deleted=True):
                lower = {k.lower(): v for k, v in record.items()}
                key = lower.get(self.key_field.lower())
                if isinstance(key, str) and key in wanted:
                    found[key] = str(lower.get("id"))
        return found

    def check(self, keys: list[str], unknown: set[str]) -> list[str]:
        found = self.existing(keys)
        to_create = []
        for key in keys:
            if key not in found:
                to_create.append(key)
            elif key in unknown:
                # Our create that went unanswered did land.
                self._ids[key] = found[key]
                self.decide(key, RecordResult(Outcome.APPLIED))
            else:
                self.result.tasks_existing.append(key)
        return to_create

    # -- creating --------------------------------------------------------------

    def record(self, task: HandoffTask) -> dict[str, Any]:
        # Status and Priority are left to the org's defaults (required picklists whose
        # values each org customises).
        return {
            "attributes": {"type": "Task"},
            "Subject": task.subject,
            "Description": task.body,
            "WhatId": task.account_id,
            "OwnerId": task.owner_id,
            "ActivityDate": task.due_date.isoformat(),
            self.key_field: task.key,
        }

    def create(self, keys: list[str]) -> dict[str, RecordResult]:
        answers = self.client.create_collection([self.record(self.tasks[k]) for k in keys])
        results: dict[str, RecordResult] = {}
        for key, answer in zip(keys, answers, strict=True):
            result = record_result(answer)
            code, _, message = result.reason.partition(": ")
            if result.outcome is Outcome.APPLIED and answer.get("id"):
                self._ids[key] = str(answer["id"])
            elif result.outcome is Outcome.FAILED and is_duplicate_key(
                code, message, self.key_field
            ):
                result = RecordResult(Outcome.APPLIED, EXISTING)
            results[key] = result
        return results

    def decide(self, key: str, result: RecordResult) -> None:
        if result.outcome is not Outcome.APPLIED:
            self.result.tasks_failed[key] = result.reason
        elif result.reason == EXISTING:
            self.result.tasks_existing.append(key)
        else:
            self.result.tasks_created.append(key)
            self._created.append(key)

    def flush(self) -> None:
        """Tasks created since the last flush, into the mirror as open tasks of their
        account (when the profile pulls tasks)."""
        records = [
            {
                "Id": self._ids[key],
                "WhatId": self.tasks[key].account_id,
                "OwnerId": self.tasks[key].owner_id,
                "Subject": self.tasks[key].subject,
                "IsClosed": False,
                "ActivityDate": self.tasks[key].due_date.isoformat(),
            }
            for key in self._created
            if key in self._ids
        ]
        self._created = []
        converted = mirror_rows(self.profile, "Task", records) if records else None
        if converted is not None:
            table, rows, _ = converted
            self.mirror.store("Task", table, rows, cursor=None, replace=False)
