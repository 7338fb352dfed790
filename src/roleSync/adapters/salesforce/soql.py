"""SOQL the adapter sends, the fields of its compare-and-set reads, and the cursor
arithmetic of incremental pulls: pure functions.

Values go into SOQL only through simple_salesforce's `format_soql`, which quotes and
escapes them. Field names cannot be quoted in SOQL; the ones used here are constants
or profile values checked against the API-name pattern when the profile loaded, and
enter through format_soql's `:literal` spec so every query has one way in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from simple_salesforce.format import format_soql

from roleSync.adapters.mirror import Cursor
from roleSync.profile import Profile

STAMP_FIELD = "SystemModstamp"


@dataclass(frozen=True, slots=True)
class ObjectQuery:
    """What one pull of one sObject selects."""

    sobject: str
    fields: tuple[str, ...]
    # Deletions can be pulled (queryAll + IsDeleted). User has no IsDeleted: users are
    # deactivated, never deleted.
    deletable: bool
    # A constant condition a full pull selects by (open tasks only, say). Incremental
    # pulls ask for every change instead, so a record that stopped matching (a task
    # completed since) is seen and removed from the mirror.
    full_filter: str | None = None


def _unique(names: Iterable[str | None]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for name in names:
        if name and name.lower() not in seen:
            seen[name.lower()] = name
    return tuple(seen.values())


def object_queries(profile: Profile) -> tuple[ObjectQuery, ObjectQuery, ObjectQuery]:
    """User, Account and Opportunity, selecting what the profile maps."""
    section = profile.salesforce
    assert section is not None
    metric_fields = profile.metrics.fields.values() if profile.metrics.write else ()
    users = ObjectQuery(
        "User",
        _unique(
            (
                "Id",
                "Name",
                "Email",
                "Title",
                "IsActive",
                STAMP_FIELD,
                *metric_fields,
                *section.owner_fields.values(),
            )
        ),
        deletable=False,
    )
    mapped = section.fields
    accounts = ObjectQuery(
        "Account",
        _unique(
            (
                "Id",
                "Name",
                "OwnerId",
                mapped.lifecycle,
                mapped.segment,
                mapped.region,
                mapped.tier,
                mapped.lock,
                *mapped.extra.values(),
                "CreatedDate",
                "LastModifiedDate",
                STAMP_FIELD,
                "IsDeleted",
            )
        ),
        deletable=True,
    )
    deals = ObjectQuery(
        "Opportunity",
        _unique(
            (
                "Id",
                "AccountId",
                "OwnerId",
                section.opportunity_type_field,
                "StageName",
                "IsClosed",
                "IsWon",
                "Amount",
                "CreatedDate",
                "CloseDate",
                STAMP_FIELD,
                "IsDeleted",
            )
        ),
        deletable=True,
    )
    return users, accounts, deals


# Account Ids start with this key prefix in every org: a Task's WhatId names an account
# when it has it (WhatId is polymorphic: an opportunity, a case, ...).
ACCOUNT_KEY_PREFIX = "001"


def related_queries(profile: Profile) -> tuple[ObjectQuery, ...]:
    """Contact and Task, as far as the profile's `pull` switches them on.

    Full pulls select contacts with an account and open tasks with an account; the pull
    keeps, of incremental answers, only those (see `pull.py`), so both read the same set.
    """
    section = profile.salesforce
    assert section is not None
    queries: list[ObjectQuery] = []
    if section.pull.contacts:
        queries.append(
            ObjectQuery(
                "Contact",
                ("Id", "AccountId", "OwnerId", "Name", "Email", STAMP_FIELD, "IsDeleted"),
                deletable=True,
                full_filter="AccountId != null",
            )
        )
    if section.pull.tasks:
        queries.append(
            ObjectQuery(
                "Task",
                (
                    "Id",
                    "WhatId",
                    "AccountId",
                    "OwnerId",
                    "Subject",
                    "Status",
                    "IsClosed",
                    "ActivityDate",
                    STAMP_FIELD,
                    "IsDeleted",
                ),
                deletable=True,
                full_filter="IsClosed = false AND AccountId != null",
            )
        )
    return tuple(queries)


def pull_soql(query: ObjectQuery, since: datetime | None) -> str:
    """A full pull (`since` None) or the changes since a stamp, oldest first.

    `>=` and not `>`: records sharing the cursor's stamp may not all have been seen
    (a page can end inside a tie); the ones that were are dropped by `unseen`.
    """
    select = ", ".join(query.fields)
    if since is None and query.full_filter is not None:
        return format_soql(
            "SELECT {:literal} FROM {:literal} WHERE {:literal} ORDER BY {:literal}, Id",
            select,
            query.sobject,
            query.full_filter,
            STAMP_FIELD,
        )
    if since is None:
        return format_soql(
            "SELECT {:literal} FROM {:literal} ORDER BY {:literal}, Id",
            select,
            query.sobject,
            STAMP_FIELD,
        )
    return format_soql(
        "SELECT {:literal} FROM {:literal} WHERE {:literal} >= {} ORDER BY {:literal}, Id",
        select,
        query.sobject,
        STAMP_FIELD,
        since,
        STAMP_FIELD,
    )


def check_fields(names: Iterable[str | None]) -> tuple[str, ...]:
    """The fields of a compare-and-set read (sObject Collections retrieve, not SOQL:
    ids go in a JSON body, 2,000 a request, instead of an `Id IN (...)` list bounded
    by the URL): `Id` first, then `names` without blanks or repeats."""
    return _unique(("Id", *names))


# -- cursors -----------------------------------------------------------------------

_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")


def parse_stamp(text: str) -> datetime:
    """Salesforce's `2026-01-02T03:04:05.000+0000` (or any ISO form) as an aware UTC value."""
    match = _STAMP.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not a Salesforce dateTime: {text!r}")
    base, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else zone
    if ":" not in zone:
        zone = zone[:3] + ":" + zone[3:]
    micro = (fraction or ".0")[1:7].ljust(6, "0")
    return datetime.fromisoformat(f"{base}.{micro}{zone}").astimezone(UTC)


