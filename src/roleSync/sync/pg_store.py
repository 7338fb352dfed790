"""The PostgreSQL state store: the same tables and migrations as the SQLite file, in
one schema per profile (`state.schema`, default rolesync_<name>) of a shared database.

Why a schema per profile: the store's SQL names its tables without a schema (it is
shared with SQLite), so `search_path` points the connection at the profile's schema,
and two profiles (or two teams) can share one database without sharing tables.

What is refused, one line each, before anything is written: a schema that holds tables
that are not a roleSync store (another product's), a store of a newer roleSync, a role
that may not create the schema or its tables. Each migration step is one transaction
with its version bump, under a transaction-scoped advisory lock, so two hosts starting
at once migrate once; PostgreSQL's DDL is transactional, so a failed step leaves the
previous version whole.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

from roleSync.sync.migrations import MIGRATIONS, NewerSchemaError
from roleSync.sync.pg_url import StateUrl
from roleSync.sync.sql import to_postgres
from roleSync.sync.store_db import Rows, Tx
from roleSync.sync.store_file import StateError

if TYPE_CHECKING:
    import psycopg

# The schema's version, as SQLite's `PRAGMA user_version`: one row, one number.
VERSION_TABLE = "rolesync_schema"
CONNECT_TIMEOUT = 10
INSUFFICIENT_PRIVILEGE = "42501"
# The server ending the session: admin shutdown, crash shutdown, cannot connect now.
LOST_STATES = ("57P01", "57P02", "57P03")


def import_psycopg(profile: str) -> ModuleType:
    try:
        import psycopg
    except ImportError:
        raise StateError(
            f"profile {profile} keeps its state in PostgreSQL (state.backend: postgresql), "
            "which needs psycopg 3: pip install 'rolesync[postgres]'"
        ) from None
    return psycopg


@dataclass(frozen=True, slots=True)
class PgTarget:
    url: StateUrl
    schema: str
    profile: str

    @property
    def label(self) -> str:
        u = self.url
        return (
            f"PostgreSQL database {u.database} on {u.host}:{u.port} "
            f"(schema {self.schema}, URL from {u.variable})"
        )


def application_name(started: datetime | None = None) -> str:
    """Who holds a connection, as pg_stat_activity shows it: how a second run names the
    holder of the run lock (sync/pg_lock.py). PostgreSQL keeps 63 bytes of it, so the
    host name comes last, where a long one is cut."""
    import os

    when = f" {started.astimezone(UTC):%Y%m%dT%H%M%SZ}" if started is not None else ""
    return f"rolesync {os.getpid()}{when} {socket.gethostname()}"[:63]


def cause(target: PgTarget, exc: BaseException) -> str:
    """The first line of a server's or driver's message, password hidden."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return target.url.redact(text.removeprefix("connection failed: "))


def failure(target: PgTarget, doing: str, exc: BaseException, *, lost: bool = False) -> StateError:
    """One line for a failure of the store; `lost`: the connection is gone (psycopg's
    `broken`), whatever the server said on the way out."""
    state = getattr(exc, "sqlstate", None)
    why = cause(target, exc)
    if state == INSUFFICIENT_PRIVILEGE:
        return StateError(
            f"{target.label}: {doing}: role {target.url.user or '(default)'} lacks the "
            f"right ({why}); grant it CREATE on database {target.url.database}, or "
            f"create schema {target.schema} for it"
        )
    if lost or state in LOST_STATES:
        return StateError(
            f"{target.label}: {doing}: lost the connection to the server ({why}); what was "
            "committed is kept, and the next run of the profile finishes the journal"
        )
    return StateError(f"{target.label}: {doing}: {why}")


def connect(target: PgTarget) -> psycopg.Connection[Any]:
    """An autocommit connection whose search_path is the profile's schema."""
    import_psycopg(target.profile)
    import psycopg

    try:
        conn = psycopg.connect(
            target.url.url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            application_name=application_name(),
        )
    except psycopg.Error as exc:
        raise StateError(f"{target.label}: cannot connect: {cause(target, exc)}") from None
    try:
        conn.execute("SELECT set_config('search_path', %s, false)", (quoted(target.schema),))
    except psycopg.Error as exc:
        conn.close()
        raise failure(target, "cannot open the state store", exc) from None
    return conn


