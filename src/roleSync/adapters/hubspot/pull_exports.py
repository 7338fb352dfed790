"""The export side of a full pull: which objects go through exports, and storing them.

Both exports (companies, then deals) are read whole before either table is stored, so
an export that fails leaves the mirror exactly as the previous run left it (and the
full-pull stamp unset: the next run is a full pull again). Requests: per object, the
newest-record search the list path also sends, one start, one status call per poll
(`polls` of them), and the v4 associations of deals with several companies only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from roleSync.adapters.hubspot import exports
from roleSync.adapters.hubspot.client import HubSpotClient
from roleSync.adapters.hubspot.links import company_links as read_company_links
from roleSync.adapters.hubspot.search import newest_body, record_stamp
from roleSync.adapters.mirror import Cursor, Table
from roleSync.profile import HubSpotSection

if TYPE_CHECKING:
    from roleSync.adapters.hubspot.pull import Puller


def prefetch(
    client: HubSpotClient,
    section: HubSpotSection,
    properties: Callable[[str], Sequence[str]],
    newest: dict[str, dict[str, Any]],
) -> dict[str, exports.Exported]:
    """The exports of the objects over `export_threshold` records (their newest-record
    search answers kept in `newest`, for the cursor); {} when exports are off."""
    threshold = section.export_threshold
    found: dict[str, exports.Exported] = {}
    if threshold == 0:
        return found
    for object_type in exports.OBJECT_TYPES:
        answer = client.search(object_type, newest_body())
        newest[object_type] = answer
        total = answer.get("total")
        if not isinstance(total, int) or total <= threshold:
            continue
        try:
            exported = exports.export(client, object_type, properties(object_type))
        except exports.ExportRefusedError as exc:
            exports.log_fallback(object_type, str(exc))
            continue
        if not exported.records:
            # Search counted more than the threshold: an empty file would empty the table.
            raise exports.ExportFailedError(
                f"{object_type} export task {exported.task}: the file holds no records"
            )
        found[object_type] = exported
    return found


def store(
    puller: Puller,
    object_type: str,
    table: Table,
    exported: exports.Exported,
    newest: dict[str, Any],
) -> list[str]:
    """Store one export's records as the list path does (same conversion); their ids."""
    results = newest.get("results") or []
    stamp = record_stamp(results[0]) if results else 0
    links: dict[str, str] = {}
    if table == "deals":
        links, several = exports.company_links(exported)
        if several:
            links.update(
                read_company_links(
                    puller.client, "deals", "companies", several, puller.section.batch_size
                )
            )
    rows = puller._rows(table, exported.records, links)[0]
    puller.mirror.store(object_type, table, rows, cursor=Cursor(str(stamp)), replace=True)
    return [str(r["id"]) for r in exported.records]
