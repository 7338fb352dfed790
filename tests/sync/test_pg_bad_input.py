"""Bad input for the PostgreSQL state store (issue 18): a connection URL missing,
malformed or refused; a schema holding another product's tables; a store of a newer
roleSync; a role without the right to create tables. Each is one line naming the
variable or the database (never the password), exit 1, nothing written."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import pytest
from sync_helpers import Fixture, make_fixture

import pg_fixtures
from pg_fixtures import PgState
from roleSync.cli import main
from roleSync.sync.migrations import SCHEMA_VERSION

PASSWORD = "s3cr3t-Pa55"


@pytest.fixture
def fixture(tmp_path: Path, pg_state: PgState) -> Fixture:
    pg_fixtures.ACTIVE.append(pg_state)
    try:
        return make_fixture(tmp_path, hunters=1, accounts_per_hunter=3)
    finally:
        pg_fixtures.ACTIVE.remove(pg_state)


def database(state: PgState) -> str:
    return state.url.rsplit("/", 1)[-1]


def schema_exists(state: PgState, schema: str | None = None) -> bool:
    with state.connect() as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema or state.schema,)
        ).fetchone()
    return row is not None


def refused(fixture: Fixture, capsys: pytest.CaptureFixture[str]) -> str:
    """Run a sync that must fail on the store: its one line, after checking that
    nothing was written (book, run folder)."""
    before = fixture.owners()
    capsys.readouterr()
    assert main(fixture.cli("sync")) == 1
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if x.startswith("rolesync: error:")]
    assert "Traceback" not in err and PASSWORD not in err
    assert fixture.owners() == before
    assert not (fixture.folder / ".rolesync" / "runs").exists()
    return line


def test_url_variable_missing(
    fixture: Fixture,
    pg_state: PgState,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("ROLESYNC_STATE_URL")
    line = refused(fixture, capsys)
    assert line.startswith("rolesync: error: ROLESYNC_STATE_URL is not set: profile test keeps")
    assert not schema_exists(pg_state)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (f"mysql://app:{PASSWORD}@127.0.0.1/app", "it must start with postgresql://"),
        (f"postgresql://app:{PASSWORD}@127.0.0.1:54x2/app", "the port is not a number"),
        (f"postgresql://app:{PASSWORD}@127.0.0.1:5432", "it names no database"),
        (f"postgresql://app:{PASSWORD}@[::1/app", "Invalid IPv6 URL"),
        (f"postgresql://app:{PASSWORD}@127.0.0.1/app?colour=blue", 'parameter: "colour"'),
    ],
    ids=["scheme", "port", "no-database", "bracket", "option"],
)
def test_url_malformed(
    fixture: Fixture,
    pg_state: PgState,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    why: str,
) -> None:
    monkeypatch.setenv("ROLESYNC_STATE_URL", url)
    line = refused(fixture, capsys)
    assert line.startswith(
        "rolesync: error: ROLESYNC_STATE_URL: not a PostgreSQL connection URL "
        "(postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE): "
    )
    assert why in line
    assert not schema_exists(pg_state)


def test_url_refused(
    fixture: Fixture, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 9 (discard): nothing listens there on the test machines.
    monkeypatch.setenv("ROLESYNC_STATE_URL", f"postgresql://app:{PASSWORD}@127.0.0.1:9/teamdb")
    line = refused(fixture, capsys)
    assert line.startswith("rolesync: error: PostgreSQL database teamdb on 127.0.0.1:9 (schema ")
    assert "URL from ROLESYNC_STATE_URL): cannot connect: " in line
    assert "Connection refused" in line


def test_url_with_a_wrong_password_never_shows_it(
    fixture: Fixture,
    pg_state: PgState,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A role that does not exist: the server's answer quotes the user, never the password."""
    url = (
        f"postgresql://nobody_{secrets.token_hex(3)}:{PASSWORD}@127.0.0.1:5432/{database(pg_state)}"
    )
    monkeypatch.setenv("ROLESYNC_STATE_URL", url)
    line = refused(fixture, capsys)
    assert f"PostgreSQL database {database(pg_state)} on 127.0.0.1:5432" in line
    assert "cannot connect" in line


