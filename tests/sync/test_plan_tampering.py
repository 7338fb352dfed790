"""`apply` re-checks a plan against the world, not against the plan's own claims: one
test per tampering case of issue 12."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sync_helpers import Fixture, make_fixture

from roleSync.cli import main


def _plan(fixture: Fixture, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    plan_file = tmp_path / "plan.json"
    assert main(["plan", *fixture.cli("sync")[1:], "-o", str(plan_file)]) == 0
    return plan_file, json.loads(plan_file.read_text())


def _write(plan_file: Path, plan: dict[str, Any]) -> None:
    plan_file.write_text(json.dumps(plan, indent=2, sort_keys=True) + "\n")


def test_a_raised_book_size_does_not_get_past_max_share(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 100 accounts, 22 of them due for a handoff: 22% of the book, above max_share 0.2.
    fixture = make_fixture(
        tmp_path,
        hunters=1,
        accounts_per_hunter=22,
        farmers=2,
        farmer_accounts=39,
        guardrails={"max_changes": 500, "max_share": 0.2},
    )
    plan_file, plan = _plan(fixture, tmp_path)
    assert len(plan["changes"]) == 22
    plan["summary"]["accounts"] = 1000  # "only 2.2% of the book"
    _write(plan_file, plan)
    before = fixture.book.read_bytes()
    capsys.readouterr()
    assert main([*fixture.cli("apply"), str(plan_file)]) == 3
    err = capsys.readouterr().err
    assert "22 of the book's 100 accounts (22%) exceed max_share 0.2" in err
    assert fixture.book.read_bytes() == before


def test_a_change_giving_a_farmers_account_to_a_hunter_fails_and_is_not_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=2, accounts_per_hunter=3)
    plan_file, plan = _plan(fixture, tmp_path)
    assert plan["changes"] and all(c["to_owner_id"].startswith("f-") for c in plan["changes"])
    edited = dict(plan["changes"][0], account_id="fa-0-0", account_name="Account fa-0-0")
    edited.update(from_owner_id="f-0", to_owner_id="h-1")
    plan["changes"].append(edited)
    _write(plan_file, plan)
    capsys.readouterr()
    assert main([*fixture.cli("apply"), str(plan_file)]) == 1  # a failed change
    out = capsys.readouterr().out
    assert f"applied {len(plan['changes']) - 1}," in out and "failed 1" in out
    owners = fixture.owners()
    assert owners["fa-0-0"] == "f-0"  # not written
    assert all(owners[c["account_id"]] == c["to_owner_id"] for c in plan["changes"][:-1])
    ((error,),) = fixture.query("SELECT error FROM audit WHERE account_id = 'fa-0-0'")
    assert "target owner h-1 is a hunter under the current rules" in error
    assert "route 'farmers' assigns to a farmer" in error


def test_a_target_deactivated_since_the_plan_fails_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=2, farmers=1)
    plan_file, plan = _plan(fixture, tmp_path)
    con = sqlite3.connect(fixture.book)
    with con:
        con.execute("UPDATE owners SET active = 0 WHERE id = 'f-0'")
    con.close()
    assert main([*fixture.cli("apply"), str(plan_file)]) == 1
    errors = fixture.query("SELECT error FROM audit WHERE result = 'failed'")
    assert len(errors) == len(plan["changes"]) == 2
    assert all("target owner f-0 is inactive" in e for (e,) in errors)


def test_an_edited_rules_digest_is_refused_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=3)
    plan_file, plan = _plan(fixture, tmp_path)
    plan["rules_digest"] = "sha256:" + "0" * 64
    _write(plan_file, plan)
    before = fixture.book.read_bytes()
    capsys.readouterr()
    assert main([*fixture.cli("apply"), str(plan_file)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert re.fullmatch(
        rf"{re.escape(str(plan_file))}:\d+:\d+: error: the plan was made under rules "
        r"sha256:0+, not those given .*--allow-stale-rules; nothing written \[stale-rules\]",
        line,
    )
    assert fixture.book.read_bytes() == before
    assert fixture.query("SELECT count(*) FROM runs") == [(0,)]
    # A person who knows better: still re-checked under the rules given, then written.
    assert main([*fixture.cli("apply"), str(plan_file), "--allow-stale-rules"]) == 0
    assert all(fixture.owners()[c["account_id"]] == c["to_owner_id"] for c in plan["changes"])


def test_rules_edited_after_the_plan_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=3)
    plan_file, _ = _plan(fixture, tmp_path)
    fixture.set_routing(from_roles="hunter, unclassified")
    capsys.readouterr()
    assert main([*fixture.cli("apply"), str(plan_file)]) == 1
    assert "[stale-rules]" in capsys.readouterr().err


def _duplicate_account(plan: dict[str, Any]) -> None:
    plan["changes"].append(dict(plan["changes"][0]))


def _two_targets(plan: dict[str, Any]) -> None:
    other = "f-1" if plan["changes"][0]["to_owner_id"] != "f-1" else "f-2"
    plan["changes"].append(dict(plan["changes"][0], to_owner_id=other))


def _metrics_twice(plan: dict[str, Any]) -> None:
    write = {"owner_id": "h-0", "values": {"role": "hunter"}, "expected": {}}
    plan["metric_writes"] += [write, dict(write, values={"role": "farmer"})]


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (_duplicate_account, r"account a-0-\d+ is changed twice in this plan"),
        (_two_targets, r"account a-0-\d+ is moved to two owners \(f-\d and f-\d\) in this plan"),
        (_metrics_twice, r"the metrics of owner h-0 are written twice in this plan"),
    ],
    ids=["same-account-twice", "account-to-two-owners", "owner-metrics-twice"],
)
def test_duplicate_or_contradictory_entries_are_one_error_before_any_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tamper: Any, message: str
) -> None:
    fixture = make_fixture(tmp_path, hunters=1, accounts_per_hunter=3)
    plan_file, plan = _plan(fixture, tmp_path)
    tamper(plan)
    _write(plan_file, plan)
    before = fixture.book.read_bytes()
    capsys.readouterr()
    assert main([*fixture.cli("apply"), str(plan_file)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    match = re.fullmatch(
        rf"{re.escape(str(plan_file))}:(\d+):(\d+): error: {message}; nothing written "
        r"\[plan-duplicate\]",
        line,
    )
    assert match, line
    # The position points at the repeated entry's key.
    row, col = int(match[1]), int(match[2])
    text = plan_file.read_text().splitlines()[row - 1]
    assert text[col - 1 :].startswith(('"account_id"', '"owner_id"'))
    assert fixture.book.read_bytes() == before
    assert fixture.query("SELECT count(*) FROM runs") == [(0,)]
