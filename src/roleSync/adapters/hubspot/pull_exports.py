"""The export side of a full pull: which objects go through exports, and storing them.

Both exports (companies, then deals) are started, polled and downloaded to files before
either table is stored, so a task that fails or expires, or a download cut short,
leaves the mirror exactly as the previous run left it (and the full-pull stamp unset:
the next run is a full pull again). The files are then read a row at a time straight
into the mirror, companies and deals in one transaction (Puller.run): a row that does
not parse rolls both back. The files live in a private temporary folder beside the
mirror (mode 0700, each file 0600), on the mirror's disk rather than in a RAM-backed
/tmp, removed when the pull ends, however it ends.

Requests: per object, the newest-record search the list path also sends, one start,
one status call per poll (`polls` of them), one download, and the v4 associations of
the deals a file links to several companies (the file does not say which is primary);
those deals are held in a TEMP table, not in Python, and resolved in SQL.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roleSync.adapters.hubspot import exports
from roleSync.adapters.hubspot.links import stage_links
from roleSync.adapters.hubspot.records import account_row, deal_row
from roleSync.adapters.hubspot.search import newest_body, record_stamp
from roleSync.adapters.mirror import Cursor, LinkStage, Row, Table

if TYPE_CHECKING:
    from roleSync.adapters.hubspot.pull import Puller


def prefetch(
    puller: Puller, files: ExitStack, newest: dict[str, dict[str, Any]]
) -> dict[str, exports.Downloaded]:
    """The export files of the objects over `export_threshold` records (their
    newest-record search answers kept in `newest`, for the cursor); {} when exports are
    off. The files' folder is removed when `files` closes."""
    client, threshold = puller.client, puller.section.export_threshold
    found: dict[str, exports.Downloaded] = {}
    if threshold == 0:
        return found
    folder: Path | None = None
    for object_type in exports.OBJECT_TYPES:
        answer = client.search(object_type, newest_body())
        newest[object_type] = answer
        total = answer.get("total")
        if not isinstance(total, int) or total <= threshold:
            continue
        if folder is None:
            folder = Path(
                files.enter_context(
                    tempfile.TemporaryDirectory(prefix=".export-", dir=puller.mirror.path.parent)
                )
            )
        try:
            found[object_type] = exports.export(
                client, object_type, puller._properties(object_type), folder
            )
        except exports.ExportRefusedError as exc:
            exports.log_fallback(object_type, str(exc))
    return found


def store(
    puller: Puller, table: Table, downloaded: exports.Downloaded, newest: dict[str, Any]
) -> int:
    """Store one export file's records as the list path does (same conversion), a row
    at a time; how many."""
    results = newest.get("results") or []
    cursor = Cursor(str(record_stamp(results[0]) if results else 0))
    stage = puller.mirror.links() if table == "deals" else None
    count = 0

    def rows() -> Iterator[Row]:
        nonlocal count
        for record, companies in exports.records(downloaded):
            count += 1
            if stage is None:
                yield account_row(puller.profile, record)
                continue
            if companies is not None and len(companies) > 1:
                stage.hold(str(record["id"]))  # which one is primary: v4, after the rows
            one = companies[0] if companies is not None and len(companies) == 1 else None
            yield deal_row(puller.profile, record, one)
        if count == 0:
            # Search counted more than the threshold: an empty file would empty the table.
            raise exports.ExportFailedError(f"{downloaded.label}: the file holds no records")

    link = None if stage is None else _several(puller, stage)
    name = downloaded.object_type
    puller.mirror.store(name, table, rows(), cursor=cursor, replace=True, after_rows=link)
    return count


def _several(puller: Puller, stage: LinkStage) -> Callable[[sqlite3.Connection], None]:
    """The companies of the deals the file links to several, through v4 (primary first,
    else the lowest id, as the list path), resolved in the deals' transaction."""

    def link(conn: sqlite3.Connection) -> None:
        held = stage.pending()
        batch = puller.section.batch_size
        stage_links(puller.client, "deals", "companies", held, batch, stage.add)
        stage.resolve(conn, "deals")

    return link
