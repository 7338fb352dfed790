"""Tampered plan files (issue 13): what `apply` is handed may not be JSON, may not be a
plan, may nest without end or weigh a gigabyte. Each is one positioned line, exit 1,
nothing written to the book, no run recorded and nothing copied under runs/."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sync_helpers import Fixture, make_fixture

from roleSync.cli import main


def _plan(fixture: Fixture, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    plan_file = tmp_path / "plan.json"
    assert main(["plan", *fixture.cli("sync")[1:], "-o", str(plan_file)]) == 0
    return plan_file, json.loads(plan_file.read_text())


def _refused(
    fixture: Fixture, plan_file: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> str:
    """Apply the plan: exit 1, the one error line it printed; nothing written anywhere."""
    before = fixture.book.read_bytes()
    capsys.readouterr()
    assert main([*fixture.cli("apply"), str(plan_file), *extra]) == 1
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    assert "Traceback" not in captured.out + captured.err
    assert fixture.book.read_bytes() == before
    assert not (fixture.state.parent / "runs").exists()  # no run folder, no copy
    if fixture.state.exists():
        assert fixture.query("SELECT count(*) FROM runs") == [(0,)]
    return line


def _at(plan_file: Path, line: int, col: int) -> str:
    return plan_file.read_text().splitlines()[line - 1][col - 1 :]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_a_nan_or_infinity_is_refused_when_the_plan_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], number: str
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=3)
    plan_file, plan = _plan(fixture, tmp_path)
    plan["owners"][0]["metrics"]["won_amount"] = 0.5
    text = json.dumps(plan, indent=2, sort_keys=True).replace(
        '"won_amount": 0.5', f'"won_amount": {number}'
    )
    plan_file.write_text(text)
    line = _refused(fixture, plan_file, capsys)
    match = re.fullmatch(
        rf"{re.escape(str(plan_file))}:(\d+):(\d+): error: not a roleSync plan: "
        r"owners\.0\.metrics\.won_amount: Input should be a finite number \(NaN and "
        r"Infinity are not JSON numbers\) \[invalid-plan\]",
        line,
    )
    assert match, line
    assert _at(plan_file, int(match[1]), int(match[2])).rstrip(",") == number


def test_a_nan_in_a_metric_write_is_refused_at_its_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=3)
    plan_file, plan = _plan(fixture, tmp_path)
    plan["metric_writes"] = [{"owner_id": "h-0", "values": {"Won__c": 1.5}, "expected": {}}]
    plan_file.write_text(json.dumps(plan, indent=2).replace("1.5", "NaN"))
    line = _refused(fixture, plan_file, capsys)
    match = re.search(r":(\d+):(\d+): error: .*metric_writes\.0\.values\.Won__c: .*finite", line)
    assert match, line
    assert _at(plan_file, int(match[1]), int(match[2])).startswith("NaN")


def test_json_nested_without_end_is_one_positioned_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=3)
    plan_file, plan = _plan(fixture, tmp_path)
    deep = "[" * 100_000 + "]" * 100_000
    plan_file.write_text(json.dumps(plan).replace('"summary": {', f'"deep": {deep}, "summary": {{'))
    line = _refused(fixture, plan_file, capsys)
    assert re.fullmatch(
        rf"{re.escape(str(plan_file))}:1:\d+: error: not a roleSync plan: invalid JSON: "
        r"nested too deeply \(recursion limit exceeded\) \[plan-depth\]",
        line,
    ), line


@pytest.mark.parametrize(
    ("cut", "what", "where"),
    [
        (lambda text: text[: len(text) // 2], r"EOF while parsing .*", "end"),
        (lambda text: text.replace('"changes": [', '"changes": [}', 1), "expected value", "}"),
        (lambda text: text.replace('"format": 2,', '"format": 2,,', 1), r".*", ","),
    ],
    ids=["truncated", "stray-brace", "double-comma"],
)
def test_garbage_or_truncated_json_points_at_the_fault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cut: Any, what: str, where: str
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=3)
    plan_file, _ = _plan(fixture, tmp_path)
    plan_file.write_text(cut(plan_file.read_text()))
    line = _refused(fixture, plan_file, capsys)
    match = re.fullmatch(
        rf"{re.escape(str(plan_file))}:(\d+):(\d+): error: not a roleSync plan: invalid "
        rf"JSON: {what} \[invalid-plan\]",
        line,
    )
    assert match, line
    row, col = int(match[1]), int(match[2])
    assert row > 1  # not 1:1: the place the JSON breaks
    if where != "end":
        assert _at(plan_file, row, col).startswith(where)


@pytest.mark.parametrize(
    ("tamper", "where", "message", "found"),
    [
        (
            lambda plan: plan.update(window_days="365"),
            "window_days",
            "Input should be a valid integer",
            '"365"',
        ),
        (
            lambda plan: plan["changes"][1].update(account_id=5),
            "changes.1.account_id",
            "Input should be a valid string",
            "5",
        ),
        (
            lambda plan: plan["owners"][0].update(active="yes"),
            "owners.0.active",
            "Input should be a valid boolean",
            '"yes"',
        ),
        (lambda plan: plan.update(changes={}), "changes", "Input should be a valid array", "{}"),
    ],
    ids=["days-as-text", "account-id-as-number", "active-as-text", "changes-as-object"],
)
def test_a_value_of_the_wrong_type_is_refused_at_its_position(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tamper: Any,
    where: str,
    message: str,
    found: str,
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=3)
    plan_file, plan = _plan(fixture, tmp_path)
    tamper(plan)
    plan_file.write_text(json.dumps(plan, indent=2, sort_keys=True) + "\n")
    line = _refused(fixture, plan_file, capsys)
    match = re.fullmatch(
        rf"{re.escape(str(plan_file))}:(\d+):(\d+): error: not a roleSync plan: "
        rf"{re.escape(where)}: {message} \[invalid-plan\]",
        line,
    )
    assert match, line
    assert _at(plan_file, int(match[1]), int(match[2])).startswith(found)


def test_a_plan_above_the_size_limit_is_refused_before_it_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=3)
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:  # sparse: 257 MiB that take no disk and no time
        handle.truncate(257 * 1024 * 1024)
    line = _refused(fixture, huge, capsys)
    assert line == (
        f"{huge}: error: plan is 269,484,032 bytes, above the limit of 268,435,456 "
        "(--max-plan-size); nothing read, nothing written [plan-too-large]"
    )


def test_the_size_limit_is_an_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=3)
    plan_file, _ = _plan(fixture, tmp_path)
    size = plan_file.stat().st_size
    line = _refused(fixture, plan_file, capsys, "--max-plan-size", "1KiB")
    assert f"plan is {size:,} bytes, above the limit of 1,024 (--max-plan-size)" in line
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main([*fixture.cli("apply"), str(plan_file), "--max-plan-size", "lots"])
    assert exited.value.code == 2
    assert "not a size (like 512MiB or 2GiB): 'lots'" in capsys.readouterr().err
    assert main([*fixture.cli("apply"), str(plan_file), "--max-plan-size", "1MiB"]) == 0


def test_a_plan_stopped_by_a_guardrail_is_not_copied_until_it_is_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(
        tmp_path, hunters=1, accounts_per_hunter=6, guardrails={"max_changes": 5, "max_share": 1}
    )
    plan_file, _ = _plan(fixture, tmp_path)
    before = fixture.book.read_bytes()
    capsys.readouterr()
    assert main([*fixture.cli("apply"), str(plan_file)]) == 3
    err = capsys.readouterr().err
    # The stop names the file given, to review and apply again: no copy of it is made.
    assert f"nothing written. The plan is {plan_file}: review it, then apply it with " in err
    assert f"`rolesync apply {plan_file} --allow-large`" in err
    assert fixture.book.read_bytes() == before
    assert list((fixture.state.parent / "runs").glob("*/plan.json")) == []
    assert fixture.query("SELECT status, plan_path FROM runs") == [
        ("stopped-by-guardrail", str(plan_file))
    ]
    # Accepted: the run keeps its own copy, which recovery and reports read.
    assert main([*fixture.cli("apply"), str(plan_file), "--allow-large"]) == 0
    ((run_id, plan_path),) = fixture.query("SELECT id, plan_path FROM runs WHERE status = 'ok'")
    assert plan_path == str(fixture.state.parent / "runs" / run_id / "plan.json")
    assert json.loads(Path(plan_path).read_text()) == json.loads(plan_file.read_text())
