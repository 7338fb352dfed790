"""Pull Users, Accounts and Opportunities (and, when the profile's `pull` switches
them on, Contacts and open Tasks) into the mirror: full the first time, incremental
(SystemModstamp cursor, deletions through queryAll) afterwards.

An incremental pull with nothing changed costs one query per object: three requests,
plus one each for contacts and tasks. A full pull costs ceil(N/2000) queries per object
of N records (query pages of 2,000); an object of `bulk_query_threshold` records or
more goes through a Bulk API 2.0 query job instead (bulk_pull.py, bulk_query.py).

Contacts and tasks belong to an account: a full pull selects contacts with an account
and open tasks about an account; an incremental one reads every change and removes
from the mirror what no longer belongs (a task completed, a contact without a company
any more), as it removes what was deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from roleSync.adapters.mirror import (
    NO_ACCOUNT_PREFIX,
    AccountRow,
    ContactRow,
    Cursor,
    DealRow,
    Mirror,
    OwnerRow,
    Row,
    Table,
    TaskRow,
    entry_amount,
)
from roleSync.adapters.salesforce.bulk_pull import full_records
from roleSync.adapters.salesforce.client import SalesforceClient
from roleSync.adapters.salesforce.soql import (
    ACCOUNT_KEY_PREFIX,
    Advancing,
    ObjectQuery,
    object_queries,
    parse_stamp,
    pull_soql,
    related_queries,
    unseen,
)
from roleSync.model import FieldValue
from roleSync.profile import Profile


@dataclass(frozen=True, slots=True)
class ObjectPull:
    sobject: str
    full: bool
    upserted: int
    deleted: int


@dataclass(slots=True)
class PullReport:
    objects: list[ObjectPull] = field(default_factory=list)
    requests: int = 0


class _Fields:
    """A record's fields by case-insensitive name: SOQL ignores case, and Salesforce
    answers with each field's canonical spelling, not necessarily the profile's."""

    def __init__(self, record: Mapping[str, Any]) -> None:
        self._values = {k.lower(): v for k, v in record.items() if k != "attributes"}

    def get(self, name: str | None) -> Any:
        return self._values.get(name.lower()) if name else None

    def text(self, name: str | None) -> str:
        value = self.get(name)
        return "" if value is None else str(value)

    def value(self, name: str) -> FieldValue:
        value = self.get(name)
        return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def _iso(raw: Any) -> str | None:
    return parse_stamp(str(raw)).isoformat() if raw else None


def _owner_row(profile: Profile) -> Callable[[_Fields], Row]:
    assert profile.salesforce is not None
    destinations = list(profile.metrics.fields.values()) if profile.metrics.write else []
    # Extra User fields (territory): a multi-select picklist arrives as "EMEA;APAC".
    extra = dict(profile.salesforce.owner_fields)

    def convert(f: _Fields) -> Row:
        return OwnerRow(
            id=f.text("Id"),
            name=f.text("Name"),
            email=f.text("Email"),
            title=f.text("Title"),
            active=bool(f.get("IsActive")),
            fields={name: f.value(name) for name in destinations},
            extra={name: f.value(api) for name, api in extra.items()},
        )

    return convert


def _account_row(profile: Profile) -> Callable[[_Fields], Row]:
    assert profile.salesforce is not None
    mapped = profile.salesforce.fields

    def convert(f: _Fields) -> Row:
        return AccountRow(
            id=f.text("Id"),
            name=f.text("Name"),
            owner_id=f.get("OwnerId"),
            lifecycle=f.text(mapped.lifecycle),
            segment=f.text(mapped.segment),
            region=f.text(mapped.region),
            tier=f.text(mapped.tier),
            locked=bool(f.get(mapped.lock)),
            fields={name: f.value(api) for name, api in mapped.extra.items()},
            created=_iso(f.get("CreatedDate")),
            updated=_iso(f.get("LastModifiedDate")),
        )

    return convert


def _deal_row(profile: Profile) -> Callable[[_Fields], Row]:
    assert profile.salesforce is not None
    type_field = profile.salesforce.opportunity_type_field

    def convert(f: _Fields) -> Row:
        created = _iso(f.get("CreatedDate"))
        amount = f.get("Amount")
        kind = f.get(type_field)
        return DealRow(
            id=f.text("Id"),
            # A deal without an account stands alone: its own group for deal-kind
            # inference, instead of all account-less deals being one pseudo-account.
            account_id=f.text("AccountId") or NO_ACCOUNT_PREFIX + f.text("Id"),
            owner_id=f.get("OwnerId"),
            kind=str(kind) if kind not in (None, "") else None,
            stage=f.text("StageName"),
            closed=bool(f.get("IsClosed")),
            won=bool(f.get("IsWon")),
            amount=entry_amount(amount),
            created=(created or "")[:10],
            close_date=f.text("CloseDate")[:10] or None,
        )

    return convert


def _contact_row(f: _Fields) -> Row | None:
    """A contact with an account; None for one without (it follows no account)."""
    account = f.text("AccountId")
    if not account:
        return None
    return ContactRow(
        id=f.text("Id"),
        account_id=account,
        owner_id=f.get("OwnerId"),
        name=f.text("Name"),
        email=f.text("Email"),
    )


def _task_row(f: _Fields) -> Row | None:
    """An open task about an account (WhatId an Account); None for any other task: a
    completed one, or one about an opportunity, a case, or nothing."""
    what = f.text("WhatId")
    if f.get("IsClosed") or not what.startswith(ACCOUNT_KEY_PREFIX):
        return None
    return TaskRow(
        id=f.text("Id"),
        account_id=what,
        owner_id=f.get("OwnerId"),
        subject=f.text("Subject"),
        closed=False,
        due=f.text("ActivityDate")[:10] or None,
    )


# Records a converter returns None for do not belong in the mirror: a full pull skips
# them, an incremental one removes them as if deleted.
Convert = Callable[[_Fields], Row | None]
RELATED: dict[str, tuple[Table, Convert]] = {
    "Contact": ("contacts", _contact_row),
    "Task": ("tasks", _task_row),
}


def _specs(profile: Profile) -> list[tuple[ObjectQuery, Table, Convert]]:
    users, accounts, deals = object_queries(profile)
    specs: list[tuple[ObjectQuery, Table, Convert]] = [
        (users, "owners", _owner_row(profile)),
        (accounts, "accounts", _account_row(profile)),
        (deals, "deals", _deal_row(profile)),
    ]
    for query in related_queries(profile):
        table, convert = RELATED[query.sobject]
        specs.append((query, table, convert))
    return specs


def pulled_fields(profile: Profile, sobject: str) -> tuple[str, ...]:
    """The fields a pull selects of `sobject` (without IsDeleted), for a read that
    refreshes the mirror's records; empty when the profile does not pull it."""
    for query, _, _ in _specs(profile):
        if query.sobject == sobject:
            return tuple(f for f in query.fields if f != "IsDeleted")
    return ()


