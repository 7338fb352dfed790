"""The state store's SQL in SQLite's dialect, translated for PostgreSQL (sync/sql.py)."""

from __future__ import annotations

import pytest

from roleSync.sync.migrations import MIGRATIONS
from roleSync.sync.sql import IDENTITY, ROWID_COLUMN, to_postgres


def test_placeholders_become_psycopg_ones_and_percent_signs_are_doubled() -> None:
    assert to_postgres("SELECT a FROM t WHERE b = ? AND c LIKE 'x%'") == (
        "SELECT a FROM t WHERE b = %s AND c LIKE 'x%%'"
    )


def test_question_marks_in_literals_and_comments_stay() -> None:
    sql = "SELECT '?', \"we?ird\" FROM t -- why? because\nWHERE a = ?"
    assert to_postgres(sql) == "SELECT '?', \"we?ird\" FROM t -- why? because\nWHERE a = %s"


def test_a_quote_inside_a_literal_does_not_end_it() -> None:
    assert to_postgres("SELECT 'it''s ?' WHERE a = ?") == "SELECT 'it''s ?' WHERE a = %s"


def test_insert_or_ignore_becomes_on_conflict_do_nothing() -> None:
    assert to_postgres("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)") == (
        "INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING"
    )


def test_an_autoincrement_key_becomes_an_identity_and_gets_no_extra_rowid() -> None:
    ddl = to_postgres("CREATE TABLE a (seq INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER)")
    assert ddl == f"CREATE TABLE a (seq {IDENTITY} PRIMARY KEY, n BIGINT)"
    assert "rowid" not in ddl


def test_a_rowid_table_gets_its_implicit_rowid_and_text_sorts_by_bytes() -> None:
    ddl = to_postgres("CREATE TABLE r (id TEXT PRIMARY KEY, note TEXT NOT NULL DEFAULT '')")
    assert ROWID_COLUMN in ddl
    assert ddl.count('TEXT COLLATE "C"') == 2


def test_a_without_rowid_table_gets_none() -> None:
    ddl = to_postgres("CREATE TABLE w (a TEXT, b TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID")
    assert "ROWID" not in ddl.upper().replace("ROWID_", "")
    assert ddl.endswith(")")


@pytest.mark.parametrize("step", range(len(MIGRATIONS)))
def test_every_shipped_migration_translates_without_sqlite_only_words(step: int) -> None:
    for statement in MIGRATIONS[step]:
        out = to_postgres(statement).upper()
        code = "\n".join(line.split("--")[0] for line in out.splitlines())
        for word in ("AUTOINCREMENT", "WITHOUT ROWID", "?", "PRAGMA"):
            assert word not in code, (step, statement)
