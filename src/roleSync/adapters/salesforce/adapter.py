"""The Adapter protocol over a Salesforce org, through simple-salesforce.

`pull` brings the mirror up to date (full the first time, incremental afterwards) and
reads the Book out of it; `apply` checks the run's API budget, writes, records what it
wrote in the mirror, and pulls back the objects it wrote, so the next run's
incremental pull does not download the run's own writes again. `apply_related` does the
same for the records a handoff carries and for handoff tasks (`related_apply.py`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from roleSync.adapters.base import ApplyJournal, ApplyResult, RelatedJournal, RelatedResult
from roleSync.adapters.crm import MirroredAdapter
from roleSync.adapters.mirror import Mirror
from roleSync.adapters.resilience import RetryPolicy
from roleSync.adapters.salesforce.apply import (
    MetricWriter,
    OwnershipWriter,
    current_accounts,
    estimate_requests,
)
from roleSync.adapters.salesforce.client import SalesforceClient
from roleSync.adapters.salesforce.pull import PullReport, pull_into
from roleSync.adapters.salesforce.related_apply import apply_related, related_estimate
from roleSync.adapters.salesforce.rounds import RoundSettings
from roleSync.adapters.salesforce.soql import object_queries
from roleSync.errors import RoleSyncError, UsageError
from roleSync.plan import MetricWrite, OwnershipChange
from roleSync.plan.types import HandoffTask, RelatedChange
from roleSync.profile import Profile

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SalesforceAdapter(MirroredAdapter[SalesforceClient]):
    """One run's connection to one org. Nothing touches the network before `pull` or
    `apply` is called."""

    def __init__(
        self,
        profile: Profile,
        *,
        env: Mapping[str, str] | None = None,
        full: bool = False,
        policy: RetryPolicy | None = None,
        rounds: RoundSettings | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = _utc_now,
        bulk_poll_seconds: float = 2.0,
    ) -> None:
        if profile.kind != "salesforce" or profile.salesforce is None:
            raise UsageError(f"profile {profile.name!r} is not of kind salesforce")
        self.profile = profile
        self.section = profile.salesforce
        self.client = SalesforceClient(
            self.section,
            ca_bundle=profile.ca_bundle_path,
            env=env,
            policy=policy,
            bulk_poll_seconds=bulk_poll_seconds,
        )
        self.full = full
        self.rounds = rounds or RoundSettings(batch_size=self.section.batch_size)
        self._sleep = sleep
        self._now = now
        self._mirror: Mirror | None = None
        self.last_pull: PullReport | None = None
        # Requests the related writes announced by `expect_related` will need.
        self._related_planned = 0

    def _source(self) -> str:
        """What the mirror's content depends on: another org or other selected fields
        make the mirror's cursors meaningless, so the next pull is a full one."""
        where = self.client.org_hint
        queries = {q.sobject: list(q.fields) for q in object_queries(self.profile)}
        return json.dumps({"org": where, "fields": queries}, sort_keys=True)

    def _pull(self, *, full: bool) -> None:
        self.last_pull = pull_into(self.client, self.mirror, self.profile, full=full)

    def apply(
        self,
        changes: Sequence[OwnershipChange],
        metric_writes: Sequence[MetricWrite],
        journal: ApplyJournal | None = None,
    ) -> ApplyResult:
        result = ApplyResult()
        if not changes and not metric_writes:
            return result  # nothing to write: not even a budget check
        planned = self._related_planned + estimate_requests(
            len(changes),
            len(metric_writes),
            batch_size=self.rounds.batch_size,
            bulk_threshold=self.section.bulk_threshold,
        )
        # Users first (one query when nothing changed): `rolesync apply` may run with a
        # plan made elsewhere or long ago, and a target owner deactivated since must be
        # refused here, not discovered record by record.
        pull_into(self.client, self.mirror, self.profile, only={"User"})
        # Before the first write: stop cleanly (nothing written) rather than half way.
        self.client.ensure_budget_known()
        self.client.budget.check(
            planned,
            f"applying {len(changes)} ownership changes and {len(metric_writes)} metric writes",
        )
        OwnershipWriter(
            self.client,
            self.mirror,
            self.profile,
            result,
            self.rounds,
            self._sleep,
            self._now,
            journal=journal,
        ).run(changes)
        MetricWriter(self.client, self.mirror, self.profile, result, self.rounds, self._sleep).run(
            metric_writes
        )
        self._catch_up(result)
        return result

    def expect_related(
        self, changes: Sequence[RelatedChange], tasks: Sequence[HandoffTask]
    ) -> None:
        """Announce the carried records and tasks `apply_related` will write after
        `apply`, so that apply's budget check, before any write, counts them too: a run
        the budget cannot finish stops before it moves an account without its records."""
        self._related_planned = related_estimate(self.profile, self.rounds, changes, tasks)

    def apply_related(
        self,
        changes: Sequence[RelatedChange],
        tasks: Sequence[HandoffTask],
        journal: RelatedJournal | None = None,
    ) -> RelatedResult:
        """Owners of carried records and new handoff tasks (see `related_apply`)."""
        if not changes and not tasks:
            return RelatedResult()
        result = apply_related(
            self.client,
            self.mirror,
            self.profile,
            self.rounds,
            self._sleep,
            changes,
            tasks,
            journal,
        )
        self._related_planned = 0
        return result

    def current_owners(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        """The compare-and-set read (a collections retrieve per 2,000 accounts), for
        reconciling a journal; accounts Salesforce no longer shows are absent."""
        found = current_accounts(self.client, list(account_ids), self.section.fields.lock)
        return {account_id: owner for account_id, (owner, _) in found.items()}

    def _catch_up(self, result: ApplyResult) -> None:
        written = set()
        if result.applied:
            written.add("Account")
        if result.metrics_written:
            written.add("User")
        if not written:
            return
        try:
            pull_into(self.client, self.mirror, self.profile, only=written)
        except RoleSyncError as exc:
            # The writes are done and recorded; the next pull picks them up instead.
            log.info("could not pull back what this run wrote: %s", exc)