def mirror_rows(
    profile: Profile, sobject: str, records: Iterable[Mapping[str, Any]]
) -> tuple[Table, list[Row], list[str]] | None:
    """Records of `sobject` read outside a pull (with `pulled_fields`) as the mirror
    holds them: (table, rows to upsert, ids to remove: a task completed since, a contact
    without an account now); None when the profile does not pull `sobject`."""
    for query, table, convert in _specs(profile):
        if query.sobject != sobject:
            continue
        rows: list[Row] = []
        gone: list[str] = []
        for record in records:
            fields = _Fields(record)
            row = convert(fields)
            if row is None:
                gone.append(fields.text("Id"))
            else:
                rows.append(row)
        return table, rows, gone
    return None


class _Pulled:
    """One object's records on their way into the mirror: the rows, and on the side the
    ids to remove and the cursor advancing over the records."""

    def __init__(self, convert: Convert, cursor: Cursor | None) -> None:
        self._convert = convert
        self._start = cursor
        self._advancing = Advancing(cursor)
        self.deleted: list[str] = []
        self.upserted = 0

    def rows(self, records: Iterable[Mapping[str, Any]]) -> Iterator[Row]:
        for record in records:
            if self._start is not None and not unseen(self._start, record):
                continue
            # The cursor advances as records pass: a full pull holds no record it stored.
            self._advancing.see(record)
            fields = _Fields(record)
            row = None if fields.get("IsDeleted") else self._convert(fields)
            if row is None:
                self.deleted.append(fields.text("Id"))
            else:
                self.upserted += 1
                yield row

    def cursor(self) -> Cursor | None:
        return self._advancing.cursor()


def pull_into(
    client: SalesforceClient,
    mirror: Mirror,
    profile: Profile,
    *,
    full: bool = False,
    only: Collection[str] | None = None,
) -> PullReport:
    """Pull every object (or `only` these sObjects) into the mirror, one transaction each."""
    report = PullReport()
    before = client.requests_sent
    specs = _specs(profile)
    if only is None:
        pulled = {query.sobject for query, _, _ in specs}
        for sobject, (table, _) in RELATED.items():
            if sobject not in pulled:
                mirror.drop(sobject, table)
    for query, table, convert in specs:
        if only is not None and query.sobject not in only:
            continue
        cursor = None if full else mirror.cursor(query.sobject)
        incremental = cursor is not None
        if cursor is None:
            records = full_records(client, query, profile)
        else:
            soql = pull_soql(query, parse_stamp(cursor.stamp))
            records = client.query(soql, include_deleted=query.deletable)
        pulling = _Pulled(convert, cursor)
        # A full pull streams its records into the mirror's transaction page by page: a
        # pull cut halfway rolls back and the previous mirror stays. An incremental one
        # reads its (few) changes first: its deletions are applied before its upserts.
        rows = pulling.rows(records)
        mirror.store(
            query.sobject,
            table,
            list(rows) if incremental else rows,
            deleted=pulling.deleted,
            cursor=pulling.cursor,
            replace=not incremental,
        )
        report.objects.append(
            ObjectPull(query.sobject, not incremental, pulling.upserted, len(pulling.deleted))
        )
    report.requests = client.requests_sent - before
    return report