def _stamp_of(record: Mapping[str, Any]) -> datetime:
    return parse_stamp(str(record[STAMP_FIELD]))


def unseen(cursor: Cursor | None, record: Mapping[str, Any]) -> bool:
    """False for a record the cursor says was already pulled at exactly its stamp."""
    if cursor is None or record["Id"] not in cursor.ids:
        return True
    return _stamp_of(record) != parse_stamp(cursor.stamp)


class Advancing:
    """A cursor advanced record by record: the latest stamp and the ids at exactly that
    stamp, including those the old cursor had seen at it. It holds only those ids, not
    every record seen, so a full pull's memory does not grow with its records."""

    def __init__(self, cursor: Cursor | None) -> None:
        self._latest = parse_stamp(cursor.stamp) if cursor else None
        self._stamp = cursor.stamp if cursor else None
        self._ids: set[str] = set(cursor.ids) if cursor else set()

    def see(self, record: Mapping[str, Any]) -> None:
        when = _stamp_of(record)
        if self._latest is None or when > self._latest:
            self._latest, self._stamp = when, str(record[STAMP_FIELD])
            self._ids = {str(record["Id"])}
        elif when == self._latest:
            self._ids.add(str(record["Id"]))

    def cursor(self) -> Cursor | None:
        return Cursor(self._stamp, frozenset(self._ids)) if self._stamp is not None else None


def advance(cursor: Cursor | None, records: Iterable[Mapping[str, Any]]) -> Cursor | None:
    """The cursor after `records`: see `Advancing`."""
    advancing = Advancing(cursor)
    for record in records:
        advancing.see(record)
    return advancing.cursor()
