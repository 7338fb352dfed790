"""Pull owners, companies and deals into the mirror: full, or incremental from cursors.

Full (the first time, when the profile's selection or portal changed, and at least every
`full_pull_every_days`): owners (active and archived), every company and deal through
the v3 list endpoints (100 a page), and company-deal associations through the v4 batch
endpoint (100 ids a request, from whichever side has fewer records). The tables are
replaced, which also drops records deleted for good. Every page is written as it
arrives, inside the table's one transaction; the deals' companies are read after the
deals (ids read back from the mirror) and staged in a TEMP table, resolved in SQL in the
same transaction (mirror_links.py): memory does not grow with the deals. The cursor is the newest
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

Owners: pull_owners.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from roleSync.adapters.hubspot import pull_exports
from roleSync.adapters.hubspot.client import HubSpotClient
from roleSync.adapters.hubspot.exports import Downloaded
from roleSync.adapters.hubspot.links import company_links, stage_links
from roleSync.adapters.hubspot.pull_owners import pull_owners
from roleSync.adapters.hubspot.records import (
    CONTACT_PROPERTIES,
    TASK_PROPERTIES,
    account_row,
    company_properties,
    contact_row,
    deal_properties,
    deal_row,
    task_row,
)
from roleSync.adapters.hubspot.search import ChangedSince, SearchStats, newest_body, record_stamp
from roleSync.adapters.mirror import Cursor, Mirror, Row, Table
from roleSync.profile import Profile

FULL_PULL_AT = "hubspot_full_pull_at"
# Incremental results are saved every this many records (with the cursor advanced).
CHUNK = 2000
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


class _Counted:
    """Pages on their way into the mirror, counted."""

    def __init__(self) -> None:
        self.count = 0

    def pages(self, pages: Iterable[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        for page in pages:
            self.count += len(page)
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
        self._exported: dict[str, Downloaded] = {}

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
        with ExitStack() as files:
            # Large portals: companies and deals exported and downloaded (to files, in a
            # temporary folder removed on the way out) before anything is stored.
            self._exported = pull_exports.prefetch(self, files, self._newest) if full else {}
            try:
                # From files: both tables in one transaction, so a file that does not
                # parse leaves the mirror as the previous run left it.
                with self.mirror.together() if self._exported else nullcontext():
                    companies_full = self._object(report, "companies", "accounts", full)
                    self._object(report, "deals", "deals", full, companies_full=companies_full)
                switched = self.section.pull
                for object_type, table in RELATED.items():
                    if getattr(switched, object_type):
                        self._object(
                            report, object_type, table, full, companies_full=companies_full
                        )
                    else:
                        self.mirror.drop(object_type, table)
            finally:
                # Whatever was pulled is stored, also when the run stops half way.
                self.client.drain()
                self._exported = {}
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
        companies_full: bool = False,
    ) -> bool:
        """Pull one object; whether it was a full pull."""
        before = self.client.requests_sent
        cursor = None if full else self.mirror.cursor(object_type)
        if cursor is None:
            upserted, deleted = self._full(object_type, table, companies_full)
        else:
            upserted, deleted = self._incremental(report, object_type, table, cursor)
        report.objects.append(
            ObjectPull(
                object_type, cursor is None, upserted, deleted, self.client.requests_sent - before
            )
        )
        return cursor is None

    def _full(self, object_type: str, table: Table, companies_full: bool) -> tuple[int, int]:
        """List (or read from its export file) everything into the mirror; how many."""
        newest = self._newest.pop(object_type, None) or self.client.search(
            object_type, newest_body()
        )
        if (exported := self._exported.pop(object_type, None)) is not None:
            return pull_exports.store(self, table, exported, newest), 0
        results = newest.get("results") or []
        cursor = Cursor(str(record_stamp(results[0]) if results else 0))
        total = newest.get("total")
        records = int(total) if isinstance(total, int) else None
        # Associations from the companies' side when there are no more companies than
        # records (the companies pulled in full: the mirror holds them all).
        from_companies = companies_full and (
            records is None or self.mirror.count("accounts") <= records
        )
        listed = _Counted()
        # Each page is converted and written as it arrives, inside the table's one
        # transaction: the pull holds a page of rows, not the table, and a list cut half
        # way rolls back, leaving the previous mirror whole.
        pages = listed.pages(self.client.list_all(object_type, self._properties(object_type)))
        if table == "accounts":
            rows: Iterator[Row] = (account_row(self.profile, r) for p in pages for r in p)
            self.mirror.store(object_type, table, rows, cursor=cursor, replace=True)
        elif table == "deals":
            rows = (deal_row(self.profile, r, None) for p in pages for r in p)
            link = self._link_deals(from_companies)
            self.mirror.store(
                object_type, table, rows, cursor=cursor, replace=True, after_rows=link
            )
        else:
            self._full_related(object_type, table, pages, cursor, from_companies)
        return listed.count, 0

    def _link_deals(self, from_companies: bool) -> Callable[[sqlite3.Connection], None]:
        """In the deals' transaction, once they are written: their companies, read from
        whichever side has fewer records, staged and resolved in SQL."""

        def link(conn: sqlite3.Connection) -> None:
            stage = self.mirror.links()
            if from_companies:
                sides, ids = ("companies", "deals"), self.mirror.ids("accounts")
            else:
                sides, ids = ("deals", "companies"), self.mirror.ids("deals")
            stage_links(self.client, *sides, ids, self.section.batch_size, stage.add)
            stage.resolve(conn, "deals")

        return link

    def _full_related(
        self,
        object_type: str,
        table: Table,
        pages: Iterable[list[dict[str, Any]]],
        cursor: Cursor,
        from_companies: bool,
    ) -> None:
        """Contacts and tasks: those without a company are not kept, so their companies
        are known before they are written."""
        batch = self.section.batch_size
        if from_companies:
            # From the companies' side, before the records are listed: each page can
            # then be converted as soon as it arrives.
            links = company_links(
                self.client, "companies", object_type, self.mirror.ids("accounts"), batch
            )
            rows_of = (row for page in pages for row in self._rows(table, page, links)[0])
            self.mirror.store(object_type, table, rows_of, cursor=cursor, replace=True)
            return
        # From the records' side: every record first. Fewer records than companies, so
        # holding them grows with the companies, not past them.
        raw = [record for page in pages for record in page]
        links = company_links(
            self.client, object_type, "companies", [str(r["id"]) for r in raw], batch
        )
        rows = self._rows(table, raw, links)[0]
        self.mirror.store(object_type, table, rows, cursor=cursor, replace=True)

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
        """Both owner lists (and the users object when needed) into the mirror."""
        before = self.client.requests_sent
        stored = pull_owners(self)
        report.objects.append(
            ObjectPull("owners", True, stored, 0, self.client.requests_sent - before)
        )
