"""Pull owners, companies and deals into the mirror: full, or incremental from cursors.

Full (the first time, when the profile's selection or portal changed, and at least every
`full_pull_every_days`): owners (active and archived), every company and deal through
the v3 list endpoints (100 a page), and company-deal associations through the v4 batch
endpoint (100 ids a request, from whichever side has fewer records). The tables are
replaced, which also drops records deleted for good. The cursor is the newest
modification stamp search knows of *before* the lists are read: whatever changes while
they are read is newer, so the next incremental pull sees it. Over
`export_threshold` records, companies and deals come from the CRM exports API instead
(pull_exports.py: the same rows, fewer requests).

Incremental: search on `hs_lastmodifieddate` from the cursor minus the overlap window
(see search.py), de-duplicated by id (keeping the newest version), saved in chunks with
the cursor advanced, so a pull stopped by the daily limit keeps what it had; the
associations of changed deals (v4, deal to company); and the archived companies and
deals (the archived list), removed from the mirror.

Contacts and open tasks, when the profile's `pull` switches them on, are pulled like
deals (their company through v4 associations: the primary one, else the lowest id);
a full pull of N of them over C companies costs 1 + ceil(N/100) + ceil(min(N, C)/100)
requests (and more association pages for a company with over 100 of them). Those without
a company, and completed tasks, are not kept: skipped by a full pull, removed from the
mirror by an incremental one. Switched off, their tables are emptied (no requests).

Owners have no search: both lists are read every time (a few requests). With metrics
going to the users object, or owner properties mapped (`hubspot.owner_properties`: owners
hold no properties, users do), its records are read too (each owner's user, job title,
the metric values it holds and the owner properties).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from roleSync.adapters.hubspot import pull_exports
from roleSync.adapters.hubspot.client import HubSpotClient
from roleSync.adapters.hubspot.exports import Exported
from roleSync.adapters.hubspot.links import company_links
from roleSync.adapters.hubspot.records import (
    CONTACT_PROPERTIES,
    METRIC_PREFIX,
    TASK_PROPERTIES,
    account_row,
    company_properties,
    contact_row,
    deal_properties,
    deal_row,
    metric_properties,
    metric_values,
    owner_row,
    task_row,
)
from roleSync.adapters.hubspot.search import ChangedSince, SearchStats, newest_body, record_stamp
from roleSync.adapters.mirror import Cursor, Mirror, Row, Table
from roleSync.model import Book, FieldValue
from roleSync.profile import Profile

FULL_PULL_AT = "hubspot_full_pull_at"
# Incremental results are saved every this many records (with the cursor advanced).
CHUNK = 2000
USER_ID = "hs_internal_user_id"
JOB_TITLE = "hs_job_title"
# The related objects (what a handoff carries): object type -> mirror table.
RELATED: dict[str, Table] = {"contacts": "contacts", "tasks": "tasks"}


@dataclass(frozen=True, slots=True)
class ObjectPull:
    object: str
    full: bool
    upserted: int
    deleted: int
    requests: int


@dataclass(slots=True)
class PullReport:
    objects: list[ObjectPull] = field(default_factory=list)
    requests: int = 0
    search: dict[str, SearchStats] = field(default_factory=dict)


@dataclass(slots=True)
class OwnerLinks:
    """What apply needs beyond the mirror: each owner's record in the users object."""

    user_records: dict[str, str] = field(default_factory=dict)  # owner id -> users record id


