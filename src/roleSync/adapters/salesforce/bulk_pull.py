"""A full pull's records: REST query pages, or a Bulk API 2.0 query job for a big object.

The first REST page is read either way: its `totalSize` says how many records the
pull selects, so deciding costs no request of its own. At
`salesforce.bulk_query_threshold` records or more (0: never) the REST cursor is left
(Salesforce expires it) and a query job reads the object instead. Objects that can be
deleted are read with `queryAll`, as incremental pulls read them, so a deleted record
is seen (and left out of the mirror) either way; User has no IsDeleted: `query`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from simple_salesforce.format import format_soql

from roleSync.adapters.salesforce.client import SalesforceClient
from roleSync.adapters.salesforce.soql import ObjectQuery, pull_soql
from roleSync.profile import Profile


def bulk_soql(query: ObjectQuery) -> str:
    """A full pull's SOQL without ORDER BY, which Bulk API 2.0 query does not take."""
    select = ", ".join(query.fields)
    if query.full_filter is not None:
        return format_soql(
            "SELECT {:literal} FROM {:literal} WHERE {:literal}",
            select,
            query.sobject,
            query.full_filter,
        )
    return format_soql("SELECT {:literal} FROM {:literal}", select, query.sobject)


def full_records(
    client: SalesforceClient, query: ObjectQuery, profile: Profile
) -> Iterator[dict[str, Any]]:
    """Every record a full pull of `query` reads, by REST or by a query job."""
    section = profile.salesforce
    assert section is not None
    total, records = client.query_sized(pull_soql(query, None))
    threshold = section.bulk_query_threshold
    if threshold <= 0 or total < threshold:
        return records
    return client.bulk_records(
        query.sobject,
        bulk_soql(query),
        query.fields,
        include_deleted=query.deletable,
        page_size=section.bulk_query_page_size,
    )
