"""Hostile YAML (issue 13): nesting without end in rule files, rule tests, profiles and
fault files is one positioned line, exit 1, refused before the YAML parser builds
anything (it used to end in a RecursionError, or keep `check` busy for minutes), and
each file is parsed once. The timings are measured in benchmarks/yaml_refusals.py."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import roleSync.rules.loader
from roleSync.cli import main
from roleSync.errors import InputError
from roleSync.rules.loader import LoadedYaml, load_yaml_text
from roleSync.yaml_depth import MAX_DEPTH, too_deep

REPO = Path(__file__).resolve().parents[1]
MESSAGE = "YAML nested deeper than 64 levels; refused before parsing [yaml-depth]"

HEAD = "version: 1\nkind: roles\nclassify: "
# name -> (file name, text, line and column where the 65th level opens)
HOSTILE: dict[str, tuple[str, str, int, int]] = {
    "closed-brackets": ("roles.yaml", HEAD + "[" * 1000 + "]" * 1000 + "\n", 3, 10 + 64),
    "open-brackets": ("roles.yaml", HEAD + "[" * 300 + "\n", 3, 10 + 64),
    "flow-mappings": ("local.yaml", "kind: local\nlocal: " + "{a: " * 5000 + "}" * 5000, 2, 260),
    "block-mappings": ("roles.yaml", "".join(" " * i + "a:\n" for i in range(400)), 65, 65),
    "dashes-on-one-line": ("routing.yaml", "kind: routing\nroutes:\n" + "- " * 600 + "x\n", 3, 127),
}


def _check(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["check", str(path)]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    (line,) = captured.err.splitlines()
    return line


@pytest.mark.parametrize("name", HOSTILE)
def test_check_refuses_nesting_without_end_with_one_positioned_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    file_name, text, line, col = HOSTILE[name]
    path = tmp_path / file_name
    path.write_text(text)
    assert _check(path, capsys) == f"{path}:{line}:{col}: error: {MESSAGE}"


def test_sync_with_a_hostile_profile_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "local.yaml"
    profile.write_text("version: 1\nkind: local\nname: x\nlocal: " + "{a: " * 5000 + "}" * 5000)
    capsys.readouterr()
    assert main(["sync", "-c", str(profile), "-r", str(REPO / "rules")]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"{profile}:4:260: error: {MESSAGE}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local.yaml"]  # nothing created


def test_a_rule_test_file_and_the_rule_files_it_names_are_bounded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    deep_test = tests / "deep.test.yaml"
    deep_test.write_text("rule_files: " + "[" * 2000 + "]" * 2000 + "\n")
    assert _check(deep_test, capsys) == f"{deep_test}:1:{12 + 64}: error: {MESSAGE}"
    capsys.readouterr()
    assert main(["test", str(deep_test)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{deep_test}:1:76: error: {MESSAGE}",
        "rolesync: error: 1 test file(s) could not run",
    ]
    # A sound test file naming a rule file nested without end.
    (tmp_path / "roles.yaml").write_text(HOSTILE["closed-brackets"][1])
    shutil.copy(REPO / "rules" / "routing.yaml", tmp_path / "routing.yaml")
    named = tests / "named.test.yaml"
    named.write_text(
        "rule_files: [../roles.yaml, ../routing.yaml]\nnow: 2026-06-30\ntests:\n"
        "  - name: t\n    book: {owners: [], accounts: [], deals: []}\n    expect: {}\n"
    )
    capsys.readouterr()
    assert main(["test", str(named)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'roles.yaml'}:3:74: error: {MESSAGE}" in err.splitlines()


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_a_fault_file_nested_without_end_is_one_line_before_any_server_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], crm: str
) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text('{"seed": ' + "[" * 5000 + "]" * 5000 + "}")
    capsys.readouterr()
    assert main(["emulate", crm, "--port", "0", "--faults", str(faults)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        f"{faults}:1:{9 + 64}: error: YAML nested deeper than 64 levels; refused before "
        "parsing [faults-depth]"
    )


def test_each_file_is_parsed_once_by_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    parsed: list[str] = []
    real: Callable[[str, str], LoadedYaml] = load_yaml_text

    def counting(text: str, display: str) -> LoadedYaml:
        parsed.append(Path(display).name)
        return real(text, display)

    monkeypatch.setattr(roleSync.rules.loader, "load_yaml_text", counting)
    for name in ("roles.yaml", "routing.yaml"):
        shutil.copy(REPO / "rules" / name, tmp_path / name)
    shutil.copy(REPO / "connectors" / "local.example.yaml", tmp_path / "local.yaml")
    assert main(["check", str(tmp_path)]) == 0
    assert sorted(parsed) == ["local.yaml", "roles.yaml", "routing.yaml"]


def test_the_limit_is_64_levels_exactly() -> None:
    # The mapping is a level, its value 63 more: 64 load.
    nested: list[object] = []
    for _ in range(62):
        nested = [nested]
    assert load_yaml_text("a: " + "[" * 63 + "]" * 63, "ok.yaml").data == {"a": nested}
    with pytest.raises(InputError) as refused:
        load_yaml_text("a: " + "[" * 64 + "]" * 64, "deep.yaml")
    # At the 64th bracket, column 3 + 64.
    assert [str(d) for d in refused.value.diagnostics] == [f"deep.yaml:1:67: error: {MESSAGE}"]


@pytest.mark.parametrize(
    "text",
    [
        'a: "' + "[" * 100 + '"\n',  # in a double-quoted scalar
        "a: '" + "{" * 100 + "'\n",  # in a single-quoted scalar
        "a: 1 # " + "[" * 100 + "\n",  # in a comment
        "a: |\n  " + "[" * 100 + "\n  " + "- " * 100 + "x\nb: 2\n",  # in a literal scalar
        "a: it's " + "[" * 100 + "\n",  # inside a plain scalar, not at its start
        "a: 'multi\n  " + "[" * 100 + "\n  line'\nb: 1\n",  # a quoted scalar over lines
    ],
    ids=["double-quoted", "single-quoted", "comment", "block-scalar", "plain", "multi-line"],
)
def test_brackets_in_text_are_no_nesting(text: str) -> None:
    assert too_deep(text) is None
    load_yaml_text(text, "text.yaml")  # loads: no depth refusal


def test_every_shipped_yaml_file_is_far_below_the_limit() -> None:
    files = [
        p
        for folder in ("rules", "connectors", "deploy", "docs", "tests/data")
        for p in sorted((REPO / folder).rglob("*.y*ml"))
    ]
    assert len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert too_deep(text, MAX_DEPTH // 4) is None, path


def test_a_flow_collection_spread_over_lines_counts_too() -> None:
    # 200,000 levels opened one per line: refused at the 65th, the rest never scanned.
    text = "a: [\n" + "[\n" * 200_000
    found = too_deep(text)
    assert found is not None and (found.line, found.column) == (64, 1)  # `a:` is one
    assert re.fullmatch(r"YAML nested deeper than 64 levels; .*", found.message)
