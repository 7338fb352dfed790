"""Rule files: positioned errors for broken files, and loading the shipped ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleSync.errors import InputError
from roleSync.resources import shipped_rules_dir
from roleSync.rules.ruleset import check_rule_file, load_rule_set

ROLES_OK = """\
version: 1
kind: roles
classify:
  - id: h
    role: hunter
    when: {metric: won_deals, op: gte, value: 3}
"""


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "roles.yaml"
    path.write_text(
        ROLES_OK.replace("won_deals", "wins").replace("role: hunter", "role: x")
        + "  - id: h\n    role: farmer\n",
        encoding="utf-8",
    )
    codes = sorted(p.code for p in check_rule_file(path)[2])
    assert codes == ["duplicate-id", "unknown-value", "unknown-value"]


def test_non_utf8_and_oversized_files_are_refused_cleanly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"version: 1\nkind: \xff\n")
    assert [str(p) for p in check_rule_file(bad)[2]] == [
        f"{bad}:2:7: error: file is not valid UTF-8 [not-utf8]"
    ]
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (2 * 1024 * 1024))
    assert check_rule_file(big)[2][0].code == "file-too-large"


def test_shipped_rules_load_as_one_rule_set() -> None:
    rules = load_rule_set([shipped_rules_dir()])
    assert [r.id for r in rules.roles.classify] == [
        "hunter-by-deal-mix",
        "farmer-by-deal-mix",
        "no-clear-mix",
    ]
    assert [r.id for r in rules.routing.routes] == ["enterprise", "everyone-else"]
    assert rules.digest.startswith("sha256:")


def test_a_rule_set_needs_both_files(tmp_path: Path) -> None:
    (tmp_path / "roles.yaml").write_text(ROLES_OK, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_rule_set([tmp_path])
    assert [d.code for d in caught.value.diagnostics] == ["missing-rule-file"]
