"""`rolesync rollback RUN --dry-run` on the demo book: it writes nothing, and the real
rollback that follows restores, carries back and skips exactly what it said."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from sync_helpers import make_fixture

from roleSync.cli import main

# The same tests against both state stores (tests/pg_fixtures.py).
pytestmark = pytest.mark.usefixtures("state_backend")

AS_OF = "2026-06-30"


@pytest.fixture(scope="module")
def demo_synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "demo"
    assert main(["demo", "--dir", str(folder), "--as-of", AS_OF]) == 0
    return folder


@pytest.fixture
def demo(demo_synced: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    copy = tmp_path / "demo"
    shutil.copytree(demo_synced, copy)
    capsys.readouterr()
    return copy


def query(path: Path, sql: str, *params: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def owners(demo: Path) -> dict[object, object]:
    return {r[0]: r[1] for r in query(demo / "demo.db", "SELECT id, owner_id FROM accounts")}


def the_sync(demo: Path) -> str:
    ((run_id,),) = query(demo / ".rolesync" / "state.db", "SELECT id FROM runs")
    return str(run_id)


def lines_of(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


def ids_of(text: str, prefix: str) -> set[str]:
    """`  restore: acc-1: u-2 -> u-1` -> acc-1; `  carry back: deal d-1 of acc-1: ...` -> d-1."""
    pattern = re.compile(re.escape(prefix) + r"(?:\w+ )?(\S+?)[: ]")
    found = {m.group(1) for line in lines_of(text, prefix) if (m := pattern.match(line))}
    assert len(found) == len(lines_of(text, prefix)), text
    return found


def dry_then_real(demo: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str, str]:
    """(dry run's output, real rollback's output, the rollback's run id)."""
    profile = ["-c", str(demo / "demo.yaml")]
    run_id = the_sync(demo)
    state = demo / ".rolesync" / "state.db"
    book_before = owners(demo)
    counts = "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM audit), " \
        "(SELECT count(*) FROM related_audit)"  # fmt: skip
    state_before = query(state, counts)
    assert main(["rollback", run_id, *profile, "--dry-run"]) == 0
    dry = capsys.readouterr().out
    # Nothing written: not the book, not the state store.
    assert owners(demo) == book_before
    assert query(state, counts) == state_before
    assert main(["rollback", run_id, *profile]) == 0
    real = capsys.readouterr().out
    rows = query(state, "SELECT id FROM runs WHERE parent_run = ?", run_id)
    assert len(rows) == 1
    return dry, real, str(rows[0][0])


def test_the_dry_run_says_what_the_real_rollback_then_does(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dry, real, rollback_id = dry_then_real(demo, capsys)
    state = demo / ".rolesync" / "state.db"
    sync_id = the_sync_of(state, rollback_id)
    assert dry.startswith(f"dry run: rollback of run {sync_id}; nothing written\n")
    restored = {
        str(a)
        for (a,) in query(
            state, "SELECT account_id FROM audit WHERE run_id = ? AND result = 'applied'",
            rollback_id,
        )
    }  # fmt: skip
    carried = {
        str(r)
        for (r,) in query(
            state, "SELECT record_id FROM related_audit WHERE run_id = ? AND result = 'applied'",
            rollback_id,
        )
    }  # fmt: skip
    assert ids_of(dry, "  restore: ") == restored
    assert ids_of(dry, "  carry back: ") == carried
    # Skips, with their reasons and codes, in the very words of the real rollback.
    assert lines_of(dry, "  not rolled back: ") == lines_of(real, "  not rolled back: ")
    tasks = "handoff tasks created by the run rolled back were left in the CRM"
    assert [line for line in dry.splitlines() if tasks in line] == [
        line for line in real.splitlines() if tasks in line
    ]
    # The demo's book: the sync moved accounts, carried deals and made tasks; one of its
    # owners left since (inactive), so some accounts cannot go back to them.
    applied = query(
        state, "SELECT count(*) FROM audit WHERE run_id = ? AND result = 'applied'", sync_id
    )[0][0]
    skips = lines_of(dry, "  not rolled back: ")
    assert restored and carried and skips and any(tasks in line for line in dry.splitlines())
    assert len(restored) + len(skips) == applied
    assert all(line.endswith("[previous-owner-inactive]") for line in skips)
    counts = f"would restore {len(restored)}, skip {len(skips)}, carry back {len(carried)} records"
    assert counts in dry.splitlines()
    assert f"planned {len(restored)}, applied {len(restored)}, " in real


def the_sync_of(state: Path, rollback_id: str) -> str:
    ((parent,),) = query(state, "SELECT parent_run FROM runs WHERE id = ?", rollback_id)
    return str(parent)


def test_an_account_moved_by_hand_is_skipped_by_both(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = demo / ".rolesync" / "state.db"
    sync_id = the_sync(demo)
    # A person gives one of the moved accounts to someone else after the sync.
    (account, to_owner), *_ = query(
        state,
        "SELECT account_id, to_owner FROM audit WHERE run_id = ? AND result = 'applied' "
        "AND from_owner != 'u-07' ORDER BY account_id",
        sync_id,
    )
    other = "u-01" if to_owner != "u-01" else "u-02"
    con = sqlite3.connect(demo / "demo.db")
    with con:
        con.execute("UPDATE accounts SET owner_id = ? WHERE id = ?", (other, account))
    con.close()
    dry, real, _ = dry_then_real(demo, capsys)
    expected = (
        f"  not rolled back: {account}: changed since run {sync_id}: owner is {other}, "
        f"not {to_owner} as the run left it [changed-since]"
    )
    assert expected in dry.splitlines()
    assert expected in real.splitlines()
    assert lines_of(dry, "  not rolled back: ") == lines_of(real, "  not rolled back: ")
    assert account not in ids_of(dry, "  restore: ")
    assert owners(demo)[account] == other  # the person's change stands


def test_a_dry_run_above_the_guardrails_says_the_rollback_would_stop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=2, accounts_per_hunter=5)
    assert main(fixture.cli("sync")) == 0
    ((run_id,),) = fixture.query("SELECT id FROM runs")
    text = fixture.profile.read_text().replace("max_changes: 100000", "max_changes: 3")
    fixture.profile.write_text(text.replace('"max_changes": 100000', '"max_changes": 3'))
    capsys.readouterr()
    assert main([*fixture.cli("rollback"), run_id, "--dry-run"]) == 3
    out = capsys.readouterr().out
    assert "would restore 10, skip 0" in out
    assert (
        "guardrail: 10 ownership changes exceed max_changes 3; the rollback would stop here "
        "and write nothing (--allow-large to go above)"
    ) in out
    assert main([*fixture.cli("rollback"), run_id, "--dry-run", "--allow-large"]) == 0
    assert "guardrail: allowed by --allow-large: 10 ownership changes" in capsys.readouterr().out
    # The real one stops where the dry run said it would.
    assert main([*fixture.cli("rollback"), run_id]) == 3
    assert fixture.query("SELECT status FROM runs WHERE parent_run = ?", run_id) == [
        ("stopped-by-guardrail",)
    ]


def test_a_dry_run_of_an_unknown_run_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path)
    # Before any run: no state store, and the dry run does not create one.
    assert main([*fixture.cli("rollback"), "20260101T000000Z-000000", "--dry-run"]) == 2
    assert not fixture.state.exists()
    assert main(fixture.cli("sync")) == 0
    capsys.readouterr()
    assert main([*fixture.cli("rollback"), "20260101T000000Z-000000", "--dry-run"]) == 2
    assert "no run '20260101T000000Z-000000' of profile test" in capsys.readouterr().err
