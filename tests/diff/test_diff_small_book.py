"""`rolesync diff` on a four-account book whose answer is worked out by hand, and its bad
inputs: a base folder that does not parse, rule sets written for another profile.

The book (tests/csv_book.py): hank won c1..c4's first new-business deals on June 1-4,
2026; ella and emma won nothing. Under THRESHOLD 3, hank (4 wins) hunts and the others
farm, so his four customers go round robin in email order: c1 ella, c2 emma, c3 ella,
c4 emma. Raising the threshold to 5 makes hank a farmer: his accounts stay with him."""

from __future__ import annotations

from pathlib import Path

import pytest
from diff_helpers import diff_json, write_rules

from csv_book import FARMERS_IN_TURN, import_book
from roleSync.cli import main

PROFILE = """\
version: 1
kind: local
name: small
local: {path: book.db}
import:
  owners: {title: null, active: null}
  accounts: {lifecycle: null, segment: null, tier: null, locked: null, created: null,
             updated: null, fields: {industry: region}}
  deals: {kind: null}
guardrails: {max_share: 1.0}
"""
OWNERS = """\
id,name,email
hank,Hank,hank@example.com
ella,Ella,ella@example.com
emma,Emma,emma@example.com
"""
ROUTING = FARMERS_IN_TURN
ROLES = """\
version: 1
kind: roles
classify:
  - id: hunter
    role: hunter
    when: {metric: new_business_won_count, op: gte, value: THRESHOLD}
  - id: farmer
    role: farmer
"""
AS_OF = "2026-07-11"


@pytest.fixture
def book(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(profile, base rules with threshold 3, new rules with threshold 5)."""
    profile, rules = import_book(
        tmp_path, PROFILE, OWNERS, dict.fromkeys(["c1", "c2", "c3", "c4"], ""), ROUTING
    )
    write_rules(rules, roles=ROLES.replace("THRESHOLD", "3"))
    new = write_rules(tmp_path / "new", roles=ROLES.replace("THRESHOLD", "5"), routing=ROUTING)
    return profile, rules, new


def test_raising_the_hunter_threshold_is_a_change_within_the_guardrails(
    book: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, base, new = book
    args = ["-c", str(profile), "-r", str(new), "--base-rules", str(base), "--as-of", AS_OF]
    data = diff_json(capsys, args, expect=6)
    assert [(r["owner_id"], r["base"]["role"], r["new"]["role"]) for r in data["roles"]] == [
        ("hank", "hunter", "farmer")
    ]
    hank = data["roles"][0]
    assert hank["figures"] == {"new_business_won_count": {"base": 4, "new": 4}}
    assert (hank["base"]["rule_id"], hank["new"]["rule_id"]) == ("hunter", "farmer")
    moves = [
        (a["account_id"], a["base"]["fate"], a["base"]["to_owner_id"], a["new"]["fate"])
        for a in data["accounts"]
    ]
    assert moves == [
        ("c1", "moves", "ella", "stays"),
        ("c2", "moves", "emma", "stays"),
        ("c3", "moves", "ella", "stays"),
        ("c4", "moves", "emma", "stays"),
    ]
    assert all(a["owner_id"] == "hank" and a["owner_name"] == "Hank" for a in data["accounts"])
    assert data["routes"] == {"farmers": {"base": 4, "new": 0}}
    assert data["blast_radius"] == {"accounts": 4, "book_accounts": 4, "share": 1.0}
    assert data["totals"]["handoffs"] == {"base": 4, "new": 0}
    assert data["guardrails"]["verdict"] == "pass" and data["guardrails"]["reasons"] == []
    # 1 flip against the base rules, within max_role_changes 10.
    flips = next(
        c for c in data["guardrails"]["checks"] if c["guardrail"] == "role_flips_by_change"
    )
    assert (flips["new"], flips["exceeded"]) == (1, False)


def test_the_text_diff_of_a_threshold_change(
    book: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, base, new = book
    args = ["diff", "-c", str(profile), "-r", str(new), "--base-rules", str(base)]
    assert main([*args, "--as-of", AS_OF]) == 6
    text = capsys.readouterr().out
    assert (
        "1 owner changes role, 4 accounts change handoff (100.0% of the book's 4 accounts); "
        "within the guardrails"
    ) in text
    assert (
        "Hank   hank@example.com  hunter (hunter)  farmer (farmer)  new_business_won_count 4"
        in text
    )
    assert "c2       c2    Hank       moves to Emma (farmers)  stays" in text
    assert "farmers     4    0      -4" in text  # handoffs per route
    assert "Guardrails: a run under the new rules passes them." in text


def test_a_base_folder_that_does_not_parse_is_one_positioned_line_and_exit_1(
    book: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, base, new = book
    (base / "roles.yaml").write_text(
        ROLES.replace("THRESHOLD", "3").replace("op: gte", "op: '>='"), "utf-8"
    )
    capsys.readouterr()
    args = ["diff", "-c", str(profile), "-r", str(new), "--base-rules", str(base)]
    assert main([*args, "--as-of", AS_OF]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{base / 'roles.yaml'}:6:") and ": error: " in lines[0]


def test_rule_sets_written_for_another_profile_are_refused(
    book: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The base rules route on `account.fields.arr`, a field of another CRM's profile:
    this profile maps only `industry`. Compared anyway, every account would read as
    having no such field; refused at the field instead, like `check -c` does."""
    profile, base, new = book
    other = ROUTING.replace(
        "  - id: farmers\n",
        "  - id: farmers\n    when: {field: account.fields.arr, op: gt, value: 0}\n",
    )
    write_rules(base, routing=other)
    capsys.readouterr()
    args = ["diff", "-c", str(profile), "-r", str(new), "--base-rules", str(base)]
    assert main([*args, "--as-of", AS_OF]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{base / 'routing.yaml'}:6:19: error: the connector profile maps no account field "
        "'arr' [unknown-field]"
    ]
    # The same routing as new rules, against base rules that fit: refused as well.
    write_rules(base, routing=ROUTING)
    write_rules(new, routing=other)
    assert main(["diff", "-c", str(profile), "-r", str(new), "--base-rules", str(base)]) == 1
    assert "maps no account field 'arr'" in capsys.readouterr().err


def test_base_rules_and_base_ref_are_one_or_the_other(
    book: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, _base, new = book
    with pytest.raises(SystemExit) as stop:
        main(["diff", "-c", str(profile), "-r", str(new)])
    assert stop.value.code == 2
    assert "one of the arguments --base-rules --base-ref is required" in capsys.readouterr().err
