"""`rolesync check` validates rule tests too, without running them."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleSync.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_rule_tests_check_clean(capsys: pytest.CaptureFixture[str]) -> None:
    tests = ROOT / "rules" / "tests"
    # triggers/, tasks/, weighted/, overflow/, territory/, availability/, metrics/: the rule
    # files those scenarios run under, checked beside them.
    names = ("triggers", "tasks", "weighted", "overflow", "territory", "availability", "metrics")
    folders = [str(tests / n) for n in names]
    assert main(["check", "--strict", str(tests), *folders]) == 0
    assert capsys.readouterr().out.strip() == "checked 16 files: 0 errors, 0 warnings"


def test_a_broken_rule_test_is_reported_at_its_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = ROOT / "rules"
    broken = tmp_path / "bad.test.yaml"
    broken.write_text(
        f"rule_files: [{rules / 'roles.yaml'}, {rules / 'routing.yaml'}]\n"
        "now: 2026-06-30\n"
        "tests:\n"
        "  - name: x\n"
        "    book: {owners: [{id: a}], accounts: [], deals: []}\n"
        "    expect: {rolez: {a: hunter}}\n",
        encoding="utf-8",
    )
    assert main(["check", str(broken)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{broken}:6:14: error: unknown key 'rolez'; did you mean 'roles'? [unknown-key]"
    ]
