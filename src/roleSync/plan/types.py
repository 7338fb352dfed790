"""The entries of a plan: what a run would change and what it leaves alone, and why.

Pure data of the core. Adapters receive these and report what happened to each; they
import them from here, never the reverse (tests/test_import_direction.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from roleSync.metrics import RoleMetrics
from roleSync.model import FieldValue, PendingRole, Role


@dataclass(frozen=True, slots=True)
class OwnershipChange:
    """Move one account from one owner to another, for a stated rule and reason."""

    account_id: str
    account_name: str
    from_owner_id: str | None
    to_owner_id: str
    rule_id: str
    reason: str
    # The trigger that fired and the id of its handoff block (routing.yaml). Blank in plans
    # written before triggers were named: their trigger was first_won_new_business.
    trigger: str = ""
    handoff_id: str = ""


class RelatedObject(StrEnum):
    DEAL = "deal"
    CONTACT = "contact"
    TASK = "task"


@dataclass(frozen=True, slots=True)
class RelatedChange:
    """Move one record of an account (an open deal, a contact, an open task) to the
    account's new owner, because its handoff block carries it (routing.yaml `carry`).

    Compare-and-set like an account: written only while the record's owner is still
    `from_owner_id`. `handoff_id` and `trigger` name the block, as on the account's change."""

    object: RelatedObject
    record_id: str
    account_id: str
    from_owner_id: str | None
    to_owner_id: str
    reason: str
    trigger: str = ""
    handoff_id: str = ""


def related_key(change: RelatedChange) -> str:
    """The journal's and audit log's key of a carried record: "deal:006...", unique in
    a plan (one record is carried once)."""
    return f"{change.object.value}:{change.record_id}"


class TaskFor(StrEnum):
    """Whom a handoff task is for: the account's new owner, or the previous one
    ("introduce X to the customer")."""

    NEW_OWNER = "new_owner"
    PREVIOUS_OWNER = "previous_owner"


@dataclass(frozen=True, slots=True)
class HandoffTask:
    """A CRM task to create for one handoff (routing.yaml `tasks` of a handoff block).

    `key` is the exactly-once marker: derived from the handoff (block, account, new
    owner, trigger date, whom it is for), never from the run, so a re-run, a recovery
    or a plan made again finds the task it created and does not create it twice. The
    adapter stores it on the task (Salesforce `RoleSync_Key__c`, HubSpot `rolesync_key`,
    the local book's `tasks.rolesync_key`) and treats "already there" as created.

    Subject and body are filled when the plan is made, from placeholders only (data,
    never a template language), so the plan shows exactly what will be written."""

    key: str
    account_id: str
    owner_id: str  # the assignee
    subject: str
    body: str
    due_date: date
    for_owner: TaskFor
    trigger: str = ""
    handoff_id: str = ""


def task_key(task: HandoffTask) -> str:
    """The journal's and audit log's key of a planned task: "handoff-task:<key>"."""
    return f"handoff-task:{task.key}"


@dataclass(frozen=True, slots=True)
class MetricWrite:
    """Write role and role metrics of one owner into the profile's destination fields.

    `expected`: what each destination field held when the plan was made (absent: the
    field was blank). Apply writes nothing for the owner when the CRM holds anything else
    now (compare-and-set), so an old plan cannot overwrite newer values."""

    owner_id: str
    values: Mapping[str, FieldValue]
    expected: Mapping[str, FieldValue] = field(default_factory=dict)

    def conflict_with(self, current: Mapping[str, FieldValue]) -> str | None:
        """Why the values found now forbid the write (a field holds neither what the plan
        saw nor what it writes), or None. A field already holding the planned value is no
        conflict: a run finished after a crash finds its own writes."""
        changed = [
            name
            for name, value in self.values.items()
            if not same_value(current.get(name), value)
            and not same_value(current.get(name), self.expected.get(name))
        ]
        if not changed:
            return None
        shown = ", ".join(
            f"{n}={current.get(n)!r} (planned from {self.expected.get(n)!r})" for n in changed
        )
        return f"changed since the plan was made: {shown}"

    def pending(self, current: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
        """The planned values the CRM does not hold yet."""
        return {
            name: value
            for name, value in self.values.items()
            if not same_value(current.get(name), value)
        }


def same_value(found: FieldValue | None, planned: FieldValue | None) -> bool:
    """Field values equal as a CRM round-trips them: 3 and 3.0 are one number, a blank
    string is no value."""
    if found == "" or found is None:
        return planned == "" or planned is None
    if isinstance(found, bool) or isinstance(planned, bool):
        return isinstance(found, bool) and isinstance(planned, bool) and found == planned
    if isinstance(found, int | float) and isinstance(planned, int | float):
        return float(found) == float(planned)
    return found == planned


class SkipCode:
    LOCKED = "locked"
    PENDING = "handoff-pending"
    NO_ROUTE = "no-route"
    NO_FARMER = "no-eligible-farmer"
    MANUAL = "manual-reassignment"
    # `when_unavailable: wait`: the member whose turn it is is away; routed after their return.
    WAITING = "waiting-for-return"


# Every code a plan's skip can carry: what `--fail-on` and a profile's `alerts.fail_on` name.
SKIP_CODES = (
    SkipCode.NO_FARMER,
    SkipCode.NO_ROUTE,
    SkipCode.PENDING,
    SkipCode.LOCKED,
    SkipCode.MANUAL,
    SkipCode.WAITING,
)


@dataclass(frozen=True, slots=True)
class Skip:
    """A post-sale account that met the handoff trigger but does not move, and why."""

    account_id: str
    account_name: str
    owner_id: str | None
    code: str
    reason: str
    # The route whose pool had no eligible farmer (no-eligible-farmer), else blank: the
    # run report and the `--fail-on` line name full routes by it. Plans written before
    # it have none.
    route: str = ""


@dataclass(frozen=True, slots=True)
class OwnerRole:
    """One owner's classification with the metrics that decided it."""

    owner_id: str
    name: str
    email: str
    title: str
    active: bool
    role: Role
    rule_id: str | None
    reason: str
    metrics: RoleMetrics
    # The role the rules have given instead since a date, held by `hysteresis: {days}`:
    # the next run goes on counting from it. Absent (None) in plans without one.
    pending: PendingRole | None = None
