"""Write role metrics where the profile sends them (`metrics.destination`):

- `users` (the default): properties of each owner's record in the users object (the
  record whose `hs_internal_user_id` is the owner's user id). Owners cannot hold
  properties; users can.
- `companies`: every company carries its owner's role and metrics, for views, lists
  and reports on companies ("customers owned by farmers"). An owner's values are
  written onto each company it owns that does not hold them yet, including companies
  it received in this run; the mirror remembers what each company holds, so only
  differences are written.

Compare-and-set: before anything is written, the records are read (batch read, 100 a
request) and an owner whose record holds a value other than the one the plan was made
from is a conflict: nothing is written for it (with `companies`, on none of its
companies; a company moved to it in this run is not compared: it held its previous
owner's values). Only the values a record does not hold yet are sent. A write whose
answer was lost is still read back before it is sent again, so nothing is written twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from roleSync.adapters.base import ApplyResult
from roleSync.adapters.crm import accepted_metric_writes
from roleSync.adapters.hubspot.client import HubSpotClient
from roleSync.adapters.hubspot.pull import OwnerLinks
from roleSync.adapters.hubspot.records import (
    DELETED,
    METRIC_PREFIX,
    batch_answer,
    metric_text,
    metric_value,
    write_results,
)
from roleSync.adapters.hubspot.rounds import Rounds, RoundSettings
from roleSync.adapters.mirror import Mirror
from roleSync.adapters.rounds import Outcome, RecordResult
from roleSync.errors import RoleSyncError
from roleSync.model import FieldValue
from roleSync.plan import MetricWrite
from roleSync.profile import Profile

Values = Mapping[str, FieldValue]
Records = dict[str, dict[str, FieldValue]]
BATCH_READ = 100  # records per batch read (HubSpot's limit)


def _company_guard(write: MetricWrite) -> MetricWrite:
    """What one of the owner's companies is compared on: the fields the owner's companies
    all held one value of when the plan was made (its `expected`); the others differed
    from company to company and say nothing about a newer write."""
    return MetricWrite(
        write.owner_id,
        {k: v for k, v in write.values.items() if k in write.expected},
        write.expected,
    )


class PropertyWriter:
    """Set property values on records of one object type, batch by batch."""

    def __init__(
        self,
        client: HubSpotClient,
        object_type: str,
        values: Mapping[str, Values],
        keys: Mapping[str, str],
        settings: RoundSettings,
        sleep: Callable[[float], None],
    ) -> None:
        self.client = client
        self.object_type = object_type
        self.values = values
        self.keys = keys  # destination property -> metric key (for typing read values)
        self.outcomes: dict[str, RecordResult] = {}
        self.rounds = Rounds(
            settings, check=self.check, write=self.write, decide=self.decide, sleep=sleep
        )

    def run(self) -> dict[str, RecordResult]:
        self.rounds.run(list(self.values))
        return self.outcomes

    def check(self, ids: list[str], unknown: set[str]) -> list[str]:
        """Only records whose last write went unanswered are read: those already holding
        the values are done."""
        if not unknown:
            return ids
        names = sorted({name for i in unknown for name in self.values[i]})
        found = batch_answer(self.client.batch_read(self.object_type, sorted(unknown), names))
        to_write = []
        for record_id in ids:
            record = found.records.get(record_id)
            if record_id not in unknown:
                to_write.append(record_id)
            elif record is None:
                self.decide(record_id, RecordResult(Outcome.FAILED, DELETED))
            elif self._holds(record.get("properties") or {}, self.values[record_id]):
                self.decide(record_id, RecordResult(Outcome.APPLIED))
            else:
                to_write.append(record_id)
        return to_write

    def _holds(self, properties: Mapping[str, object], values: Values) -> bool:
        return all(metric_value(self.keys[k], properties.get(k)) == v for k, v in values.items())

    def write(self, ids: list[str]) -> dict[str, RecordResult]:
        inputs = [
            {"id": i, "properties": {k: metric_text(v) for k, v in self.values[i].items()}}
            for i in ids
        ]
        return write_results(self.client.batch_update(self.object_type, inputs), ids)

    def decide(self, record_id: str, result: RecordResult) -> None:
        self.outcomes[record_id] = result


class MetricWriter:
    def __init__(
        self,
        client: HubSpotClient,
        mirror: Mirror,
        profile: Profile,
        result: ApplyResult,
        settings: RoundSettings,
        sleep: Callable[[float], None],
        links: OwnerLinks,
    ) -> None:
        self.client = client
        self.mirror = mirror
        self.profile = profile
        self.result = result
        self.settings = settings
        self.sleep = sleep
        self.links = links
        self.keys = {dest: key for key, dest in profile.metrics.fields.items()}

    def run(self, writes: Sequence[MetricWrite], moved: Mapping[str, str]) -> None:
        """`moved`: company id -> new owner, for the changes applied in this run."""
        known = self.mirror.owners_active()
        accepted = accepted_metric_writes(writes, self.profile, known, self.result, "property")
        if self.profile.metrics_destination == "companies":
            if self.profile.metrics.write:
                self._companies(accepted, moved)
        elif accepted:
            self._users(accepted)

    def _read(self, object_type: str, ids: Sequence[str], names: Sequence[str]) -> Records:
        """Record id -> its metric properties, typed as the plan writes them (absent: not
        found). The compare-and-set read, 100 records a request."""
        found: Records = {}
        for start in range(0, len(ids), BATCH_READ):
            chunk = list(ids[start : start + BATCH_READ])
            answer = batch_answer(self.client.batch_read(object_type, chunk, names))
            for record_id, record in answer.records.items():
                properties = record.get("properties") or {}
                found[record_id] = {n: metric_value(self.keys[n], properties.get(n)) for n in names}
        return found

    def _conflicts(
        self, object_type: str, guarded: Mapping[str, MetricWrite]
    ) -> tuple[Records, dict[str, str]] | None:
        """(values held now, record id -> conflict) of the guarded records; None when the
        read failed (every owner concerned is failed with the reason)."""
        names = sorted({n for w in guarded.values() for n in w.values})
        try:
            now = self._read(object_type, sorted(guarded), names)
        except RoleSyncError as exc:
            for write in guarded.values():
                self.result.metrics_failed[write.owner_id] = f"cannot read current values: {exc}"
            return None
        conflicts = {}
        for record_id, write in guarded.items():
            held = now.get(record_id)
            why = write.conflict_with(held) if held is not None else None
            if why is not None:
                conflicts[record_id] = why
        return now, conflicts

    def _users(self, accepted: Mapping[str, MetricWrite]) -> None:
        guarded: dict[str, MetricWrite] = {}
        for owner_id, write in accepted.items():
            record = self.links.user_records.get(owner_id)
            if record is None:
                self.result.metrics_failed[owner_id] = (
                    "owner has no record in the users object (no hs_internal_user_id "
                    "matching its user id)"
                )
                continue
            guarded[record] = write
        checked = self._conflicts("users", guarded) if guarded else None
        if checked is None:
            return
        now, conflicts = checked
        records: dict[str, Values] = {}
        owner_of: dict[str, str] = {}
        for record, write in guarded.items():
            if record in conflicts:
                self.result.metric_conflicts[write.owner_id] = conflicts[record]
                continue
            pending = write.pending(now[record]) if record in now else dict(write.values)
            if not pending:  # already holds the planned values
                self.result.metrics_written.append(write.owner_id)
                self.mirror.record_owner_fields({write.owner_id: write.values})
                continue
            records[record], owner_of[record] = pending, write.owner_id
        outcomes = PropertyWriter(
            self.client, "users", records, self.keys, self.settings, self.sleep
        ).run()
        written: dict[str, Values] = {}
        for record, outcome in outcomes.items():
            owner_id = owner_of[record]
            if outcome.outcome is Outcome.APPLIED:
                self.result.metrics_written.append(owner_id)
                written[owner_id] = guarded[record].values
            else:
                self.result.metrics_failed[owner_id] = outcome.reason
        self.mirror.record_owner_fields(written)

    def _companies(self, accepted: Mapping[str, MetricWrite], moved: Mapping[str, str]) -> None:
        book = self.mirror.read_book()  # after this run's ownership changes were recorded
        guarded = {
            company.id: _company_guard(accepted[company.owner_id or ""])
            for company in book.accounts.values()
            if company.owner_id in accepted and company.id not in moved
        }
        checked = self._conflicts("companies", guarded) if guarded else None
        if guarded and checked is None:
            return
        conflicts = checked[1] if checked is not None else {}
        for company_id, why in sorted(conflicts.items()):
            owner_id = guarded[company_id].owner_id
            self.result.metric_conflicts.setdefault(owner_id, f"company {company_id}: {why}")
        wanted = {o: w.values for o, w in accepted.items() if o not in self.result.metric_conflicts}
        targets = dict(wanted)
        for owner_id in set(moved.values()) - set(accepted):
            # A company moved to an owner whose metrics did not change: it still gets
            # that owner's values (those all its other companies hold).
            owner = book.owners.get(owner_id)
            if owner is not None and owner.recorded:
                targets[owner_id] = dict(owner.recorded)
        records: dict[str, Values] = {}
        owner_of: dict[str, str] = {}
        for company in book.accounts.values():
            values = targets.get(company.owner_id or "")
            if values is None:
                continue
            if any(company.fields.get(METRIC_PREFIX + k) != v for k, v in values.items()):
                records[company.id] = values
                owner_of[company.id] = company.owner_id or ""
        outcomes = PropertyWriter(
            self.client, "companies", records, self.keys, self.settings, self.sleep
        ).run()
        failures: dict[str, list[str]] = {}
        for company_id, outcome in outcomes.items():
            if outcome.outcome is not Outcome.APPLIED:
                failures.setdefault(owner_of[company_id], []).append(outcome.reason)
        self.mirror.record_account_fields(
            {
                c: {METRIC_PREFIX + k: v for k, v in records[c].items()}
                for c, o in outcomes.items()
                if o.outcome is Outcome.APPLIED
            }
        )
        for owner_id, values in targets.items():
            if owner_id in failures:
                reasons = failures[owner_id]
                self.result.metrics_failed[owner_id] = (
                    f"{len(reasons)} of its companies were not written: {reasons[0]}"
                )
            else:
                if owner_id in wanted:
                    self.result.metrics_written.append(owner_id)
                self.mirror.record_owner_fields({owner_id: values})
