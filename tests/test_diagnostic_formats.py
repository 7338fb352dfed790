"""`rolesync check --format ...`: every format parsed back by a strict reader, and exit codes."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

import roleSync
from roleSync.cli import main
from roleSync.diagnostic_formats import (
    exit_code_for,
    render_github,
    render_json,
    render_junit,
    render_sarif,
    render_step_summary,
    render_text,
    summary_line,
)
from roleSync.errors import Diagnostic, ExitCode, Severity

ROOT = Path(__file__).resolve().parents[1]
SARIF_SCHEMA = json.loads((ROOT / "tests/data/sarif-schema-2.1.0.json").read_text())

ERR = Diagnostic("rules/roles.yaml", 3, 11, Severity.ERROR, "classify: too short", "empty")
WARN = Diagnostic("rules/routing.yaml", 7, 0, Severity.WARNING, "route never matches", "dead")
WHOLE = Diagnostic("connectors/gone.yaml", 0, 0, Severity.ERROR, "no such file", "file-missing")
# Everything the escaping rules exist for: %, the property separators, newlines, and an
# already-escaped-looking sequence that must come back literally.
NASTY = Diagnostic(
    "rules/odd, name:1.yaml",
    2,
    5,
    Severity.WARNING,
    "100% sure: a, b\nnext line\r\nand %0A stays | literal",
    "weird:code,x",
)
BROKEN_ROLES = "version: 1\nkind: roles\nclassify: []\n"


# -- verdict and text ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("diagnostics", "strict", "expected"),
    [
        ([], False, ExitCode.OK),
        ([], True, ExitCode.OK),
        ([WARN], False, ExitCode.GUARDRAIL),
        ([WARN], True, ExitCode.INVALID),
        ([ERR], False, ExitCode.INVALID),
        ([ERR, WARN], False, ExitCode.INVALID),
    ],
)
def test_exit_code_for(diagnostics: list[Diagnostic], strict: bool, expected: ExitCode) -> None:
    assert exit_code_for(diagnostics, strict) is expected


def test_text_lines_and_summary() -> None:
    assert render_text([ERR, WARN]) == (
        "rules/roles.yaml:3:11: error: classify: too short [empty]\n"
        "rules/routing.yaml:7: warning: route never matches [dead]\n"
    )
    assert render_text([]) == ""
    assert summary_line([WARN], 4, False) == "checked 4 files: 0 errors, 1 warning"
    assert summary_line([ERR, WHOLE], 1, False) == "checked 1 file: 2 errors, 0 warnings"
    assert summary_line([WARN], 4, True) == (
        "checked 4 files: 0 errors, 1 warning (--strict: warnings count as errors)"
    )


# -- JSON ----------------------------------------------------------------------------------


def test_json_round_trips() -> None:
    document = json.loads(render_json([ERR, WARN, NASTY], 5))
    assert document["files_checked"] == 5
    assert (document["errors"], document["warnings"]) == (1, 2)
    back = [
        Diagnostic(d["path"], d["line"], d["col"], Severity(d["severity"]), d["message"], d["code"])
        for d in document["diagnostics"]
    ]
    assert back == [ERR, WARN, NASTY]
    assert set(document["diagnostics"][0]) == {"path", "line", "col", "severity", "message", "code"}
    assert json.loads(render_json([], 0)) == {
        "files_checked": 0,
        "errors": 0,
        "warnings": 0,
        "diagnostics": [],
    }


# -- GitHub workflow commands --------------------------------------------------------------

_COMMAND = re.compile(r"::(?P<command>[a-z]+)(?: (?P<properties>[^:]*))?::(?P<data>.*)")
_DATA_ESCAPES = {"%25": "%", "%0D": "\r", "%0A": "\n"}
_PROPERTY_ESCAPES = {**_DATA_ESCAPES, "%3A": ":", "%2C": ","}


def _unescape(text: str, escapes: dict[str, str]) -> str:
    """One left-to-right pass, so `%250A` is `%0A`, not a newline; a stray `%` is an error."""
    if "\r" in text or "\n" in text:
        raise ValueError(f"raw line break in {text!r}")
    out, i = [], 0
    while i < len(text):
        if text[i] == "%":
            token = text[i : i + 3]
            if token not in escapes:
                raise ValueError(f"bad escape {token!r} in {text!r}")
            out.append(escapes[token])
            i += 3
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_workflow_commands(output: str) -> list[tuple[str, dict[str, str], str]]:
    """(command, properties, message) per line; anything off-grammar raises."""
    commands = []
    for line in output.splitlines():
        match = _COMMAND.fullmatch(line)
        if match is None:
            raise ValueError(f"not a workflow command: {line!r}")
        properties: dict[str, str] = {}
        for item in match["properties"].split(",") if match["properties"] else []:
            key, sep, value = item.partition("=")
            if not sep or not re.fullmatch(r"[A-Za-z]+", key) or key in properties:
                raise ValueError(f"bad property {item!r} in {line!r}")
            properties[key] = _unescape(value, _PROPERTY_ESCAPES)
        commands.append((match["command"], properties, _unescape(match["data"], _DATA_ESCAPES)))
    return commands


def test_github_annotations_exact() -> None:
    # `:` needs no escape in the message, only in property values; col 0 and line 0 vanish.
    assert render_github([ERR, WARN, WHOLE], 3) == (
        "::error file=rules/roles.yaml,line=3,col=11,title=empty::classify: too short\n"
        "::warning file=rules/routing.yaml,line=7,title=dead::route never matches\n"
        "::error file=connectors/gone.yaml,title=file-missing::no such file\n"
    )
    assert render_github([], 3) == ""


def test_github_round_trips_escaped_text() -> None:
    output = render_github([NASTY, ERR], 2)
    assert len(output.splitlines()) == 2  # the newlines in the message stayed escaped
    (command, properties, message), second = parse_workflow_commands(output)
    assert command == "warning"
    assert properties == {
        "file": "rules/odd, name:1.yaml",
        "line": "2",
        "col": "5",
        "title": "weird:code,x",
    }
    assert message == NASTY.message
    assert second == (
        "error",
        {"file": "rules/roles.yaml", "line": "3", "col": "11", "title": "empty"},
        "classify: too short",
    )


def test_github_paths_relative_to_the_workspace(tmp_path: Path) -> None:
    inside = Diagnostic(str(tmp_path / "rules" / "r.yaml"), 1, 1, Severity.ERROR, "m", "c")
    outside = Diagnostic("/elsewhere/r.yaml", 1, 1, Severity.ERROR, "m", "c")
    parsed = parse_workflow_commands(render_github([inside, outside], 2, root=str(tmp_path)))
    assert [p["file"] for _, p, _ in parsed] == ["rules/r.yaml", "/elsewhere/r.yaml"]


def _table_cells(row: str) -> list[str]:
    """A GitHub-flavoured Markdown table row split on unescaped pipes, escapes removed."""
    assert row.startswith("| ") and row.endswith(" |"), row
    cells = re.split(r"(?<!\\) \| ", row[2:-2])
    return [re.sub(r"\\(.)", r"\1", cell).replace("<br>", "\n") for cell in cells]


def test_step_summary_lists_everything() -> None:
    markdown = render_step_summary([ERR, NASTY], 2)
    assert markdown.startswith("\n### rolesync check\n\nchecked 2 files: 1 error, 1 warning\n")
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    assert rows[:2] == ["| Location | Severity | Code | Message |", "| --- | --- | --- | --- |"]
    assert [_table_cells(r) for r in rows[2:]] == [
        ["rules/roles.yaml:3:11", "error", "empty", "classify: too short"],
        [
            "rules/odd, name:1.yaml:2:5",
            "warning",
            "weird:code,x",
            "100% sure: a, b\nnext line\nand %0A stays | literal",
        ],
    ]
    assert "stays \\| literal" in markdown
    clean = render_step_summary([], 3)
    assert clean == "\n### rolesync check\n\nchecked 3 files: 0 errors, 0 warnings\n\n"


# -- JUnit ---------------------------------------------------------------------------------


def _suite(xml: str) -> ET.Element:
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    (suite,) = root
    assert suite.tag == "testsuite" and suite.get("name") == "rolesync check"
    assert {k: root.get(k) for k in ("tests", "failures")} == {
        k: suite.get(k) for k in ("tests", "failures")
    }
    return suite


def test_junit_one_test_per_file_with_failures() -> None:
    files = ["rules/roles.yaml", "rules/routing.yaml", "connectors/ok.yaml"]
    suite = _suite(render_junit([ERR, WARN, WHOLE], 3, files=files))
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "2", "0")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == [*files, "connectors/gone.yaml"]
    assert all(c.get("classname") == name for name, c in cases.items())
    (failure,) = cases["rules/roles.yaml"].findall("failure")
    assert failure.attrib == {"message": "classify: too short", "type": "empty"}
    assert failure.text == str(ERR)
    routing = cases["rules/routing.yaml"]
    assert routing.findall("failure") == []
    assert routing.findtext("system-out") == f"{WARN}\n"
    assert list(cases["connectors/ok.yaml"]) == []
    assert len(cases["connectors/gone.yaml"].findall("failure")) == 1


def test_junit_strict_fails_on_warnings() -> None:
    suite = _suite(render_junit([WARN, NASTY], 2, strict=True, files=["rules/routing.yaml"]))
    assert (suite.get("tests"), suite.get("failures")) == ("2", "2")
    messages = [f.get("message") for f in suite.iter("failure")]
    assert messages == [WARN.message, NASTY.message]  # attributes keep even \r and \n
    assert suite.find(".//system-out") is None


def test_junit_counts_failed_tests_not_failure_elements() -> None:
    second = Diagnostic(ERR.path, 9, 1, Severity.ERROR, "another", "other")
    suite = _suite(render_junit([ERR, second], 1, files=[ERR.path]))
    assert (suite.get("tests"), suite.get("failures")) == ("1", "1")
    assert len(suite.findall(".//failure")) == 2


def test_junit_survives_text_xml_cannot_carry() -> None:
    odd = Diagnostic("r\u00e9gles.yaml", 1, 1, Severity.ERROR, "bell \x07 and <&>", "c")
    xml = render_junit([odd], 1)
    assert xml.isascii()
    (failure,) = _suite(xml).iter("failure")
    assert failure.get("message") == "bell \ufffd and <&>"
    assert _suite(render_junit([], 0)).get("tests") == "0"


# -- SARIF ---------------------------------------------------------------------------------


def _valid_sarif(text: str) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(text)
    jsonschema.Draft4Validator.check_schema(SARIF_SCHEMA)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    return log


def test_sarif_validates_and_says_what_it_found(tmp_path: Path) -> None:
    absolute = Diagnostic(str(tmp_path / "my rules" / "r.yaml"), 4, 2, Severity.ERROR, "m", "empty")
    log = _valid_sarif(
        render_sarif(
            [ERR, WARN, WHOLE, absolute],
            4,
            root=str(tmp_path),
            information_uri="https://example.com/rolesync",
        )
    )
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    assert run["tool"]["driver"] == {
        "name": "rolesync",
        "version": roleSync.__version__,
        "informationUri": "https://example.com/rolesync",
        "rules": [{"id": "dead"}, {"id": "empty"}, {"id": "file-missing"}],
    }
    first, warning, whole, encoded = run["results"]
    assert first == {
        "ruleId": "empty",
        "level": "error",
        "message": {"text": "classify: too short"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": "rules/roles.yaml"},
                    "region": {"startLine": 3, "startColumn": 11},
                }
            }
        ],
    }
    assert warning["level"] == "warning"
    assert warning["locations"][0]["physicalLocation"]["region"] == {"startLine": 7}
    assert "region" not in whole["locations"][0]["physicalLocation"]
    assert encoded["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "my%20rules/r.yaml"
    }


def test_sarif_valid_when_clean_and_when_strange() -> None:
    clean = _valid_sarif(render_sarif([], 3))
    assert clean["runs"][0]["results"] == []
    assert clean["runs"][0]["tool"]["driver"]["rules"] == []
    odd = _valid_sarif(render_sarif([NASTY], 1, strict=True))
    (result,) = odd["runs"][0]["results"]
    assert result["message"]["text"] == NASTY.message
    assert result["level"] == "warning"  # strict changes the exit code, not the facts


def test_sarif_schema_catches_a_broken_log() -> None:
    # Guards the guard: the vendored schema really rejects what it should.
    log = json.loads(render_sarif([ERR], 1))
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)


# -- through the command line --------------------------------------------------------------


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "roles.yaml"
    path.write_text(BROKEN_ROLES)
    return path


def test_cli_text(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shipped = [*(ROOT / "rules").glob("*.yaml"), *(ROOT / "connectors").glob("*.yaml")]
    assert main(["check", str(ROOT / "rules"), str(ROOT / "connectors")]) == 0
    captured = capsys.readouterr()
    expected = f"checked {len(shipped)} files: 0 errors, 0 warnings\n"
    assert (captured.out, captured.err) == (expected, "")
    assert main(["check", str(broken)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "checked 1 file: 1 error, 0 warnings\n"
    (line,) = captured.err.splitlines()
    assert line.startswith(f"{broken}:3:11: error: ") and line.endswith("]")


@pytest.mark.parametrize(
    ("fmt", "parse"),
    [
        ("json", lambda out: json.loads(out)["errors"]),
        ("github", lambda out: len(parse_workflow_commands(out))),
        ("junit", lambda out: int(_suite(out).get("failures") or -1)),
        ("sarif", lambda out: len(_valid_sarif(out)["runs"][0]["results"])),
    ],
)
def test_cli_machine_formats(
    fmt: str,
    parse: Callable[[str], int],
    broken: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert main(["check", "--format", fmt, str(broken), str(ROOT / "rules")]) == 1
    captured = capsys.readouterr()
    assert parse(captured.out) == 1
    assert captured.err == "checked 3 files: 1 error, 0 warnings\n"
    assert main(["check", "--format", fmt, str(ROOT / "rules")]) == 0
    assert parse(capsys.readouterr().out) == 0  # complete and valid with nothing to report


def test_cli_github_appends_the_step_summary(
    broken: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--format", "github", str(broken)]) == 1
    (annotation,) = parse_workflow_commands(capsys.readouterr().out)
    assert annotation[1]["file"] == "roles.yaml"  # relative to the workspace
    text = summary.read_text()
    assert text.startswith("earlier step\n\n### rolesync check\n")
    (row,) = [line for line in text.splitlines() if line.startswith("| roles.yaml")]
    assert _table_cells(row)[:3] == ["roles.yaml:3:11", "error", "empty"]
    assert main(["check", str(broken)]) == 1  # text format leaves the summary alone
    assert summary.read_text() == text


WARNING_ONLY = """\
version: 1
kind: routing
routes:
  - id: emea
    when: {field: account.region, op: eq, value: EMEA}
    assign: {pool: {role: farmer}}
