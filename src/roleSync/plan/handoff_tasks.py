"""Handoff tasks: the CRM tasks a handoff block's `tasks` asks for (routing.yaml).

Pure: a book, the plan's ownership changes with the day each one's trigger fired, the
handoff blocks and the plan's date in; HandoffTask entries out, their text filled from
the fixed placeholders (rules.task_template), so the plan shows exactly what is written.

One task for the new owner per handed-off account, and one for the previous owner when
the block asks for it and that owner is still here: no task is ever given to someone
who left (inactive, or not in the book; always so for owner_left). Those are counted,
never dropped silently: `tasks_owner_left` in the plan's summary, and explain says it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from roleSync.model import Book
from roleSync.plan.types import HandoffTask, OwnershipChange, TaskFor
from roleSync.rules.schema import Handoff, Trigger
from roleSync.rules.task_schema import TaskSpec, template_parts
from roleSync.rules.task_template import BODY_LIMIT, SUBJECT_LIMIT, cut, fill, one_line

KEY_PREFIX = "rs-"


def handoff_task_key(
    handoff_id: str, account_id: str, new_owner_id: str, fired: str, for_owner: TaskFor
) -> str:
    """The task's exactly-once marker: "rs-" and 32 hex digits (35 characters, short
    enough for any CRM text field), the same for the same handoff whenever it is planned,
    different for another handoff of the account (a later trigger, another new owner).
    JSON-encoded before hashing, so no id containing a separator can collide with two."""
    raw = json.dumps([handoff_id, account_id, new_owner_id, fired, for_owner.value])
    return KEY_PREFIX + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def fired_marker(change: OwnershipChange, trigger_date: date) -> str:
    """What identifies the moment of a handoff in its task key: the trigger's date, except
    for owner_left, whose "date" is the day the plan saw the owner gone (a plan made a day
    later would get another key and a second task): the departed owner's id instead."""
    if change.trigger == Trigger.OWNER_LEFT.value:
        return f"owner-left:{change.from_owner_id or ''}"
    return trigger_date.isoformat()


@dataclass(frozen=True, slots=True)
class PlannedTasks:
    tasks: list[HandoffTask]
    # Previous-owner tasks asked for but not created: that owner left (inactive, or not
    # in the book).
    owner_left: int


def _text(spec: TaskSpec, values: Mapping[str, str]) -> tuple[str, str]:
    subject = one_line(fill(template_parts(spec.subject), values))
    body = fill(template_parts(spec.body), values)
    return cut(subject, SUBJECT_LIMIT), cut(body, BODY_LIMIT)


def handoff_tasks(
    book: Book,
    changes: Sequence[OwnershipChange],
    fired_on: Mapping[str, date],
    blocks: Sequence[Handoff],
    as_of: date,
) -> PlannedTasks:
    """The tasks of each change whose block has `tasks`, in the order of the changes:
    the new owner's, then the previous owner's. `fired_on`: account id -> the day its
    trigger fired."""
    by_id = {block.id: block for block in blocks}
    tasks: list[HandoffTask] = []
    left = 0

    def name(owner_id: str | None) -> str:
        owner = book.owners.get(owner_id or "")
        if owner is not None and owner.name:
            return owner.name
        return owner_id or "no one"

    for change in changes:
        block = by_id.get(change.handoff_id)
        if block is None or block.tasks is None:
            continue
        fired = fired_on[change.account_id]
        previous = book.owners.get(change.from_owner_id or "")
        wanted: list[tuple[TaskFor, TaskSpec, str]] = [
            (TaskFor.NEW_OWNER, block.tasks.new_owner, change.to_owner_id)
        ]
        if block.tasks.previous_owner is not None:
            if previous is not None and previous.active:
                wanted.append((TaskFor.PREVIOUS_OWNER, block.tasks.previous_owner, previous.id))
            else:
                left += 1
        values = {
            "account": change.account_name or change.account_id,
            "account_id": change.account_id,
            "previous_owner": name(change.from_owner_id),
            "new_owner": name(change.to_owner_id),
            "trigger": change.trigger,
            "trigger_date": fired.isoformat(),
            "route": change.rule_id,
        }
        marker = fired_marker(change, fired)
        for for_owner, spec, assignee in wanted:
            due = as_of + timedelta(days=spec.due_in_days)
            subject, body = _text(spec, {**values, "due_date": due.isoformat()})
            key = handoff_task_key(
                change.handoff_id, change.account_id, change.to_owner_id, marker, for_owner
            )
            tasks.append(
                HandoffTask(
                    key,
                    change.account_id,
                    assignee,
                    subject,
                    body,
                    due,
                    for_owner,
                    trigger=change.trigger,
                    handoff_id=change.handoff_id,
                )
            )
    return PlannedTasks(tasks, left)
