"""The Adapter protocol over a HubSpot portal, through hubspot-api-client.

`pull` brings the mirror up to date (full the first time and every
`full_pull_every_days`, incremental otherwise) and reads the Book out of it; `apply`
refreshes the owners (a target archived since the plan must be refused here), writes
the ownership changes and then the role metrics, and records what it wrote in the mirror
as it goes. The next pull re-reads the companies written (their stamps moved): cheap
through search, and it keeps the mirror honest about anything HubSpot derived from them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from roleSync.adapters.base import ApplyJournal, ApplyResult, RelatedJournal, RelatedResult
from roleSync.adapters.crm import MirroredAdapter
from roleSync.adapters.hubspot.apply import (
    OwnershipWriter,
    current_companies,
    estimate_requests,
)
from roleSync.adapters.hubspot.client import HubSpotClient
from roleSync.adapters.hubspot.metrics import MetricWriter
from roleSync.adapters.hubspot.pull import Puller, PullReport
from roleSync.adapters.hubspot.records import OWNER, company_properties, deal_properties
from roleSync.adapters.hubspot.related import (
    RecordOwners,
    RelatedBatches,
    estimate_related_requests,
    target_problem,
)
from roleSync.adapters.hubspot.related_tasks import TaskCreator
from roleSync.adapters.hubspot.rounds import RoundSettings
from roleSync.adapters.mirror import Mirror
from roleSync.adapters.resilience import RetryPolicy
from roleSync.errors import UsageError
from roleSync.plan import MetricWrite, OwnershipChange
from roleSync.plan.types import HandoffTask, RelatedChange, RelatedObject, related_key
from roleSync.profile import Profile


def _utc_now() -> datetime:
    return datetime.now(UTC)


class HubSpotAdapter(MirroredAdapter[HubSpotClient]):
    """One run's connection to one portal. Nothing touches the network before `pull`,
    `apply` or `client` is used."""

    def __init__(
        self,
        profile: Profile,
        *,
        env: Mapping[str, str] | None = None,
        full: bool = False,
        policy: RetryPolicy | None = None,
        rounds: RoundSettings | None = None,
        now: Callable[[], datetime] = _utc_now,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if profile.kind != "hubspot" or profile.hubspot is None:
            raise UsageError(f"profile {profile.name!r} is not of kind hubspot")
        self.profile = profile
        self.section = profile.hubspot
        self.client = HubSpotClient(
            self.section,
            env=env,
            policy=policy,
            ca_bundle=profile.hubspot_ca_bundle_path,
            clock=clock,
        )
        self.full = full
        self.rounds = rounds or RoundSettings(batch_size=self.section.batch_size)
        # Pauses between write rounds (the retry policy's sleep unless given).
        self._sleep = sleep or self.client.policy.sleep
        self._now = now
        self._mirror: Mirror | None = None
        self._puller: Puller | None = None
        self._progress: Callable[[int], None] | None = None
        self.last_pull: PullReport | None = None

    def set_progress(self, callback: Callable[[int], None] | None) -> None:
        """Called with the number of plan entries decided, batch by batch (progress bars)."""
        self._progress = callback

    @property
    def puller(self) -> Puller:
        if self._puller is None:
            self._puller = Puller(self.client, self.mirror, self.profile, now=self._now)
        return self._puller

    def _source(self) -> str:
        """What the mirror's content depends on: another portal, other properties or
        another metrics destination make the cursors meaningless (next pull is full)."""
        selection = {
            "host": self.client.host,
            "companies": list(company_properties(self.profile)),
            "deals": list(deal_properties(self.profile)),
            "metrics": self.profile.metrics_destination if self.profile.metrics.write else None,
        }
        return json.dumps(selection, sort_keys=True)

    def _pull(self, *, full: bool) -> None:
        self.last_pull = self.puller.run(full=full)

    def apply(
        self,
        changes: Sequence[OwnershipChange],
        metric_writes: Sequence[MetricWrite],
        journal: ApplyJournal | None = None,
    ) -> ApplyResult:
        result = ApplyResult()
        if not changes and not metric_writes:
            return result
        # `rolesync apply` may run with a plan made elsewhere or long ago: owners archived
        # since are refused here, not discovered record by record.
        self.puller.owners(PullReport())
        writer = OwnershipWriter(
            self.client,
            self.mirror,
            self.profile,
            result,
            self.rounds,
            self._sleep,
            self._now,
            journal=journal,
            progress=self._progress,
        )
        writer.run(changes)
        moved = {c: writer.changes[c].to_owner_id for c in result.applied if c in writer.changes}
        MetricWriter(
            self.client,
            self.mirror,
            self.profile,
            result,
            self.rounds,
            self._sleep,
            self.puller.links,
        ).run(metric_writes, moved)
        if self._progress is not None and metric_writes:
            self._progress(len(metric_writes))
        return result

    def apply_related(
        self,
        changes: Sequence[RelatedChange],
        tasks: Sequence[HandoffTask],
        journal: RelatedJournal | None = None,
    ) -> RelatedResult:
        """Move the carried records (deals, then contacts, then tasks: each object's
        batches through batch read and batch update) and create the handoff tasks (read
        by key, then batch create), every batch journaled (see related.py and
        related_tasks.py)."""
        result = RelatedResult()
        if not changes and not tasks:
            return result
        # As in `apply`: an owner archived since the plan is refused here, not found out
        # record by record.
        self.puller.owners(PullReport())
        active = self.mirror.owners_active()
        batches = RelatedBatches(journal)
        accepted: dict[str, RelatedChange] = {}
        for change in changes:
            key = related_key(change)
            problem = target_problem(change.to_owner_id, active)
            if key in accepted or key in result.failed:
                result.failed[key] = "the plan carries this record twice"
                accepted.pop(key, None)
            elif problem is not None:
                result.failed[key] = problem
            else:
                accepted[key] = change
        for kind in RelatedObject:
            carried = [c for c in accepted.values() if c.object is kind]
            if carried:
                RecordOwners(
                    self.client, self.mirror, self.profile, kind, result, self.rounds,
                    self._sleep, batches,
                ).run(carried)  # fmt: skip
        if tasks:
            TaskCreator(
                self.client, self.mirror, self.profile, result, self.rounds, self._sleep, batches
            ).run(tasks, active)
        return result

    def planned_requests(
        self,
        changes: Sequence[OwnershipChange] = (),
        metric_writes: Sequence[MetricWrite] = (),
        related: Sequence[RelatedChange] = (),
        tasks: Sequence[HandoffTask] = (),
    ) -> int:
        """Requests `apply` and `apply_related` are expected to send without faults, for a
        budget check before any write."""
        batch = self.rounds.batch_size
        records = {kind: sum(1 for c in related if c.object is kind) for kind in RelatedObject}
        planned = estimate_related_requests(records, len(tasks), batch)
        if changes or metric_writes:
            planned += estimate_requests(len(changes), len(metric_writes), batch)
        return planned

    def current_owners(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        """The compare-and-set read (a batch read per 100), for reconciling a journal."""
        owners: dict[str, str | None] = {}
        ids = list(account_ids)
        for start in range(0, len(ids), self.section.batch_size):
            found = current_companies(
                self.client,
                ids[start : start + self.section.batch_size],
                self.section.properties.lock,
            )
            for company_id, record in found.records.items():
                owners[company_id] = (record.get("properties") or {}).get(OWNER) or None
        return owners

    def close(self) -> None:
        super().close()
        self._puller = None  # it pulled into the mirror just closed