def test_a_schema_with_another_products_tables(
    tmp_path: Path, pg_state: PgState, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = f"shop_{secrets.token_hex(3)}"
    with pg_state.connect() as conn:
        conn.execute(f"CREATE SCHEMA {shop}")
        conn.execute(f"CREATE TABLE {shop}.orders (id int)")
        conn.execute(f"CREATE TABLE {shop}.runs (id text)")  # a name like one of ours
    fixture = make_fixture(tmp_path)
    text = fixture.profile.read_text()
    fixture.profile.write_text(text + f"state: {{backend: postgresql, schema: {shop}}}\n")
    line = refused(fixture, capsys)
    assert line == (
        f"rolesync: error: PostgreSQL database {database(pg_state)} on 127.0.0.1:5432 (schema "
        f"{shop}, URL from ROLESYNC_STATE_URL): schema {shop} holds tables that are not a "
        "roleSync state store (orders, runs); set state.schema to a schema of roleSync's own"
    )
    with pg_state.connect() as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (shop,)
        ).fetchall()
    assert tables == [("orders",), ("runs",)]  # nothing added


def test_a_store_of_a_newer_rolesync(
    fixture: Fixture, pg_state: PgState, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["state", "migrate", "-c", str(fixture.profile)]) == 0
    with pg_state.connect() as conn:
        conn.execute(f"UPDATE {pg_state.schema}.rolesync_schema SET version = 99")
    line = refused(fixture, capsys)
    assert line.startswith(f"rolesync: error: PostgreSQL database {database(pg_state)} ")
    assert line.endswith(
        f"state schema version 99 is newer than this roleSync understands ({SCHEMA_VERSION}); "
        "upgrade roleSync"
    )
    assert fixture.query("SELECT count(*) FROM runs") == [(0,)]


def test_a_role_without_the_right_to_create_tables(
    fixture: Fixture,
    pg_state: PgState,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    role = f"rolesync_reader_{secrets.token_hex(3)}"
    with pg_state.connect() as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
    try:
        url = f"postgresql://{role}:{PASSWORD}@127.0.0.1:5432/{database(pg_state)}"
        monkeypatch.setenv("ROLESYNC_STATE_URL", url)
        line = refused(fixture, capsys)
    finally:
        with pg_state.connect() as conn:
            conn.execute(f"DROP ROLE {role}")
    assert line.startswith(f"rolesync: error: PostgreSQL database {database(pg_state)} ")
    assert f": cannot create or upgrade the state store: role {role} lacks the right (" in line
    assert line.endswith(
        f"grant it CREATE on database {database(pg_state)}, or create schema "
        f"{pg_state.schema} for it"
    )
    assert not schema_exists(pg_state)


def test_psycopg_missing_is_one_line(
    fixture: Fixture, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg: ImportError
    line = refused(fixture, capsys)
    assert line == (
        "rolesync: error: profile test keeps its state in PostgreSQL (state.backend: "
        "postgresql), which needs psycopg 3: pip install 'rolesync[postgres]'"
    )


def test_a_url_written_in_the_profile_is_refused(
    fixture: Fixture, capsys: pytest.CaptureFixture[str]
) -> None:
    text = fixture.profile.read_text().replace(
        "state: {backend: postgresql,",
        f"state: {{url: 'postgresql://a:{PASSWORD}@h/d', backend: postgresql,",
    )
    fixture.profile.write_text(text)
    capsys.readouterr()
    assert main(fixture.cli("sync")) == 1
    err = capsys.readouterr().err
    (line,) = err.splitlines()
    assert line.startswith(f"{fixture.profile}:7:8: error: state: url: a connection URL is never")
    assert PASSWORD not in err
    assert not (fixture.folder / ".rolesync").exists()
