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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # syntax
        ("version: 1\nkind: roles\nclassify: [\n", "4:1: error: while parsing a flow"),
        ("version: 1\nkind: roles\nkind: roles\n", '3:1: error: found duplicate key "kind"'),
        # anchors, aliases and tags never build anything
        ("version: 1\nkind: roles\nclassify: &a []\nx: *a\n", "3:11: error: YAML anchors"),
        ("version: 1\nkind: !!python/object roles\n", "2:7: error: YAML tags"),
        ("%YAML 1.1\n---\nversion: 1\n", "error: YAML directives"),
        # structure
        ("version: 1\nkind: rolez\n", "2:7: error: kind is 'rolez'"),
        (ROLES_OK + "    colour: red\n", "7:5: error: unknown key 'colour' [unknown-key]"),
        ("version: 1\nkind: roles\n", "1:1: error: missing required key 'classify' [missing-key]"),
        # types and values
        (
            ROLES_OK.replace("value: 3", 'value: "3"'),
            "6:11: error: classify.0.when: Value error, metric 'won_deals' is a number",
        ),
        (
            ROLES_OK.replace("won_deals", "wins"),
            "6:20: error: classify.0.when.metric: Input should be",
        ),
        (ROLES_OK.replace("gte", "greater"), "6:35: error: classify.0.when.op: Input should be"),
        (ROLES_OK.replace("role: hunter", "role: gardener"), "5:11: error: classify.0.role"),
        # semantics
        (ROLES_OK + "  - id: h\n    role: farmer\n", "7:9: error: duplicate id 'h'"),
        (
            ROLES_OK.replace("metric: won_deals", "field: account.segment"),
            "6:19: error: unknown owner field 'account.segment'",
        ),
        (
            "version: 1\nkind: routing\nroutes:\n  - id: r\n    when: {metric: won_deals, op: gte, "
            "value: 1}\n    assign: {pool: {role: farmer}}\n",
            "5:20: error: routes look at accounts",
        ),
        (
            "version: 1\nkind: routing\nroutes:\n  - id: r\n    assign: {pool: []}\n",
            "5:13: error: routes.0.assign: Value error, the pool names no owner",
        ),
    ],
)
def test_broken_rule_file_gives_positioned_one_line_errors(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    _, model, problems = check_rule_file(path)
    assert model is None
    lines = [str(p) for p in problems]
    assert any(line.startswith(f"{path}:") and expected in line for line in lines), lines
    assert all("\n" not in line and "Traceback" not in line for line in lines)


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "roles.yaml"
    path.write_text(
        ROLES_OK.replace("won_deals", "wins").replace("role: hunter", "role: x")
        + "  - id: h\n    role: farmer\n",
        encoding="utf-8",
    )
    codes = sorted(p.code for p in check_rule_file(path)[2])
    assert codes == ["duplicate-id", "invalid-enum", "invalid-literal-error"]


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
    ]
    assert [r.id for r in rules.routing.routes] == ["enterprise", "everyone-else"]
    assert rules.digest.startswith("sha256:")


def test_a_rule_set_needs_both_files(tmp_path: Path) -> None:
    (tmp_path / "roles.yaml").write_text(ROLES_OK, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_rule_set([tmp_path])
    assert [d.code for d in caught.value.diagnostics] == ["missing-rule-file"]
