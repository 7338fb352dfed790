"""Record-to-company links staged in SQL instead of Python dicts (full pulls).

A full pull learns which company each deal belongs to from association reads: one
candidate (record, company, primary or not) at a time, a deal possibly several times.
Held in a dict, the best candidate per deal cost about 170 B a deal (4M deals: some
0.7 GiB). Here the candidates go into a TEMP table of the mirror's own connection (in
SQLite's temp file, never in the mirror, gone when the connection closes) and are
resolved by one UPDATE inside the table's transaction, after its rows are written: the
pull holds one association answer at a time, whatever the number of deals.

The choice is the one `links.company_links` makes in Python: a primary association
first, else the lowest company id, ids compared as text (SQLite's BINARY collation
orders ASCII digits as Python's str does), so both ways build the same Book.

`pending` holds record ids still to be asked about (deals an export file links to
several companies: the file does not say which is primary).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator

_SCHEMA = (
    """CREATE TEMP TABLE IF NOT EXISTS link_candidates (
        record TEXT NOT NULL,
        company TEXT NOT NULL,
        secondary INTEGER NOT NULL          -- 0: a primary association, 1: any other
    )""",
    """CREATE INDEX IF NOT EXISTS temp.link_candidates_best
        ON link_candidates (record, secondary, company)""",
    "CREATE TEMP TABLE IF NOT EXISTS link_pending (record TEXT PRIMARY KEY) WITHOUT ROWID",
)
PAGE = 1000
# The best staged company of the row `t` being updated.
_BEST = (
    "SELECT company FROM temp.link_candidates c WHERE c.record = t.id "
    "ORDER BY c.secondary, c.company LIMIT 1"
)


class LinkStage:
    """The staged links of one table's full pull; `resolve` writes them."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        for statement in _SCHEMA:
            conn.execute(statement)
        self.clear()

    def clear(self) -> None:
        self._conn.execute("DELETE FROM temp.link_candidates")
        self._conn.execute("DELETE FROM temp.link_pending")

    def add(self, candidates: Iterable[tuple[str, str, bool]]) -> None:
        """(record id, company id, primary) for each association read."""
        self._conn.executemany(
            "INSERT INTO temp.link_candidates (record, company, secondary) VALUES (?, ?, ?)",
            ((record, company, int(not primary)) for record, company, primary in candidates),
        )

    def hold(self, record: str) -> None:
        """A record whose company must still be read (see `pending`)."""
        self._conn.execute("INSERT OR IGNORE INTO temp.link_pending (record) VALUES (?)", (record,))

    def pending(self) -> Iterator[str]:
        """The held records, in id order, a page at a time."""
        last = ""
        while True:
            page = self._conn.execute(
                "SELECT record FROM temp.link_pending WHERE record > ? ORDER BY record LIMIT ?",
                (last, PAGE),
            ).fetchall()
            yield from (str(row[0]) for row in page)
            if len(page) < PAGE:
                return
            last = str(page[-1][0])

    def resolve(self, conn: sqlite3.Connection, table: str) -> None:
        """Set `account_id` of every row of `table` with a staged candidate to its best
        one; rows without keep what they were written with. `table` is a constant of
        the caller (deals), never user input."""
        # EXISTS, not `id IN (SELECT record ...)`: that builds an ephemeral table of
        # every staged record (in memory first), EXISTS walks the index.
        conn.execute(
            f"UPDATE {table} AS t SET account_id = ({_BEST}) "
            "WHERE EXISTS (SELECT 1 FROM temp.link_candidates c WHERE c.record = t.id)"
        )
        self.clear()