class _Listed:
    """Pages on their way into the mirror, counted (and their ids kept with `keep_ids`:
    the companies' ids, which the deals' associations are read from)."""

    def __init__(self, *, keep_ids: bool) -> None:
        self._keep_ids = keep_ids
        self.ids: list[str] = []
        self.count = 0

    def pages(self, pages: Iterable[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        for page in pages:
            self.count += len(page)
            if self._keep_ids:
                self.ids.extend(str(r["id"]) for r in page)
            yield page


class Puller:
    def __init__(
        self,
        client: HubSpotClient,
        mirror: Mirror,
        profile: Profile,
        *,
        now: Callable[[], datetime],
    ) -> None:
        assert profile.hubspot is not None
        self.client = client
        self.mirror = mirror
        self.profile = profile
        self.section = profile.hubspot
        self.now = now
        self.links = OwnerLinks()
        self._newest: dict[str, dict[str, Any]] = {}  # newest-record search answers
        self._exported: dict[str, Exported] = {}

    def full_due(self) -> bool:
        last = self.mirror.meta(FULL_PULL_AT)
        if last is None:
            return True
        age = self.now() - datetime.fromisoformat(last)
        return age >= timedelta(days=self.section.full_pull_every_days)

    def run(self, *, full: bool = False) -> PullReport:
        report = PullReport()
        before = self.client.requests_sent
        full = full or self.full_due()
        started = self.now()
        self._newest = {}
        # Large portals: companies and deals exported, whole, before anything is stored.
        self._exported = (
            pull_exports.prefetch(self.client, self.section, self._properties, self._newest)
            if full
            else {}
        )
        try:
            company_ids = self._object(report, "companies", "accounts", full)
            self._object(report, "deals", "deals", full, company_ids=company_ids)
            switched = self.section.pull
            for object_type, table in RELATED.items():
                if getattr(switched, object_type):
                    self._object(report, object_type, table, full, company_ids=company_ids)
                else:
                    self.mirror.drop(object_type, table)
        finally:
            # Whatever was pulled is stored, also when the run stops half way.
            self.client.drain()
        self.owners(report)
        if all(o.full for o in report.objects if o.object in {"companies", "deals"}):
            self.mirror.set_meta(FULL_PULL_AT, started.astimezone(UTC).isoformat())
        report.requests = self.client.requests_sent - before
        return report

    # -- companies and deals ---------------------------------------------------

    def _rows(
        self, table: Table, records: Iterable[Mapping[str, Any]], links: Mapping[str, str]
    ) -> tuple[list[Row], list[str]]:
        """The mirror rows of `records`, and the ids of those that do not belong in it
        (a contact without a company, a completed task)."""
        if table == "accounts":
            return [account_row(self.profile, r) for r in records], []
        if table == "deals":
            return [deal_row(self.profile, r, links.get(str(r["id"]))) for r in records], []
        convert = contact_row if table == "contacts" else task_row
        rows: list[Row] = []
        gone: list[str] = []
        for record in records:
            row = convert(record, links.get(str(record["id"])))
            if row is None:
                gone.append(str(record["id"]))
            else:
                rows.append(row)
        return rows, gone

    def _properties(self, object_type: str) -> tuple[str, ...]:
        if object_type == "companies":
            return company_properties(self.profile)
        if object_type == "contacts":
            return CONTACT_PROPERTIES
        if object_type == "tasks":
            return TASK_PROPERTIES
        return deal_properties(self.profile)

    def _object(
        self,
        report: PullReport,
        object_type: str,
        table: Table,
        full: bool,
        *,
        company_ids: Sequence[str] | None = None,
    ) -> list[str] | None:
        before = self.client.requests_sent
        cursor = None if full else self.mirror.cursor(object_type)
        if cursor is None:
            ids, upserted, deleted = self._full(object_type, table, company_ids)
        else:
            ids, upserted, deleted = None, *self._incremental(report, object_type, table, cursor)
        report.objects.append(
            ObjectPull(
                object_type, cursor is None, upserted, deleted, self.client.requests_sent - before
            )
        )
        return ids

    def _full(
        self, object_type: str, table: Table, company_ids: Sequence[str] | None
    ) -> tuple[list[str], int, int]:
        """List everything into the mirror; the ids listed (companies only: deals,
        contacts and tasks are counted, their ids not kept)."""
        newest = self._newest.pop(object_type, None) or self.client.search(
            object_type, newest_body()
        )
        if (exported := self._exported.pop(object_type, None)) is not None:
            stored = pull_exports.store(self, object_type, table, exported, newest)
            return stored, len(stored), 0
        results = newest.get("results") or []
        stamp = record_stamp(results[0]) if results else 0
        links: dict[str, str] | None = None
        if table != "accounts":
            total = newest.get("total")
            records = int(total) if isinstance(total, int) else None
            if company_ids is not None and (records is None or len(company_ids) <= records):
                # From the companies' side, before the records are listed: each page
                # can then be converted as soon as it arrives.
                links = company_links(
                    self.client, "companies", object_type, company_ids, self.section.batch_size
                )
        else:
            links = {}
        if links is None:
            # From the records' side: every id first. Fewer records than companies, so
            # holding them grows with the companies, not past them.
            raw: list[Mapping[str, Any]] = []
            for page in self.client.list_all(object_type, self._properties(object_type)):
                raw.extend(page)
            ids = [str(r["id"]) for r in raw]
            links = company_links(
                self.client, object_type, "companies", ids, self.section.batch_size
            )
            rows = self._rows(table, raw, links)[0]
            self.mirror.store(object_type, table, rows, cursor=Cursor(str(stamp)), replace=True)
            return ids, len(ids), 0
        listed = _Listed(keep_ids=table == "accounts")
        # Each page is converted and written as it arrives, inside the table's one
        # transaction: the pull holds a page of rows, not the table, and a list cut half
        # way rolls back, leaving the previous mirror whole.
        pages = listed.pages(self.client.list_all(object_type, self._properties(object_type)))
        rows_of = (row for page in pages for row in self._rows(table, page, links)[0])
        self.mirror.store(object_type, table, rows_of, cursor=Cursor(str(stamp)), replace=True)
        return listed.ids, listed.count, 0

    def _incremental(
        self, report: PullReport, object_type: str, table: Table, cursor: Cursor
    ) -> tuple[int, int]:
        since = int(cursor.stamp) - self.section.search_overlap_seconds * 1000
        search = ChangedSince(
            lambda body: self.client.search(object_type, body), self._properties(object_type), since
        )
        report.search[object_type] = search.stats
        latest = int(cursor.stamp)
        pending: dict[str, Mapping[str, Any]] = {}
        upserted = 0

        def save() -> None:
            nonlocal upserted
            links = {}
            if table != "accounts" and pending:
                links = company_links(
                    self.client, object_type, "companies", list(pending), self.section.batch_size
                )
            rows, gone = self._rows(table, pending.values(), links)
            self.mirror.store(
                object_type,
                table,
                rows,
                deleted=gone,
                cursor=Cursor(str(latest)),
                replace=False,
            )
            upserted += len(rows)
            pending.clear()

        for record in search:
            record_id, stamp = str(record["id"]), record_stamp(record)
            held = pending.get(record_id)
            # Read twice (a restart from the watermark, the overlap): keep the newest.
            if held is None or record_stamp(held) <= stamp:
                pending[record_id] = record
            latest = max(latest, stamp)
            if len(pending) >= CHUNK:
                save()
        save()
        archived = [
            str(r["id"])
            for page in self.client.list_all(object_type, ["hs_object_id"], archived=True)
            for r in page
        ]
        self.mirror.store(object_type, table, [], deleted=archived, cursor=None, replace=False)
        return upserted, len(archived)

    # -- owners ----------------------------------------------------------------

    def owners(self, report: PullReport) -> None:
        """Both owner lists, the users object when metrics go there or the profile maps
        owner properties (`owner_properties`: owners hold none), into the mirror."""
        before = self.client.requests_sent
        owners = [*self.client.owners(archived=False), *self.client.owners(archived=True)]
        titles: dict[str, str] = {}
        fields: dict[str, dict[str, FieldValue]] = {}
        extras: dict[str, dict[str, FieldValue]] = {}
        to_users = self.profile.metrics.write and self.profile.metrics_destination == "users"
        if to_users or self.section.owner_properties:
            titles, held, extras = self._users(owners, metrics=to_users)
            fields = held if to_users else fields
        if self.profile.metrics.write and not to_users:
            fields = self._carried(self.mirror.read_book(), [str(o["id"]) for o in owners])
        rows = [
            owner_row(
                o,
                titles.get(str(o["id"]), ""),
                fields.get(str(o["id"]), {}),
                extras.get(str(o["id"]), {}),
            )
            for o in owners
        ]
        self.mirror.store("owners", "owners", rows, cursor=None, replace=True)
        report.objects.append(
            ObjectPull("owners", True, len(rows), 0, self.client.requests_sent - before)
        )

    def _users(
        self, owners: Sequence[Mapping[str, Any]], *, metrics: bool
    ) -> tuple[dict[str, str], dict[str, dict[str, FieldValue]], dict[str, dict[str, FieldValue]]]:
        """Each owner's users record (by `hs_internal_user_id` = the owner's user id): job
        title, the metric values it holds (with `metrics`) and its owner properties."""
        mapped = self.section.owner_properties
        names = metric_properties(self.profile) if metrics else ()
        wanted = list(dict.fromkeys((USER_ID, JOB_TITLE, *names, *mapped.values())))
        by_user: dict[str, Mapping[str, Any]] = {}
        for page in self.client.list_all("users", wanted):
            for record in page:
                user = (record.get("properties") or {}).get(USER_ID)
                if user not in (None, ""):
                    by_user[str(user)] = record
        titles: dict[str, str] = {}
        fields: dict[str, dict[str, FieldValue]] = {}
        extras: dict[str, dict[str, FieldValue]] = {}
        self.links.user_records.clear()
        for owner in owners:
            user = owner.get("userIdIncludingInactive") or owner.get("userId")
            found = by_user.get(str(user)) if user else None
            if found is None:
                continue
            owner_id = str(owner["id"])
            properties = found.get("properties") or {}
            self.links.user_records[owner_id] = str(found["id"])
            titles[owner_id] = str(properties.get(JOB_TITLE) or "")
            if metrics:
                fields[owner_id] = metric_values(self.profile, properties)
            # As HubSpot sends them: text, a multiple-checkboxes value as "EMEA;APAC".
            extras[owner_id] = {name: properties.get(prop) for name, prop in mapped.items()}
        return titles, fields, extras

    def _carried(self, book: Book, owner_ids: Sequence[str]) -> dict[str, dict[str, FieldValue]]:
        """Metrics destination companies: an owner "holds" a value when every company it
        owns carries it (so a company moved to it by hand makes the plan write again); an
        owner with no company keeps what roleSync last recorded for it."""
        held: dict[str, dict[str, set[Any]]] = {}
        for account in book.accounts.values():
            if account.owner_id is None:
                continue
            per = held.setdefault(account.owner_id, {})
            for dest in self.profile.metrics.fields.values():
                per.setdefault(dest, set()).add(account.fields.get(METRIC_PREFIX + dest))
        result: dict[str, dict[str, FieldValue]] = {}
        for owner_id in owner_ids:
            if owner_id in held:
                result[owner_id] = {
                    d: next(iter(v)) for d, v in held[owner_id].items() if len(v) == 1
                }
            elif owner_id in book.owners:
                result[owner_id] = dict(book.owners[owner_id].recorded)
        return result
