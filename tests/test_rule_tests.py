"""`rolesync test`: the shipped rule tests pass, failures explain themselves, bad files are
reported with positions, and JUnit output is a document CI can read."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from roleSync.cli import main
from roleSync.plan import SkipCode
from roleSync.rules.testing import load_test_file
from roleSync.rules.testing_schema import RuleTestFile, SkipCodeName

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
SHIPPED_TESTS = RULES / "tests"
THREE_CUSTOMERS = SHIPPED_TESTS / "books" / "three-new-customers.yaml"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$", re.MULTILINE)
ROUND_ROBIN_TEST = "a hunter's new customers go round the farmers in turn"


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main(["test", *(str(a) for a in argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def summary(out: str) -> tuple[int, int]:
    found = SUMMARY.findall(out)
    assert len(found) == 1, out
    return int(found[0][0]), int(found[0][1])


def write_test(folder: Path, body: str, name: str = "t.test.yaml") -> Path:
    """A test file on the shipped rules; `body` starts on line 3 with `tests:`."""
    path = folder / name
    header = f"rule_files: [{RULES / 'roles.yaml'}, {RULES / 'routing.yaml'}]\nnow: 2026-06-30\n"
    path.write_text(header + body, encoding="utf-8")
    return path


@pytest.fixture
def broken_copy(tmp_path: Path) -> Path:
    """The shipped rules and tests, copied, with one wrong farmer in the round-robin test."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    test_file = rules / "tests" / "routing.test.yaml"
    text = test_file.read_text(encoding="utf-8")
    right = "owners: {acme: fran@example.com, globex: fred@example.com"
    assert right in text
    test_file.write_text(text.replace(right, right.replace("acme: fran", "acme: fred")))
    return test_file


def test_the_shipped_rule_tests_pass(capsys: pytest.CaptureFixture[str]) -> None:
    expected = sum(len(load_test_file(p).tests) for p in SHIPPED_TESTS.glob("*.test.yaml"))
    assert expected >= 17
    code, out, err = run(capsys, SHIPPED_TESTS)
    assert (code, err) == (0, "")
    assert summary(out) == (expected, 0)
    assert out.count("\nok   ") + out.startswith("ok   ") == expected
    assert f"ok   {SHIPPED_TESTS / 'routing.test.yaml'}:7: {ROUND_ROBIN_TEST}\n" in out
    assert "FAIL" not in out


def test_a_wrong_expectation_fails_with_the_plans_reason(
    capsys: pytest.CaptureFixture[str], broken_copy: Path
) -> None:
    code, out, _ = run(capsys, broken_copy)
    assert code == 1
    assert (
        f"FAIL {broken_copy}:7: {ROUND_ROBIN_TEST}\n"
        "  owners.acme: expected fred@example.com, got fran@example.com (owner is a hunter; "
        "first new business won 2026-04-01, handoff due 2026-04-15; route everyone-else: "
        "round robin, turn 1 of 2 in the pool)\n"
        f"ok   {broken_copy}:16: round robin continues where the previous run stopped\n"
    ) in out
    passed, failed = summary(out)
    assert failed == 1 and passed >= 9
    assert out.rstrip("\n").splitlines()[-1] == f"{passed} passed, 1 failed"


