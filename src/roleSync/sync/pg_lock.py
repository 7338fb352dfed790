"""One run per profile at a time across hosts: a PostgreSQL advisory lock.

Why an advisory lock and not a row: it is held by the session of the store's own
connection and the server releases it when that session ends, however its process
ended (kill -9, a node lost, the connection cut), like flock(2) does on one host
(sync/lock.py), without staleness timeouts. The key is derived from the schema and the
profile, so profiles sharing a database do not block each other.

The holder is named from pg_locks and pg_stat_activity: the pid and host are in the
holder's application_name (pg_store.application_name), set when it takes the lock.
"""

from __future__ import annotations

import re
import socket
import time
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from roleSync.errors import LockHeldError
from roleSync.sync.pg_store import PgDb, _key, application_name, failure

# Polls (20 ms apart) for a holder whose lock shows up in pg_locks a moment late.
HOLDER_WAITS = 25
_HOLDER = re.compile(r"^rolesync (\d+) (?:(\d{8}T\d{6}Z) )?(.*)$")

_HOLDER_SQL = (
    "SELECT a.application_name, a.backend_start, host(a.client_addr) FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.classid = %s AND l.objid = %s "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def lock_key(schema: str, profile: str) -> int:
    return _key(f"run lock:{schema}:{profile}")


class PgRunLock:
    def __init__(self, db: PgDb, profile: str) -> None:
        self.db = db
        self.profile = profile
        self.key = lock_key(db.target.schema, profile)
        self.held = False

    def acquire(self, started: datetime) -> None:
        """Take the lock now or raise LockHeldError (exit 4) naming the holder."""
        import psycopg

        try:
            row = self.db.conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
            if row is not None and row[0]:
                self.held = True
                # The run's start, for the message of a run that finds the lock taken.
                self.db.conn.execute(
                    "SELECT set_config('application_name', %s, false)",
                    (application_name(started),),
                )
                return
            holder = self._holder()
            for _ in range(HOLDER_WAITS):
                if holder is not None:
                    break
                time.sleep(0.02)
                holder = self._holder()
        except psycopg.Error as exc:
            doing = "cannot take the run lock"
            raise failure(self.db.target, doing, exc, lost=self.db.lost) from None
        message, details = self._held_message(holder)
        raise LockHeldError(message, holder=details)

    def _holder(self) -> tuple[Any, ...] | None:
        unsigned = self.key & 0xFFFF_FFFF_FFFF_FFFF
        found = self.db.conn.execute(_HOLDER_SQL, (unsigned >> 32, unsigned & 0xFFFF_FFFF))
        row = found.fetchone()
        return tuple(row) if row is not None else None

    def _held_message(self, holder: tuple[Any, ...] | None) -> tuple[str, dict[str, object]]:
        pid: object = "?"
        host = ""
        where = ""
        started = "?"
        if holder is not None:
            name, backend_start, client = holder
            match = _HOLDER.match(str(name or ""))
            host = str(client or "")
            if isinstance(backend_start, datetime):
                started = backend_start.isoformat(timespec="seconds")
            if match:
                pid, host = match.group(1), match.group(3)
                if match.group(2):
                    stamp = datetime.strptime(match.group(2), "%Y%m%dT%H%M%SZ")
                    started = stamp.replace(tzinfo=UTC).isoformat()
            if host and host != socket.gethostname():
                where = f" on {host}"
        details: dict[str, object] = {
            "pid": pid,
            "host": host,
            "started": started,
        }
        message = (
            f"another run (pid {pid}{where}, started {started}) holds the lock for "
            f"profile {self.profile} ({self.db.label}); try again when it has finished"
        )
        return message, details

    def release(self) -> None:
        """Unlock; a connection already gone released it with its session."""
        if not self.held:
            return
        self.held = False
        with suppress(Exception):
            self.db.conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
