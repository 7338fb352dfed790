"""`SalesforceAdapter.apply_related`: the owners of carried records, then the handoff
tasks, after a budget check that comes before the first write.

Users are refreshed first (one query when nothing changed), as for `apply`: a target
owner or assignee deactivated since the plan is refused here, not record by record.
Afterwards the objects written are pulled back (incremental, as `apply` does for
accounts), so the next run's pull does not download this run's own writes again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from roleSync.adapters.base import RelatedJournal, RelatedResult
from roleSync.adapters.mirror import Mirror
from roleSync.adapters.salesforce.client import SalesforceClient
from roleSync.adapters.salesforce.handoff_tasks import HandoffTaskCreator, lookup_count
from roleSync.adapters.salesforce.pull import pull_into
from roleSync.adapters.salesforce.related import (
    RelatedRecordWriter,
    estimate_related_requests,
    object_counts,
)
from roleSync.adapters.salesforce.related_rounds import RelatedJournaled
from roleSync.adapters.salesforce.rounds import RoundSettings
from roleSync.errors import RoleSyncError
from roleSync.plan.types import HandoffTask, RelatedChange
from roleSync.profile import Profile

log = logging.getLogger(__name__)


def related_estimate(
    profile: Profile,
    rounds: RoundSettings,
    changes: Sequence[RelatedChange],
    tasks: Sequence[HandoffTask],
) -> int:
    """Requests writing `changes` and creating `tasks` is expected to take."""
    assert profile.salesforce is not None
    if not changes and not tasks:
        return 0
    return estimate_related_requests(
        object_counts(changes),
        lookup_count([t.key for t in tasks]),
        len(tasks),
        batch_size=rounds.batch_size,
        bulk_threshold=profile.salesforce.bulk_threshold,
    )


def apply_related(
    client: SalesforceClient,
    mirror: Mirror,
    profile: Profile,
    rounds: RoundSettings,
    sleep: Callable[[float], None],
    changes: Sequence[RelatedChange],
    tasks: Sequence[HandoffTask],
    journal: RelatedJournal | None,
) -> RelatedResult:
    result = RelatedResult()
    planned = related_estimate(profile, rounds, changes, tasks)
    pull_into(client, mirror, profile, only={"User"})
    # Before the first write: stop cleanly (nothing written) rather than half way.
    client.ensure_budget_known()
    client.budget.check(
        planned,
        f"writing {len(changes)} carried records and creating {len(tasks)} handoff tasks",
    )
    journaled = RelatedJournaled(journal) if journal is not None else None
    records = RelatedRecordWriter(client, mirror, profile, result, rounds, sleep, journaled)
    records.run(changes)
    HandoffTaskCreator(client, mirror, profile, result, rounds, sleep, journaled).run(tasks)
    written = set(records.written_types) | ({"Task"} if result.tasks_created else set())
    if written:
        try:
            # Objects the profile does not pull are skipped by the pull itself.
            pull_into(client, mirror, profile, only=written)
        except RoleSyncError as exc:
            # The writes are done and recorded; the next pull picks them up instead.
            log.info("could not pull back what this run wrote: %s", exc)
    return result