"""


def test_cli_warnings_exit_3_and_strict_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "routing.yaml"
    target.write_text(WARNING_ONLY, encoding="utf-8")  # no fallback route: a warning only
    assert main(["check", str(target)]) == 3
    assert capsys.readouterr().err.splitlines() == [
        f"{target}:3:1: warning: no fallback: accounts that no rule matches are left as they "
        "are; end with a route without `when`, or accept `no-route` skips [no-fallback]"
    ]
    assert main(["check", "--strict", str(target)]) == 1
    assert "(--strict: warnings count as errors)" in capsys.readouterr().out
    assert main(["check", "--strict", "--format", "junit", str(target)]) == 1
    assert _suite(capsys.readouterr().out).get("failures") == "1"
    target.write_text(WARNING_ONLY + "  - id: rest\n    assign: {pool: {role: farmer}}\n")
    assert main(["check", "--strict", str(target)]) == 0


def test_cli_unknown_format_is_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["check", "--format", "xml", "rules"])
    assert usage.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


# -- pre-commit and the GitHub Action ------------------------------------------------------


def _yaml(name: str) -> Any:
    return YAML(typ="safe").load((ROOT / name).read_text())


def test_pre_commit_hooks_pick_the_right_files() -> None:
    hooks = {h["id"]: h for h in _yaml(".pre-commit-hooks.yaml")}
    check, test = hooks["rolesync-check"], hooks["rolesync-test"]
    assert check["entry"] == "rolesync check --strict" and check["pass_filenames"] is True
    assert test["entry"] == "rolesync test rules/tests" and test["pass_filenames"] is False
    assert {h["language"] for h in hooks.values()} == {"python"}

    def picked(path: str) -> bool:
        # pre-commit matches `files` and `exclude` with re.search.
        return bool(re.search(check["files"], path)) and not re.search(check["exclude"], path)

    assert [
        p
        for p in (
            "rules/roles.yaml",
            "connectors/local.example.yml",
            "rules/tests/handoff.test.yaml",
            "rules/roles.test.yml",
            "src/rules/roles.yaml",
            "rules/README.md",
        )
        if picked(p)
    ] == ["rules/roles.yaml", "connectors/local.example.yml"]
    assert re.search(test["files"], "rules/roles.yaml") and not re.search(test["files"], "x/rules")


def test_action_inputs_and_steps() -> None:
    action = _yaml("action.yml")
    assert {k: v["default"] for k, v in action["inputs"].items()} == {
        "paths": "rules connectors",
        "tests": "rules/tests",
        "strict": "true",
        "python-version": "3.11",
        # Review mode's (tests/github/test_action_review.py runs its steps).
        "mode": "check",
        "profile": "",
        "rules": "rules",
        "base-ref": "origin/${{ github.base_ref }}",
        "token": "",
    }
    steps = action["runs"]["steps"]
    assert action["runs"]["using"] == "composite"
    assert steps[1]["uses"].startswith("actions/setup-python@")  # after the mode's check
    scripts = "\n".join(s.get("run", "") for s in steps)
    assert '"$GITHUB_ACTION_PATH"' in scripts
    assert "rolesync check --format github" in scripts and "rolesync test" in scripts
    # Inputs reach the scripts through env, never pasted into the script text.
    assert "${{" not in scripts
