"""The state store's part for the rule files runs used, and for browsing the audit log.

Rules are archived once per digest, in the transaction that records the run (see
`StateStore.begin_run`): a run whose row exists has its rules archived, and a thousand
runs under the same rules keep one copy. The texts are data, stored as JSON; reading
them back (rules.archive) goes through the safe loader, never anything that runs them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from roleSync.sync.store_db import Tx
from roleSync.sync.store_related import _COLUMNS as _RELATED_COLUMNS
from roleSync.sync.store_related import RelatedRow

RuleFiles = Sequence[tuple[str, str]]


def archive_rules(conn: Tx, digest: str, files: RuleFiles, at: str) -> None:
    """Within the caller's transaction; the first copy of a digest is kept."""
    if not digest or not files:
        return
    text = json.dumps([{"name": name, "text": body} for name, body in files])
    conn.execute(
        "INSERT INTO rules_archive (digest, files, stored_at) VALUES (?, ?, ?) "
        "ON CONFLICT (digest) DO NOTHING",
        (digest, text, at),
    )


class ArchiveAndHistory:
    """Mixed into StateStore, which supplies `_write` and `_read`."""

    def _write(self) -> AbstractContextManager[Tx]:
        raise NotImplementedError

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        raise NotImplementedError

    def archived_rules(self, digest: str) -> list[tuple[str, str]] | None:
        """(name, text) of the rule files archived under `digest`; None if none are."""
        rows = self._read("SELECT files FROM rules_archive WHERE digest = ?", (digest,))
        if not rows:
            return None
        try:
            data = json.loads(rows[0][0])
            return [(str(f["name"]), str(f["text"])) for f in data]
        except (ValueError, TypeError, KeyError):
            return None  # damaged by hand: explained as a run without an archive

    def related_of(self, run_ids: Sequence[str]) -> list[RelatedRow]:
        """Carried records and handoff tasks of these runs, oldest first."""
        found: list[RelatedRow] = []
        # In slices: SQLite limits how many parameters one statement takes.
        for start in range(0, len(run_ids), 500):
            part = run_ids[start : start + 500]
            marks = ", ".join("?" * len(part))
            rows = self._read(
                f"SELECT {_RELATED_COLUMNS} FROM related_audit WHERE run_id IN ({marks}) "
                "ORDER BY seq",
                part,
            )
            found += [RelatedRow(*row) for row in rows]
        return sorted(found, key=lambda r: r.seq)