def test_every_kind_of_expectation_reports_expected_and_actual(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_test(
        tmp_path,
        f"""\
tests:
  - name: everything wrong
    book_file: {THREE_CUSTOMERS}
    now: 2026-04-16
    expect:
      roles: {{hank: farmer}}
      owners: {{initech: fran, umbrella: fred}}
      handoffs: 3
      skipped: {{acme: locked, initech: {{code: handoff-pending, reason_contains: "due 04-17"}},
                 globex: null}}
      metrics: {{hank@example.com: {{won_deals: 4, new_business_share: null, win_rate: 1.0}}}}
      rules: {{hank: farmer-by-deal-mix, acme: enterprise, initech: everyone-else}}
""",
    )
    code, out, _ = run(capsys, path)
    assert code == 1
    pending = "skipped handoff-pending: first new business won 2026-04-03; handoff due 2026-04-17"
    moved = (
        "owner is a hunter; first new business won 2026-04-01, handoff due 2026-04-15; "
        "route everyone-else: round robin, turn 1 of 2 in the pool"
    )
    assert out.splitlines() == [
        f"FAIL {path}:4: everything wrong",
        "  roles.hank: expected farmer, got hunter (hunter-by-deal-mix: new_business_share=1, "
        "new_business_won_count=4)",
        f"  owners.initech: expected fran@example.com, got hank@example.com ({pending})",
        "  owners.umbrella: expected fred@example.com, got hank@example.com "
        "(not handed off: no new business won by 2026-04-16)",
        "  handoffs: expected 3, got 2 (acme -> fran@example.com, globex -> fred@example.com)",
        f"  skipped.acme: expected locked, got not skipped ({moved})",
        "  skipped.initech.reason: expected to contain 'due 04-17', got "
        "'first new business won 2026-04-03; handoff due 2026-04-17'",
        "  metrics.hank@example.com.new_business_share: expected null, got 1.0",
        "  rules.hank: expected farmer-by-deal-mix, got hunter-by-deal-mix "
        "(hunter-by-deal-mix: new_business_share=1, new_business_won_count=4)",
        f"  rules.acme: expected enterprise, got everyone-else ({moved})",
        f"  rules.initech: expected everyone-else, got null ({pending})",
        "0 passed, 1 failed",
    ]


def test_numbers_match_within_a_relative_tolerance(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    body = f"""\
tests:
  - name: close enough
    book_file: {THREE_CUSTOMERS}
    expect:
      metrics: {{fran: {{won_amount: 30000.00000001, new_business_share: 0.0}}}}
  - name: too far
    book_file: {THREE_CUSTOMERS}
    expect:
      metrics: {{fran: {{won_amount: 30000.0001}}}}
"""
    code, out, _ = run(capsys, write_test(tmp_path, body))
    assert code == 1
    assert "  metrics.fran.won_amount: expected 30000.0001, got 30000.0\n" in out
    assert summary(out) == (1, 1)


def test_run_selects_tests_by_regular_expression(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, SHIPPED_TESTS, "--run", r"onboard|^a locked")
    assert code == 0
    assert [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("ok")] == [
        "the hunter keeps a new customer for the 14 days of onboarding",
        "a locked account is never moved",
    ]
    assert summary(out) == (2, 0)


def test_a_pattern_matching_no_test_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, SHIPPED_TESTS, "--run", "no such test")
    assert code == 1
    assert summary(out) == (0, 0)
    assert "rolesync: error: no test name matches --run 'no such test'" in err


def test_a_bad_pattern_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["test", str(SHIPPED_TESTS), "--run", "(unclosed"])
    assert exited.value.code == 2
    assert "not a regular expression" in capsys.readouterr().err


def test_junit_output_is_a_document_with_counts_and_the_diff(
    capsys: pytest.CaptureFixture[str], broken_copy: Path
) -> None:
    code, out, err = run(capsys, broken_copy.parent, "--format", "junit")
    assert code == 1
    root = ET.fromstring(out)  # stdout is the document and nothing else
    passed, failed = summary(err)
    assert failed == 1
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == (
        str(passed + 1),
        "1",
        "0",
    )
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    routing = suites[str(broken_copy)]
    assert routing.get("failures") == "1"
    assert len(routing.findall("testcase")) == int(routing.get("tests", "-1"))
    [failure] = root.iter("failure")
    case = next(c for c in routing.iter("testcase") if c.find("failure") is not None)
    assert (case.get("name"), case.get("classname")) == (ROUND_ROBIN_TEST, str(broken_copy))
    assert (failure.get("message") or "").startswith(
        "owners.acme: expected fred@example.com, got fran@example.com"
    )
    assert (failure.text or "").startswith("owners.acme: expected fred@example.com")


def test_junit_reports_an_invalid_file_as_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_test(tmp_path, "tests: [{name: x, book: {}, expect: {}, colour: red}]\n")
    code, out, _ = run(capsys, path, "--format", "junit")
    assert code == 1
    [error] = ET.fromstring(out).iter("error")
    assert f"{path}:3:41: error: unknown key 'colour' [unknown-key]" in (error.text or "")


