"""`rolesync audit ACCOUNT|OWNER|RUN`: the audit log by account, owner or run, as a
table or JSON; unknown and ambiguous subjects are one line each, exit 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sync_helpers import Fixture, make_fixture

from roleSync.cli import main
from roleSync.metrics import RoleMetrics
from roleSync.model import Role
from roleSync.plan import OwnerRole
from roleSync.report.audit_log import AuditLog, SubjectError, as_json, as_text, resolve, select
from roleSync.sync.store import AuditRow, RunRow
from roleSync.sync.store_related import RelatedRow

# The same tests against both state stores (tests/pg_fixtures.py).
pytestmark = pytest.mark.usefixtures("state_backend")


@pytest.fixture
def synced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Fixture, str]:
    # 2 hunters of 5 accounts each: 10 handoffs, round robin over 4 farmers.
    fixture = make_fixture(tmp_path, hunters=2, accounts_per_hunter=5)
    assert main(fixture.cli("sync")) == 0
    ((run_id,),) = fixture.query("SELECT id FROM runs")
    capsys.readouterr()
    return fixture, str(run_id)


def audit_json(fixture: Fixture, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert main(["audit", *args, "-c", str(fixture.profile), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_an_account_owner_or_run_each_shows_its_rows(
    synced: tuple[Fixture, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fixture, run_id = synced
    account = audit_json(fixture, capsys, "a-0-00000")
    assert account["subject"] == {
        "kind": "account",
        "id": "a-0-00000",
        "label": 'account a-0-00000 "Account a-0-00000"',
    }
    (row,) = account["rows"]
    assert (row["run_id"], row["mode"], row["from"], row["rule_id"], row["result"]) == (
        run_id,
        "sync",
        "h-0",
        "farmers",
        "applied",
    )
    assert row["to"].startswith("f-") and row["related"] == []
    assert set(row) == {
        "at", "run_id", "mode", "account_id", "account_name", "from", "to", "rule_id",
        "reason", "result", "found", "error", "rules_digest", "related",
    }  # fmt: skip

    # An owner by id, by email and by name (case-insensitive): the same five rows.
    by_id = audit_json(fixture, capsys, "h-1")
    assert by_id["subject"]["label"] == "owner h-1 (Hunter 1 <h-1@example.com>)"
    assert sorted(r["account_id"] for r in by_id["rows"]) == [f"a-1-{n:05d}" for n in range(5)]
    assert audit_json(fixture, capsys, "H-1@Example.COM") == by_id
    assert audit_json(fixture, capsys, "hunter 1") == by_id

    run = audit_json(fixture, capsys, run_id)
    assert (run["subject"]["kind"], run["total"], run["shown"]) == ("run", 10, 10)
    assert audit_json(fixture, capsys, "latest") == run

    limited = audit_json(fixture, capsys, "latest", "--limit", "3")
    assert (limited["total"], limited["shown"]) == (10, 3)
    # Newest first: the last three rows written.
    assert [r["account_id"] for r in limited["rows"]] == [r["account_id"] for r in run["rows"][:3]]


def test_the_text_table(synced: tuple[Fixture, str], capsys: pytest.CaptureFixture[str]) -> None:
    fixture, run_id = synced
    assert main(["audit", "a-0-00001", "-c", str(fixture.profile)]) == 0
    head, columns, row = capsys.readouterr().out.splitlines()
    assert head == 'audit of account a-0-00001 "Account a-0-00001", profile test: 1 rows'
    head_cells = ["WHEN", "RUN", "ACCOUNT", "FROM", "->", "TO", "RULE", "RESULT", "REASON"]
    assert columns.split() == head_cells
    cells = row.split()
    assert cells[1:4] == [run_id, "a-0-00001", "h-0"] and cells[6:8] == ["farmers", "applied"]
    assert main(["audit", run_id, "-c", str(fixture.profile), "--limit", "2"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        f"audit of run {run_id} (sync), profile test: 10 rows, the newest 2 shown (--limit)"
    )


def test_bad_subjects_are_one_line_exit_1(
    synced: tuple[Fixture, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fixture, _ = synced
    profile = ["-c", str(fixture.profile)]
    assert main(["audit", "h-1@exampel.com", *profile]) == 1
    assert capsys.readouterr().err == (
        "rolesync: error: 'h-1@exampel.com' is not a run, account or owner in the audit log "
        "of profile test; did you mean 'h-1@example.com'?\n"
    )
    # --kind narrows: an owner's id is no account.
    assert main(["audit", "h-0", *profile, "--kind", "account"]) == 1
    assert "'h-0' is not an account in the audit log" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        main(["audit", "h-0", *profile, "--limit", "0"])
    assert caught.value.code == 2


def test_no_state_store_yet_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = make_fixture(tmp_path)
    assert main(["audit", "latest", "-c", str(fixture.profile)]) == 1
    assert "no audit log yet for profile test" in capsys.readouterr().err
    assert not fixture.state.exists()  # looking does not create a store


def owner(owner_id: str, name: str) -> OwnerRole:
    return OwnerRole(
        owner_id, name, f"{owner_id}@x.test", "", True, Role.FARMER, None, "", RoleMetrics()
    )


def row(seq: int, account: str, from_owner: str, to_owner: str) -> AuditRow:
    return AuditRow(
        seq, "r1", account, "", from_owner, to_owner, "rule", "d", "why", "t", "applied", None, ""
    )


LOG = AuditLog(
    "p",
    [RunRow("r1", "p", "sync", "t", "ok")],
    [row(1, "x-1", "o-1", "o-2"), row(2, "o-1", "o-3", "o-2")],
    [
        RelatedRow(
            3,
            "r1",
            "deal:d1",
            "deal",
            "d1",
            "x-1",
            "o-1",
            "o-2",
            "",
            "",
            "",
            "t",
            "applied",
            None,
            "",
        )
    ],
    {"o-1": owner("o-1", "Sam Lee"), "o-2": owner("o-2", "Sam Lee"), "o-3": owner("o-3", "Ann")},
)


def test_ambiguous_subjects_list_their_candidates() -> None:
    # o-1 is an owner's id and an account's id too.
    with pytest.raises(SubjectError) as caught:
        resolve(LOG, "o-1")
    assert str(caught.value) == (
        "'o-1' is ambiguous in the audit log of profile p: account o-1; owner o-1 "
        "(Sam Lee <o-1@x.test>); give an id, or --kind account|owner|run"
    )
    assert resolve(LOG, "o-1", "owner").kind == "owner"
    assert [r.seq for r in select(LOG, resolve(LOG, "o-1", "account"))] == [2]
    with pytest.raises(SubjectError) as caught:
        resolve(LOG, "sam lee")
    assert "owner o-1 (Sam Lee <o-1@x.test>); owner o-2 (Sam Lee <o-2@x.test>)" in str(caught.value)
    # An id found exactly wins over names: o-2 is one owner.
    assert [r.seq for r in select(LOG, resolve(LOG, "o-2"))] == [2, 1]
    assert resolve(LOG, "ANN").key == "o-3"


def test_an_accounts_carried_records_show_under_its_row() -> None:
    subject = resolve(LOG, "x-1")
    rows = select(LOG, subject)
    data = as_json(LOG, subject, rows, len(rows))
    assert isinstance(data, dict)
    (only,) = data["rows"]
    assert only["related"] == [
        {
            "object": "deal",
            "record_id": "d1",
            "from": "o-1",
            "to": "o-2",
            "result": "applied",
            "reason": "",
            "found": None,
            "error": "",
            "at": "t",
        }
    ]
    text = as_text(LOG, subject, rows, len(rows)).splitlines()
    assert text[0] == "audit of account x-1, profile p: 1 rows"
    assert text[3] == "    deal d1: o-1 -> o-2: applied"
