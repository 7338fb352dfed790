"""Create handoff tasks exactly once: each task carries its key in the portal's unique
task property `rolesync_key`, and no create is sent for a key the portal holds.

Through the shared write loop (`Rounds`), keyed by `HandoffTask.key`, each batch of at
most 100 tasks:

1. `check` reads the batch's keys (batch read with `idProperty: rolesync_key`): a key
   found is `tasks_existing` (made by an earlier run or attempt), or `tasks_created`
   when this call's own create of it went unanswered; the rest are created at once.
2. `write` sends one batch create (hs_task_subject, hs_task_body, hs_timestamp = the due
   date, hubspot_owner_id, hs_task_status NOT_STARTED, rolesync_key, and the v4
   association to the company, type 192):
   - 201: every task returned (matched by its key) is created;
   - no answer (dropped, timed out, 502): UNKNOWN, so the next round reads the keys
     back before anything is sent again; a task is never created twice;
   - 409 (a key taken meanwhile: the unique property refused it): the batch is read
     back in the next round, and the keys found are `tasks_existing`;
   - refused as a whole for another reason (400: one bad input refuses the batch, as
     HubSpot validates a batch create whole): each task is sent alone, so one bad task
     (its company deleted since, say) fails alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, time
from typing import Any

from roleSync.adapters.base import RelatedResult
from roleSync.adapters.hubspot.client import HubSpotClient
from roleSync.adapters.hubspot.records import OWNER, TASK_PROPERTIES, batch_answer, task_row, text
from roleSync.adapters.hubspot.related import RelatedBatches, target_problem
from roleSync.adapters.hubspot.rounds import Rounds, RoundSettings
from roleSync.adapters.mirror import Mirror, Row
from roleSync.adapters.resilience import RefusedError, RequestError
from roleSync.adapters.rounds import Outcome, RecordResult
from roleSync.plan.types import HandoffTask
from roleSync.profile import Profile

MARKER = "rolesync_key"
# v4 association type: task to company (HUBSPOT_DEFINED).
TASK_TO_COMPANY = 192
NEW_STATUS = "NOT_STARTED"
TAKEN = "a task with this key was created meanwhile (HubSpot answered 409): reading it back"


def due_timestamp(task: HandoffTask) -> str:
    """The due date as HubSpot's datetime: midnight UTC of that day, so the pull (which
    reads the day in UTC) finds the same date."""
    moment = datetime.combine(task.due_date, time(0), tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def task_input(task: HandoffTask) -> dict[str, Any]:
    return {
        "properties": {
            "hs_task_subject": task.subject,
            "hs_task_body": task.body,
            "hs_timestamp": due_timestamp(task),
            OWNER: task.owner_id,
            "hs_task_status": NEW_STATUS,
            MARKER: task.key,
        },
        "associations": [
            {
                "to": {"id": task.account_id},
                "types": [
                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TASK_TO_COMPANY}
                ],
            }
        ],
    }


class TaskCreator:
    def __init__(
        self,
        client: HubSpotClient,
        mirror: Mirror,
        profile: Profile,
        result: RelatedResult,
        settings: RoundSettings,
        sleep: Callable[[float], None],
        batches: RelatedBatches,
    ) -> None:
        assert profile.hubspot is not None
        self.client = client
        self.mirror = mirror
        self.result = result
        self.settings = settings
        self.sleep = sleep
        self.batches = batches
        self.tasks: dict[str, HandoffTask] = {}
        self._rows: list[Row] = []
        self._mirrored = profile.hubspot.pull.tasks

    def run(self, tasks: Sequence[HandoffTask], active: Mapping[str, bool]) -> None:
        for task in tasks:
            problem = target_problem(task.owner_id, active)
            if task.key in self.tasks or task.key in self.result.tasks_failed:
                self.result.tasks_failed[task.key] = "the plan creates this task twice"
                self.tasks.pop(task.key, None)
            elif problem is not None:
                self.result.tasks_failed[task.key] = problem.replace("target owner", "assignee")
            else:
                self.tasks[task.key] = task
        rounds = Rounds(
            self.settings,
            check=self.check,
            write=self.batches.wrap(self.write, self.tasks, tasks=True),
            decide=self.decide,
            sleep=self.sleep,
            flush=self.flush,
        )
        rounds.run(list(self.tasks))

    def check(self, keys: list[str], unknown: set[str]) -> list[str]:
        """The keys the portal holds already are decided; the rest are to create."""
        answer = self.client.batch_read(
            "tasks", keys, (*TASK_PROPERTIES, MARKER), id_property=MARKER
        )
        found = {
            text(r.get("properties") or {}, MARKER): r
            for r in batch_answer(answer).records.values()
        }
        to_create: list[str] = []
        for key in keys:
            record = found.get(key)
            if record is None:
                to_create.append(key)
                continue
            # Ours if our last create went unanswered; otherwise an earlier run's.
            target = self.result.tasks_created if key in unknown else self.result.tasks_existing
            target.append(key)
            self._mirror(self.tasks[key], record)
        return to_create

    def write(self, keys: list[str]) -> dict[str, RecordResult]:
        try:
            answer = self.client.batch_create("tasks", [task_input(self.tasks[k]) for k in keys])
        except RefusedError as exc:
            if exc.status == 409:
                return {k: RecordResult(Outcome.RETRY, TAKEN) for k in keys}
            if len(keys) == 1:
                raise
            # One bad input refuses the whole batch: nothing was created. Alone, each
            # task stands or fails on its own.
            results: dict[str, RecordResult] = {}
            for key in keys:
                try:
                    results.update(self.write([key]))
                except RefusedError as alone:
                    results[key] = RecordResult(Outcome.FAILED, str(alone))
                except RequestError as lost:  # no answer: read back before any re-send
                    results[key] = RecordResult(Outcome.UNKNOWN, str(lost))
            return results
        created: dict[str, RecordResult] = {}
        for record in answer.get("results") or []:
            key = text(record.get("properties") or {}, MARKER)
            if key in self.tasks and key in keys:
                created[key] = RecordResult(Outcome.APPLIED)
                self._mirror(self.tasks[key], record)
        # A key the answer does not name stays UNKNOWN: read back before any re-send.
        return created

    def decide(self, key: str, result: RecordResult) -> None:
        if result.outcome is Outcome.APPLIED:
            self.result.tasks_created.append(key)
        else:
            self.result.tasks_failed[key] = result.reason

    def _mirror(self, task: HandoffTask, record: Mapping[str, Any]) -> None:
        properties = {
            "hs_task_subject": task.subject,
            "hs_timestamp": due_timestamp(task),
            "hs_task_status": NEW_STATUS,
            OWNER: task.owner_id,
            **(record.get("properties") or {}),
        }
        row = task_row({"id": record.get("id"), "properties": properties}, task.account_id)
        if row is not None and record.get("id"):
            self._rows.append(row)

    def flush(self) -> None:
        if self._mirrored and self._rows:
            self.mirror.store("tasks", "tasks", self._rows, cursor=None, replace=False)
        self._rows = []
