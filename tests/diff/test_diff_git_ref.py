"""`rolesync diff --base-ref`: the base rules read from a git ref of a repository made
here (git init, commit, change, commit), never checked out over the work tree; and the
ref's bad inputs, one line each, exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from diff_helpers import diff_json, git, swap_roles

from csv_book import FARMERS_IN_TURN, import_book, local_profile
from roleSync.cli import main

PROFILE = local_profile("gitbook", extra="guardrails: {max_share: 1.0}\n")
OWNERS = "id,name,email\nhank,Hank,hank@example.com\nella,Ella,ella@example.com\n"
ROUTING = FARMERS_IN_TURN
AS_OF = "2026-07-11"


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    """(profile, rules): a repository whose first commit has the rules as csv_book writes
    them (hank hunts) and whose second swaps hunter and farmer in roles.yaml."""
    profile, rules = import_book(tmp_path, PROFILE, OWNERS, {"c1": "", "c2": ""}, ROUTING)
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "rules")
    git(tmp_path, "commit", "-q", "-m", "rules")
    roles = rules / "roles.yaml"
    roles.write_text(swap_roles(roles.read_text("utf-8")), "utf-8")
    git(tmp_path, "commit", "-q", "-am", "swap")
    return profile, rules


def test_the_base_ref_is_read_with_git_and_the_work_tree_left_alone(
    repo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, rules = repo
    before = {p.name: p.read_bytes() for p in rules.iterdir()}
    head = git(rules, "rev-parse", "HEAD")
    args = ["-c", str(profile), "-r", str(rules), "--base-ref", "HEAD~1", "--as-of", AS_OF]
    data = diff_json(capsys, args, expect=6)
    # hank hunted under HEAD~1 and ella farmed: both flip, and c1, c2 stop moving.
    assert sorted((r["owner_id"], r["base"]["role"], r["new"]["role"]) for r in data["roles"]) == [
        ("ella", "farmer", "hunter"),
        ("hank", "hunter", "farmer"),
    ]
    assert [
        (a["account_id"], a["base"]["to_owner_id"], a["new"]["fate"]) for a in data["accounts"]
    ] == [
        ("c1", "ella", "stays"),
        ("c2", "ella", "stays"),
    ]
    assert data["base"]["rules"] == "HEAD~1:rules"
    assert {p.name: p.read_bytes() for p in rules.iterdir()} == before
    assert git(rules, "rev-parse", "HEAD") == head
    assert git(rules, "status", "--porcelain", "--", ".") == ""  # nothing staged or changed


def test_the_same_rules_at_head_change_nothing(
    repo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, rules = repo
    args = ["-c", str(profile), "-r", str(rules), "--base-ref", "HEAD", "--as-of", AS_OF]
    data = diff_json(capsys, args, expect=0)
    assert data["base"]["digest"] == data["new"]["digest"]
    # A single file given with -r is read at the ref as that file.
    one = ["-c", str(profile), "-r", str(rules / "roles.yaml"), "-r", str(rules / "routing.yaml")]
    data = diff_json(capsys, [*one, "--base-ref", "HEAD~1", "--as-of", AS_OF], expect=6)
    assert data["base"]["rules"] == "HEAD~1:rules/roles.yaml, HEAD~1:rules/routing.yaml"


def run_err(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["diff", *args, "--as-of", AS_OF])
    captured = capsys.readouterr()
    assert captured.out == ""
    return code, captured.err.splitlines()


def test_a_ref_that_does_not_exist(
    repo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, rules = repo
    code, err = run_err(capsys, ["-c", str(profile), "-r", str(rules), "--base-ref", "origin/mian"])
    assert (code, err) == (1, ["rolesync: error: git ref 'origin/mian' not found (git rev-parse)"])


def test_a_ref_that_looks_like_an_option_is_refused(
    repo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, rules = repo
    code, err = run_err(capsys, ["-c", str(profile), "-r", str(rules), "--base-ref=--output=x"])
    assert (code, err) == (
        1,
        ["rolesync: error: refusing git ref '--output=x': a ref does not start with '-'"],
    )


def test_rules_outside_a_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile, rules = import_book(tmp_path, PROFILE, OWNERS, {"c1": ""}, ROUTING)
    code, err = run_err(capsys, ["-c", str(profile), "-r", str(rules), "--base-ref", "HEAD"])
    assert code == 1
    assert err == [
        f"rolesync: error: {rules} is not in a git repository, so there is no ref to read "
        "rules at: use --base-rules PATH"
    ]


def test_rules_at_the_ref_that_do_not_parse_are_named_ref_colon_path(
    repo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, rules = repo
    roles = rules / "roles.yaml"
    good = roles.read_text("utf-8")
    roles.write_text(good.replace("kind: roles", "kind: roles\nclasify: []"), "utf-8")
    git(rules, "commit", "-q", "-am", "typo")
    roles.write_text(good, "utf-8")
    code, err = run_err(capsys, ["-c", str(profile), "-r", str(rules), "--base-ref", "HEAD"])
    assert code == 1
    assert len(err) == 1
    assert err[0].startswith("HEAD:rules/roles.yaml:3:1: error: ")


def test_a_rules_folder_missing_at_the_ref(
    repo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, rules = repo
    newer = rules.parent / "policies"
    newer.mkdir()
    for path in rules.iterdir():
        (newer / path.name).write_bytes(path.read_bytes())
    code, err = run_err(capsys, ["-c", str(profile), "-r", str(newer), "--base-ref", "HEAD"])
    assert (code, err) == (1, ["rolesync: error: HEAD:policies: no such file or folder at HEAD"])


def test_new_rules_that_do_not_exist_are_said_before_any_git_call(
    repo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, rules = repo
    missing = rules.parent / "nope"
    code, err = run_err(capsys, ["-c", str(profile), "-r", str(missing), "--base-ref", "HEAD"])
    assert (code, err) == (
        1,
        [f"{missing}: error: cannot read file: No such file or directory [file-unreadable]"],
    )
