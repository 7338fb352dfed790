"""Stuck handoffs alert: `sync --fail-on`, `apply --fail-on` and a profile's
`alerts.fail_on` exit 5 once everything else is written; the run-finished event and
report.json count skips by reason and name the full routes; unknown codes are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sync_helpers import Fixture, make_fixture

from roleSync.cli import main
from roleSync.errors import ExitCode
from roleSync.profile import load_profile
from roleSync.report.data import csv_tables
from roleSync.report.html import render_html
from roleSync.report.runs import report_data
from roleSync.sync import logs

# 4 farmers hold 3 accounts each, capped at 5: 8 of the 30 handoffs fit, 22 are stuck.
CAPPED = """\
version: 1
kind: routing
handoff:
  delay_days: 0
  from_roles: [hunter]
  from_inactive_owners: false
routes:
  - id: farmers
    assign:
      pool: {role: farmer}
      strategy: round_robin
      capacity: {max_accounts: 5}
"""
MOVED, STUCK = 8, 22


def capped(folder: Path, alerts: str = "") -> Fixture:
    fixture = make_fixture(folder)
    (fixture.rules / "routing.yaml").write_text(CAPPED)
    if alerts:
        with fixture.profile.open("a") as profile:
            profile.write(alerts + "\n")
    return fixture


def moved(fixture: Fixture) -> int:
    owners = fixture.owners()
    return sum((owners[a] or "").startswith("f-") for a in owners if a.startswith("a-"))


def latest_report(fixture: Fixture) -> dict[str, object]:
    (path,) = sorted(fixture.folder.glob(".rolesync/runs/*/report.json"))[-1:]
    data: dict[str, object] = json.loads(path.read_text())
    return data


def test_without_the_flag_or_setting_a_stuck_run_exits_0(tmp_path: Path) -> None:
    fixture = capped(tmp_path)
    assert main(fixture.cli("sync")) == ExitCode.OK
    assert moved(fixture) == MOVED


def test_fail_on_exits_5_after_writing_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = capped(tmp_path)
    code = main(fixture.cli("sync", "--fail-on", "no-eligible-farmer,no-route"))
    assert code == ExitCode.STUCK
    assert int(ExitCode.STUCK) == 5  # documented in deploy/README.md
    assert moved(fixture) == MOVED  # the handoffs that fit were still written
    err = capsys.readouterr().err
    assert f"stuck handoffs: {STUCK} no-eligible-farmer; full routes: farmers" in err
    report = latest_report(fixture)
    assert report["skipped_by_reason"] == {"no-eligible-farmer": STUCK}
    assert report["full_routes"] == ["farmers"]
    skips = report["skipped"]
    assert isinstance(skips, list) and {s["route"] for s in skips} == {"farmers"}


def test_a_code_that_did_not_occur_exits_0(tmp_path: Path) -> None:
    fixture = capped(tmp_path)
    assert main(fixture.cli("sync", "--fail-on", "no-route")) == ExitCode.OK


def test_the_profile_setting_and_the_flag_overriding_it(tmp_path: Path) -> None:
    fixture = capped(tmp_path, "alerts: {fail_on: [no-eligible-farmer]}")
    assert main(fixture.cli("sync")) == ExitCode.STUCK
    assert moved(fixture) == MOVED
    # The next run finds the same pool still full; '' turns the setting off.
    assert main(fixture.cli("sync", "--fail-on", "")) == ExitCode.OK
    assert main(fixture.cli("sync", "--fail-on", "no-route")) == ExitCode.OK
    assert main(fixture.cli("sync")) == ExitCode.STUCK


def test_apply_fails_on_the_skips_of_its_plan(tmp_path: Path) -> None:
    fixture = capped(tmp_path)
    plan = tmp_path / "plan.json"
    assert main(["plan", *fixture.cli("sync")[1:], "-o", str(plan)]) == ExitCode.OK
    skips = json.loads(plan.read_text())["skipped"]
    assert len(skips) == STUCK and all(s["route"] == "farmers" for s in skips)
    assert main(fixture.cli("apply", str(plan), "--fail-on", "no-eligible-farmer")) == 5
    assert moved(fixture) == MOVED


def test_json_run_finished_counts_skips_by_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = capped(tmp_path)
    try:
        code = main(fixture.cli("sync", "--log-format", "json", "--fail-on", "no-eligible-farmer"))
    finally:
        logs.reset()
    assert code == ExitCode.STUCK
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    finished = next(e for e in events if e["event"] == "run-finished")
    assert finished["skipped"] == STUCK
    assert finished["skipped_by_reason"] == {"no-eligible-farmer": STUCK}
    assert finished["full_routes"] == ["farmers"]
    stuck = next(e for e in events if e["event"] == "stuck-handoffs")
    assert stuck["exit_code"] == 5 and stuck["level"] == "warning"
    assert stuck["skipped_by_reason"] == {"no-eligible-farmer": STUCK}


def test_an_unknown_code_in_the_flag_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = capped(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(fixture.cli("sync", "--fail-on", "no-route,no-eligable-farmer"))
    assert stopped.value.code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "unknown skip code 'no-eligable-farmer'; did you mean 'no-eligible-farmer'?" in err
    assert moved(fixture) == 0  # nothing written
    assert not fixture.state.exists()


def test_an_unknown_code_in_the_profile_is_positioned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = capped(tmp_path, "alerts:\n  fail_on: [no-eligible-farmer, no-rout]")
    assert main(fixture.cli("sync")) == ExitCode.INVALID
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if "no-rout" in x)
    assert line.startswith(f"{fixture.profile}:8:33: error: alerts.fail_on.1: unknown skip code")
    assert "did you mean 'no-route'?" in line
    assert moved(fixture) == 0


def test_the_report_names_the_full_routes(tmp_path: Path) -> None:
    fixture = capped(tmp_path)
    assert main(fixture.cli("sync")) == ExitCode.OK
    _, data = report_data(load_profile(fixture.profile))
    assert data.run.skipped == STUCK
    assert data.run.full_routes == "farmers"
    assert "<b>farmers</b>full routes (no eligible farmer)" in render_html(data)
    assert "full_routes" in csv_tables(data)["run.csv"].splitlines()[0]