BOOK = """\
    book:
      owners: [{id: hank, email: hank@example.com}]
      accounts: [{id: acc-1, owner: hank}]
      deals: [{id: d1, account: acc-1, closed: 2026-01-10}]
"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "tests:\n  - name: x\n    colour: red\n" + BOOK + "    expect: {}\n",
            "5:5: error: unknown key 'colour' [unknown-key]",
            id="unknown-key",
        ),
        pytest.param(
            "tests:\n  - name: x\n    now: 2026-02-30\n" + BOOK + "    expect: {}\n",
            "5:10: error: tests.0.now: Input should be a valid date or datetime, "
            "day value is outside expected range [invalid-date]",
            id="impossible-date",
        ),
        pytest.param(
            "tests:\n  - name: x\n    now: 'June 30'\n" + BOOK + "    expect: {}\n",
            "5:10: error: tests.0.now: Input should be a valid date",
            id="not-a-date",
        ),
        pytest.param(
            "tests:\n  - name: x\n"
            + BOOK.replace("account: acc-1", "account: acc-2")
            + "    expect: {}\n",
            "8:33: error: no account 'acc-2' in the book [unknown-account]",
            id="deal-on-missing-account",
        ),
        pytest.param(
            "tests:\n  - name: x\n"
            + BOOK.replace("owner: hank", "owner: hnak")
            + "    expect: {}\n",
            "7:37: error: no owner 'hnak' in the book [unknown-owner]",
            id="account-of-missing-owner",
        ),
        pytest.param(
            "tests:\n  - name: x\n" + BOOK + "    expect: {roles: {ana@example.com: hunter}}\n",
            "9:22: error: no owner 'ana@example.com' in the book [unknown-owner]",
            id="expectation-about-missing-owner",
        ),
        pytest.param(
            "tests:\n  - name: x\n" + BOOK + "    rotation: {emea: hank}\n    expect: {}\n",
            "9:16: error: no route 'emea' in the rules; known: enterprise, everyone-else "
            "[unknown-rule]",
            id="rotation-of-missing-route",
        ),
        pytest.param(
            "tests:\n  - name: x\n"
            + BOOK.replace("closed: 2026-01-10", "status: lost")
            + "    expect: {}\n",
            "8:15: error: tests.0.book.deals.0: a lost deal needs its close date",
            id="lost-deal-without-close-date",
        ),
        pytest.param(
            "tests:\n  - name: x\n    book_file: b.yaml\n" + BOOK + "    expect: {}\n",
            "4:5: error: tests.0: give exactly one of 'book' or 'book_file'",
            id="book-and-book-file",
        ),
        pytest.param(
            "tests:\n  - name: x\n"
            + BOOK
            + "    expect: {}\n  - name: x\n"
            + BOOK
            + "    expect: {}\n",
            "10:11: error: test name 'x' is already used on line 4 [duplicate-name]",
            id="duplicate-name",
        ),
    ],
)
def test_malformed_test_files_give_positioned_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, body: str, expected: str
) -> None:
    path = write_test(tmp_path, body)
    code, out, err = run(capsys, path)
    assert code == 1
    assert f"{path}:{expected}" in err, err
    assert "Traceback" not in err
    assert summary(out) == (0, 0)


def test_a_missing_rule_file_is_reported_at_its_entry(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "t.test.yaml"
    path.write_text(
        f"rule_files: [{RULES / 'roles.yaml'}, ../routing.yaml]\nnow: 2026-06-30\n"
        "tests:\n  - name: x\n" + BOOK + "    expect: {}\n"
    )
    code, _, err = run(capsys, path)
    assert code == 1
    column = len(f"rule_files: [{RULES / 'roles.yaml'}, ") + 1
    shown = tmp_path.parent / "routing.yaml"
    assert f"{path}:1:{column}: error: rule file not found: {shown} [file-missing]" in err


def test_a_book_file_is_checked_once_with_its_own_positions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "book.yaml").write_text("owners: [{id: hank}]\naccounts: [{id: a, owner: bob}]\n")
    body = "tests:\n" + "".join(
        f"  - name: t{i}\n    book_file: book.yaml\n    expect: {{}}\n" for i in range(2)
    )
    code, _, err = run(capsys, write_test(tmp_path, body))
    assert code == 1
    book = tmp_path / "book.yaml"
    assert err.count(f"{book}:2:") == 1
    assert f"{book}:2:27: error: no owner 'bob' in the book [unknown-owner]" in err


def test_missing_paths_and_folders_without_tests_are_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, tmp_path / "nope.test.yaml", tmp_path)
    assert code == 1
    assert f"{tmp_path / 'nope.test.yaml'}: error: no such file or folder [file-missing]" in err
    assert f"{tmp_path}: error: no *.test.yaml files here [no-tests]" in err
    assert summary(out) == (0, 0)


def test_an_invalid_file_fails_the_run_even_when_the_others_pass(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = write_test(tmp_path, "tests: []\n")
    code, out, err = run(capsys, SHIPPED_TESTS / "roles.test.yaml", bad)
    assert code == 1
    assert summary(out)[1] == 0
    assert f"{bad}:3:8: error: tests: List should have at least 1 item" in err


def test_the_test_file_model_has_a_described_json_schema() -> None:
    schema = RuleTestFile.model_json_schema()
    assert set(schema["required"]) == {"rule_files", "now", "tests"}
    for name, model in schema["$defs"].items():
        for field, spec in model.get("properties", {}).items():
            assert spec.get("description"), f"{name}.{field} has no description"
    assert {c.value for c in SkipCodeName} == {
        v for k, v in vars(SkipCode).items() if not k.startswith("_")
    }