class PgTx:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[object] = ()) -> Rows:
        return self._conn.execute(to_postgres(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        values = [tuple(r) for r in rows]
        if values:
            with self._conn.cursor() as cursor:
                cursor.executemany(to_postgres(sql), values)


class PgDb:
    def __init__(self, conn: psycopg.Connection[Any], target: PgTarget) -> None:
        self.conn = conn
        self.target = target
        self.label = target.label

    @contextmanager
    def write(self) -> Iterator[Tx]:
        import psycopg

        try:
            with self.conn.transaction():
                yield PgTx(self.conn)
        except psycopg.IntegrityError:
            raise
        except psycopg.Error as exc:
            raise failure(
                self.target, "cannot write the state store", exc, lost=self.lost
            ) from None

    def read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        import psycopg

        try:
            return self.conn.execute(to_postgres(sql), tuple(params)).fetchall()
        except psycopg.Error as exc:
            doing = "cannot read the state store"
            raise failure(self.target, doing, exc, lost=self.lost) from None

    @property
    def lost(self) -> bool:
        return bool(self.conn.broken or self.conn.closed)

    def close(self) -> None:
        with suppress(Exception):  # a connection the server dropped closes quietly
            self.conn.close()


def quoted(schema: str) -> str:
    """The schema as an SQL name: checked ([a-z_][a-z0-9_]*, profile/sections.py), and
    quoted all the same, so that a reserved word (`user`, `order`) is a name too."""
    assert '"' not in schema
    return f'"{schema}"'


def _key(text: str) -> int:
    """A signed 64-bit advisory lock key for `text`."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def _version(conn: psycopg.Connection[Any], schema: str) -> int:
    table = f"{quoted(schema)}.{VERSION_TABLE}"
    found = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
    if found is None or found[0] is None:
        return 0
    row = conn.execute(f"SELECT version FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _tables(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1",
        (schema,),
    ).fetchall()
    return [str(r[0]) for r in rows]


def _foreign(target: PgTarget, tables: list[str]) -> StateError:
    shown = ", ".join(tables[:3]) + (", ..." if len(tables) > 3 else "")
    return StateError(
        f"{target.label}: schema {target.schema} holds tables that are not a roleSync "
        f"state store ({shown}); set state.schema to a schema of roleSync's own"
    )


def _schema_exists(conn: psycopg.Connection[Any], schema: str) -> bool:
    found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return found is not None


def _first_step(conn: psycopg.Connection[Any], target: PgTarget) -> None:
    """Inside the first migration's transaction: the schema and its version table."""
    schema = target.schema
    if not _schema_exists(conn, schema):
        conn.execute(f"CREATE SCHEMA {quoted(schema)}")
    elif tables := _tables(conn, schema):
        raise _foreign(target, tables)
    conn.execute(f"CREATE TABLE {quoted(schema)}.{VERSION_TABLE} (version BIGINT NOT NULL)")
    conn.execute(f"INSERT INTO {quoted(schema)}.{VERSION_TABLE} (version) VALUES (0)")


def migrate_pg(
    conn: psycopg.Connection[Any],
    target: PgTarget,
    migrations: Sequence[Sequence[str]] = MIGRATIONS,
) -> int:
    """Bring the profile's schema up to `len(migrations)`; the version found before."""
    wanted = len(migrations)
    start: int | None = None
    while True:
        with conn.transaction():
            # Serialises hosts migrating the same schema at once; released at commit.
            # Every look at the schema happens under it: read before, another host's
            # first step could commit between reading "no version table" and listing
            # the schema's tables, which then look like another product's.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_key(f"migrate:{target.schema}"),))
            version = _version(conn, target.schema)
            if start is None:
                start = version
            if version > wanted:
                raise NewerSchemaError(version)
            if version == wanted:
                return start
            if version == 0:
                _first_step(conn, target)
            for statement in migrations[version]:
                conn.execute(to_postgres(statement))
            conn.execute(
                f"UPDATE {quoted(target.schema)}.{VERSION_TABLE} SET version = %s", (version + 1,)
            )


def open_pg(target: PgTarget, *, create: bool = True) -> PgDb | None:
    """The profile's store, migrated; created first when `create`. None when there is
    no store yet and `create` is False (a reader: `rolesync runs`, `audit`)."""
    conn = connect(target)  # a clear line if psycopg is not installed
    import psycopg

    try:
        if not create and _version(conn, target.schema) == 0:
            conn.close()
            return None
        migrate_pg(conn, target)
    except NewerSchemaError as exc:
        conn.close()
        raise StateError(f"{target.label}: {exc}") from None
    except psycopg.Error as exc:
        conn.close()
        raise failure(target, "cannot create or upgrade the state store", exc) from None
    except BaseException:
        conn.close()
        raise
    return PgDb(conn, target)
