"""`explain`'s words for what follows a handed-off account: the records carried with it
(routing.yaml `carry`) and the tasks created for the handoff (`tasks`), from the plan's
own entries, so explain tells exactly what apply would write."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from roleSync.plan import Plan
from roleSync.plan.types import TaskFor
from roleSync.rules.schema import Handoff

_WHOM = {TaskFor.NEW_OWNER: "the new owner", TaskFor.PREVIOUS_OWNER: "the previous owner"}


def carried_and_tasks(
    plan: Plan,
    account_id: str,
    name: Callable[[str | None], str],
    blocks: Sequence[Handoff] = (),
) -> list[str]:
    """Lines about the account's carried records and tasks in `plan`; none when the plan
    does not move it, or its handoff block carries nothing and creates no task. `name`:
    an owner's name from their id; `blocks`: the routing file's handoff blocks, to say
    why a previous owner gets no task (unknown in a past run's plan: left out)."""
    change = next((c for c in plan.changes if c.account_id == account_id), None)
    if change is None:
        return []
    block = next((b for b in blocks if b.id == change.handoff_id), None)
    label = f"handoff {change.handoff_id}" if change.handoff_id else "the handoff"
    lines: list[str] = []
    carried = [r for r in plan.related_changes if r.account_id == account_id]
    if carried:
        lines.append(f"Carried with it ({label}, carry): {len(carried)} records")
        lines += [
            f"  {r.object.value} {r.record_id}, from {name(r.from_owner_id)}: {r.reason}"
            for r in carried
        ]
    elif block is not None and block.carry:
        lines.append(f"Carried with it ({label}, carry): nothing, no record matches")
    tasks = [t for t in plan.task_creates if t.account_id == account_id]
    if tasks:
        lines.append(f"Tasks to create ({label}, tasks):")
        lines += [
            f'  for {name(t.owner_id)}, {_WHOM[t.for_owner]}: "{t.subject}", due {t.due_date}'
            for t in tasks
        ]
    asked = block is not None and block.tasks is not None and block.tasks.previous_owner
    if asked and not any(t.for_owner is TaskFor.PREVIOUS_OWNER for t in tasks):
        lines.append(
            f"  none for the previous owner {name(change.from_owner_id)}: they left "
            "(inactive or not in the book), and no task goes to someone who left"
        )
    return lines
