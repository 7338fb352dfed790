"""A real PostgreSQL server for the state store's tests (a pytest plugin: `-p pg_fixtures`).

The project's machines and CI run one on 127.0.0.1:5432 (trust auth). Each test session
creates its own database there and drops it at the end; each test that uses the store
gets its own schema. Without a server the PostgreSQL tests skip with the reason on a
developer's machine, and fail under CI (the `CI` variable), as the browser test does
with Chromium: CI must not pass by testing one store only.

`state_backend` runs a test once per store: sqlite, then postgresql (the profile made
by sync_helpers.make_fixture then says `state: {backend: postgresql, schema: ...}`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

HOST = "127.0.0.1"
PORT = 5432
ADMIN_URL = f"postgresql://postgres@{HOST}:{PORT}/postgres"
URL_ENV = "ROLESYNC_STATE_URL"
# The PostgreSQL store of the running test, when `state_backend` is postgresql.
ACTIVE: list[PgState] = []


def no_server(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the PostgreSQL state store tests")
    pytest.skip(f"{reason} (under CI this fails)")


def admin() -> Any:
    """An autocommit connection to the server's `postgres` database, or skip/fail."""
    try:
        import psycopg
    except ImportError:
        no_server("psycopg is not installed (pip install -e '.[dev]')")
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or ["?"])[0]
        no_server(f"no PostgreSQL server on {HOST}:{PORT} ({first})")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """The URL of a database of this test session's own, dropped at its end."""
    name = f"rolesync_test_{os.getpid()}_{secrets.token_hex(3)}"
    with admin() as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql://postgres@{HOST}:{PORT}/{name}"
    finally:
        with admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass(frozen=True, slots=True)
class PgState:
    url: str
    schema: str

    def connect(self) -> Any:
        import psycopg

        conn = psycopg.connect(self.url, autocommit=True)
        conn.execute("SELECT set_config('search_path', %s, false)", (self.schema,))
        return conn

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """A query in the store's SQLite dialect against this schema."""
        from roleSync.sync.sql import to_postgres

        with self.connect() as conn:
            return [tuple(r) for r in conn.execute(to_postgres(sql), params).fetchall()]

    def execute(self, sql: str, *params: Any) -> None:
        from roleSync.sync.sql import to_postgres

        with self.connect() as conn:
            conn.execute(to_postgres(sql), params)


@pytest.fixture
def pg_state(pg_database: str, monkeypatch: pytest.MonkeyPatch) -> PgState:
    """A fresh schema name in the session's database, its URL in ROLESYNC_STATE_URL."""
    monkeypatch.setenv(URL_ENV, pg_database)
    return PgState(pg_database, f"t_{secrets.token_hex(6)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def state_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test against each store; make_fixture's profiles follow it."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    state: PgState = request.getfixturevalue("pg_state")
    ACTIVE.append(state)
    try:
        yield "postgresql"
    finally:
        ACTIVE.remove(state)
