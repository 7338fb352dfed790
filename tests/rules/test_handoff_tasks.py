"""routing.yaml `tasks` (issue 14): the schema, the placeholder scanner, and `check`'s
positioned errors inside the text (file:line:col of the offending placeholder or brace,
did-you-mean for placeholders)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from roleSync.cli import main
from roleSync.errors import InputError
from roleSync.rules.loader import load_yaml_text, validate
from roleSync.rules.schema import Handoff, RoutingFile
from roleSync.rules.task_template import (
    PLACEHOLDERS,
    Placeholder,
    TemplateError,
    cut,
    fill,
    parse_template,
)

ROUTING = """\
version: 1
kind: routing
handoffs:
  - id: first-win
    tasks:
{tasks}
routes:
  - id: all
    assign: {{pool: {{role: farmer}}}}
"""


def _check(tmp_path: Path, tasks: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    rules = tmp_path / "routing.yaml"
    rules.write_text(ROUTING.format(tasks=tasks))
    code = main(["check", str(rules)])
    captured = capsys.readouterr()
    prefix = f"{rules}:"
    lines = [
        line.removeprefix(prefix)
        for line in (captured.out + captured.err).splitlines()
        if line.startswith(prefix)
    ]
    return code, lines


# -- the scanner ---------------------------------------------------------------------------


def test_the_scanner_splits_literals_and_placeholders_and_unescapes_doubled_braces() -> None:
    assert parse_template("Hi {new_owner}, {{x}} }} {account}") == (
        "Hi ",
        Placeholder("new_owner"),
        ", {x} } ",
        Placeholder("account"),
    )
    assert parse_template("") == ()
    assert parse_template("{{{account}}}") == ("{", Placeholder("account"), "}")
    values = dict.fromkeys(PLACEHOLDERS, "V") | {"account": "{due_date}"}
    assert fill(parse_template("{account}/{due_date}"), values) == "{due_date}/V"


@pytest.mark.parametrize(
    ("text", "offset", "token", "code"),
    [
        ("Hi {acount}", 3, "{acount}", "unknown-placeholder"),
        ("{0.__class__}", 0, "{0.__class__}", "unknown-placeholder"),
        ("{}", 0, "{}", "unknown-placeholder"),
        ("ok {account} {", 13, "{", "unbalanced-brace"),
        ("{account {route}", 0, "{", "unbalanced-brace"),
        ("a } b", 2, "}", "unbalanced-brace"),
        ("{{account}", 9, "}", "unbalanced-brace"),
    ],
)
def test_the_scanner_refuses_unknown_placeholders_and_stray_braces(
    text: str, offset: int, token: str, code: str
) -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template(text)
    assert (caught.value.offset, caught.value.token, caught.value.code) == (offset, token, code)


def test_unknown_placeholders_suggest_the_closest_or_list_them_all() -> None:
    with pytest.raises(TemplateError, match=r"did you mean \{previous_owner\}\?"):
        parse_template("{previous_ownr}")
    with pytest.raises(TemplateError, match=r"known: \{account\}, \{account_id\}, "):
        parse_template("{zzz}")


def test_cut_keeps_short_text_and_ends_long_text_with_an_ellipsis() -> None:
    assert cut("abc", 3) == "abc"
    assert cut("abcd", 3) == "ab…"


# -- the schema ----------------------------------------------------------------------------


def test_a_block_with_tasks_validates_with_its_defaults() -> None:
    block = Handoff.model_validate({"tasks": {"new_owner": {"subject": "Hi {account}"}}})
    assert block.tasks is not None
    assert (block.tasks.new_owner.body, block.tasks.new_owner.due_in_days) == ("", 0)
    assert block.tasks.previous_owner is None
    assert Handoff().tasks is None


@pytest.mark.parametrize(
    "tasks",
    [
        {},  # new_owner is required
        {"new_owner": {"subject": ""}},
        {"new_owner": {"subject": "x" * 256}},
        {"new_owner": {"subject": "x", "body": "x" * 32_001}},
        {"new_owner": {"subject": "x", "due_in_days": -1}},
        {"new_owner": {"subject": "x", "due_in_days": 366}},
        {"new_owner": {"subject": "x", "due_in_days": "3"}},
        {"new_owner": {"subject": "x"}, "previous": {"subject": "y"}},
        {"new_owner": {"subject": "x", "assignee": "me"}},
    ],
)
def test_the_schema_refuses_malformed_tasks(tasks: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Handoff.model_validate({"tasks": tasks})


def test_the_boundaries_of_due_in_days_and_the_subject_are_accepted() -> None:
    for days in (0, 365):
        Handoff.model_validate(
            {"tasks": {"new_owner": {"subject": "x" * 255, "due_in_days": days}}}
        )


def test_the_json_schema_describes_tasks() -> None:
    schema = RoutingFile.model_json_schema()
    spec = schema["$defs"]["TaskSpec"]["properties"]
    assert spec["due_in_days"]["maximum"] == 365 and spec["due_in_days"]["minimum"] == 0
    assert "{trigger_date}" in spec["subject"]["description"]
    assert "tasks" in schema["$defs"]["Handoff"]["properties"]


# -- check: positioned errors --------------------------------------------------------------


def test_check_points_at_the_unknown_placeholder_inside_the_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = '      new_owner: {subject: "Welcome {acount} ({trigger})", due_in_days: 3}'
    code, lines = _check(tmp_path, tasks, capsys)
    assert code == 1
    assert lines == [
        "6:37: error: handoffs.0.tasks.new_owner.subject: unknown placeholder {acount}; "
        "did you mean {account}? [unknown-placeholder]"
    ]


def test_check_points_inside_block_scalars_and_at_the_repeat_that_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = (
        "      new_owner:\n"
        "        subject: Hello {{team}} {new_owner}\n"
        "        body: |\n"
        "          {previous_owner} handed {account} to you.\n"
        "          Call {account} before {due_date} {\n"
        "      previous_owner:\n"
        "        subject: 'Introduce {new_owner} to {acount}'\n"
    )
    code, lines = _check(tmp_path, tasks, capsys)
    assert code == 1
    assert lines == [
        "10:44: error: handoffs.0.tasks.new_owner.body: unbalanced '{': close the "
        "placeholder with '}', or write '{{' for a literal brace [unbalanced-brace]",
        "12:44: error: handoffs.0.tasks.previous_owner.subject: unknown placeholder "
        "{acount}; did you mean {account}? [unknown-placeholder]",
    ]


def test_check_refuses_unknown_keys_and_due_days_out_of_range_at_their_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = (
        "      new_owner: {subject: 'Hi } there', due_in_days: 366}\n"
        "      previos_owner: {subject: Hello}\n"
    )
    code, lines = _check(tmp_path, tasks, capsys)
    assert code == 1
    assert lines == [
        "6:32: error: handoffs.0.tasks.new_owner.subject: unbalanced '}': write '}}' for a "
        "literal brace [unbalanced-brace]",
        "6:55: error: handoffs.0.tasks.new_owner.due_in_days: Input should be less than or "
        "equal to 365 [out-of-range]",
        "7:7: error: unknown key 'previos_owner'; did you mean 'previous_owner'? [unknown-key]",
    ]


def test_a_message_quoting_the_users_braces_is_never_formatted_again() -> None:
    text = ROUTING.format(tasks="      new_owner: {subject: 'x {message} {offset} {token}'}")
    with pytest.raises(InputError) as caught:
        validate(load_yaml_text(text, "r.yaml"), RoutingFile)
    (problem,) = caught.value.diagnostics
    assert (problem.line, problem.col) == (6, 31)
    assert "unknown placeholder {message}; known: {account}" in problem.message


def test_a_valid_tasks_block_checks_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = (
        "      new_owner:\n"
        '        subject: "Welcome {account} ({trigger}) {{vip}}"\n'
        '        body: "{previous_owner} handed {account_id} to {new_owner} on {trigger_date}'
        ' by route {route}; due {due_date}"\n'
        "        due_in_days: 3\n"
    )
    code, lines = _check(tmp_path, tasks, capsys)
    assert (code, lines) == (0, [])


# -- rule tests: `expect: tasks` -------------------------------------------------------------

SHIPPED = Path(__file__).resolve().parents[2] / "rules" / "tests"


def _shipped_tasks_test(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """A copy of the shipped tasks.test.yaml with `edits` (old, new) made, in `tmp_path`."""
    text = (SHIPPED / "tasks.test.yaml").read_text(encoding="utf-8")
    rules = f"rule_files: [{SHIPPED.parent / 'roles.yaml'}, {SHIPPED / 'tasks' / 'routing.yaml'}]"
    for old, new in (("rule_files: [../roles.yaml, tasks/routing.yaml]", rules), *edits):
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "copy.test.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_rule_tests_assert_tasks_and_say_what_differs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test", str(SHIPPED / "tasks.test.yaml")]) == 0
    assert "2 passed, 0 failed" in capsys.readouterr().out
    path = _shipped_tasks_test(
        tmp_path,
        ("due: 2026-07-03", "due: 2026-07-04"),
        ("{for: previous_owner, owner: hank,", "{for: previous_owner, owner: fran,"),
        ("        recent: []", "        recent: [{for: new_owner}]"),
    )
    assert main(["test", str(path)]) == 1
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("  tasks.")] == [
        "  tasks.acme.0.due: expected 2026-07-04, got 2026-07-03",
        "  tasks.acme.1.owner: expected fran@example.com, got hank@example.com",
        "  tasks.recent: expected 1 tasks, got 0 (skipped handoff-pending: first new business "
        "won 2026-06-20; handoff due 2026-07-04)",
    ]


def test_rule_tests_refuse_tasks_of_unknown_accounts_and_owners(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _shipped_tasks_test(
        tmp_path, ("        recent: []", "        nobody: [{for: new_owner, owner: zed}]")
    )
    assert main(["test", str(path)]) == 1
    assert capsys.readouterr().err.splitlines()[:2] == [
        f"{path}:36:9: error: no account 'nobody' in the book [unknown-account]",
        f"{path}:36:42: error: no owner 'zed' in the book [unknown-owner]",
    ]
