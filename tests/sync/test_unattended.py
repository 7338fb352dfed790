"""Unattended operation: JSON-lines logs on stderr (errors included, with their exit
code), and two syncs started at once: one wins, the other exits 4 having done nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sync_helpers import hold_run_lock, make_fixture

from roleSync.cli import main

# The same tests against both state stores (tests/pg_fixtures.py).
pytestmark = pytest.mark.usefixtures("state_backend")


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line must be one JSON object."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_sync_logs_one_json_object_per_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=5)
    monkeypatch.delenv("ROLESYNC_TEST_BATCH_DELAY_MS", raising=False)
    assert main(fixture.cli("sync", "--log-format", "json")) == 0
    captured = capsys.readouterr()
    events = json_lines(captured.err)
    names = [e["event"] for e in events]
    assert names[0] == "lock-acquired" and names[-1] == "run-finished"
    assert {"stage", "run-started", "batch"} <= set(names)
    finished = events[-1]
    assert finished["status"] == "ok" and finished["applied"] == 5
    assert finished["run_id"] in captured.out  # the summary still goes to stdout
    assert all({"time", "level", "message"} <= e.keys() for e in events)


def test_errors_are_json_events_with_their_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(
        tmp_path, hunters=1, accounts_per_hunter=5, guardrails={"max_changes": 2}
    )
    assert main(fixture.cli("sync", "--log-format", "json")) == 3
    events = json_lines(capsys.readouterr().err)
    assert [e["event"] for e in events][-2:] == ["guardrail", "error"]
    assert events[-1]["exit_code"] == 3 and events[-1]["level"] == "error"
    assert "exceed max_changes 2" in events[-1]["message"]

    with hold_run_lock(fixture, datetime(2026, 6, 30, tzinfo=UTC)):
        assert main(fixture.cli("sync", "--log-format", "json")) == 4
    (error,) = json_lines(capsys.readouterr().err)
    assert error["event"] == "error" and error["exit_code"] == 4
    assert error["message"].startswith(f"another run (pid {os.getpid()}, started 2026-06-30")

    (fixture.rules / "roles.yaml").write_text("version: 1\nkind: roles\nclassify: oops\n")
    assert main(fixture.cli("sync", "--log-format", "json")) == 1
    errors = [e for e in json_lines(capsys.readouterr().err) if e["level"] == "error"]
    assert errors and all(e["event"] == "error" and e["exit_code"] == 1 for e in errors)
    assert "roles.yaml:3:" in errors[0]["message"] and ": error: " in errors[0]["message"]


def test_two_syncs_started_at_once_one_wins_the_other_exits_4(tmp_path: Path) -> None:
    fixture = make_fixture(tmp_path, hunters=2, accounts_per_hunter=400)
    # Each of the 4 batches takes 0.3 s: the winner holds the lock for over a second.
    env = {**os.environ, "ROLESYNC_TEST_BATCH_DELAY_MS": "300"}
    command = [sys.executable, "-m", "roleSync", *fixture.cli("sync", "--log-format", "json")]
    runs = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=60), *p.communicate()) for p in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 4], results
    (loser,) = [r for r in results if r[0] == 4]
    (error,) = json_lines(loser[2])
    winner = next(p for p, r in zip(runs, results, strict=True) if r[0] == 0)
    assert error["message"].startswith(f"another run (pid {winner.pid}, started ")
    assert "holds the lock for profile test" in error["message"]
    # The winner did all the work once; the loser wrote nothing and recorded no run.
    assert fixture.query("SELECT status, planned, applied FROM runs") == [("ok", 800, 800)]
    applied = fixture.query("SELECT count(DISTINCT account_id), count(*) FROM audit")
    assert applied == [(800, 800)]
