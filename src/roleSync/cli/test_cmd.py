"""`rolesync test`: run rule unit tests (`*.test.yaml`), as text or as JUnit XML for CI."""

from __future__ import annotations

import argparse
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from roleSync.cli.common import Subparsers, out
from roleSync.errors import Diagnostic, ExitCode, InputError

if TYPE_CHECKING:
    from roleSync.rules.testing import RuleTestResult

DEFAULT_TESTS = Path("rules/tests")
# Characters XML 1.0 cannot carry at all, even escaped; a test name could hold one.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def register(sub: Subparsers) -> None:
    test = sub.add_parser("test", help="run rule unit tests (*.test.yaml)")
    test.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[DEFAULT_TESTS],
        metavar="PATH",
        help="test files or folders (a folder: its *.test.yaml files, recursively; "
        f"default: {DEFAULT_TESTS})",
    )
    test.add_argument(
        "--run",
        type=_pattern,
        metavar="PATTERN",
        help="only the tests whose name matches this regular expression",
    )
    test.add_argument(
        "--format",
        choices=("text", "junit"),
        default="text",
        help="text for people, junit for CI (XML on stdout) (default: %(default)s)",
    )
    test.set_defaults(handler=run_tests)


def _pattern(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"not a regular expression: {exc}") from None


@dataclass(slots=True)
class FileOutcome:
    """One test file: the results of its selected tests, or why it could not run."""

    path: str
    results: list[RuleTestResult] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)


def _run_files(paths: Sequence[Path], pattern: re.Pattern[str] | None) -> list[FileOutcome]:
    from roleSync.rules.testing import discover_test_files, load_test_file, run_suite

    files, missing = discover_test_files(paths)
    outcomes = [FileOutcome(d.path, problems=[d]) for d in missing]
    for path in files:
        try:
            suite = load_test_file(path)
        except InputError as exc:
            outcomes.append(FileOutcome(str(path), problems=list(exc.diagnostics)))
            continue
        outcomes.append(FileOutcome(suite.path, results=run_suite(suite, pattern)))
    return outcomes


def _text_report(outcomes: Sequence[FileOutcome]) -> None:
    for outcome in outcomes:
        for result in outcome.results:
            status = "ok  " if result.passed else "FAIL"
            out(f"{status} {result.path}:{result.line}: {result.name}")
            for line in result.failures:
                out(f"  {line}")


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _sub(parent: ET.Element, tag: str, **attributes: str) -> ET.Element:
    return ET.SubElement(parent, tag, {k: _xml(v) for k, v in attributes.items()})


def _junit_suite(root: ET.Element, outcome: FileOutcome) -> None:
    failed = sum(not r.passed for r in outcome.results)
    errors = 1 if outcome.problems else 0
    suite = _sub(
        root,
        "testsuite",
        name=outcome.path,
        tests=str(len(outcome.results) + errors),
        failures=str(failed),
        errors=str(errors),
        skipped="0",
    )
    for result in outcome.results:
        where = {"classname": outcome.path, "file": outcome.path, "line": str(result.line)}
        case = _sub(suite, "testcase", name=result.name, **where)
        if result.failures:
            failure = _sub(case, "failure", message=result.failures[0], type="ExpectationFailed")
            failure.text = _xml("\n".join(result.failures))
    if outcome.problems:
        # An invalid file is an error (not a failure), so CI shows it even though no test ran.
        case = _sub(suite, "testcase", name="(invalid test file)", classname=outcome.path)
        error = _sub(case, "error", message="invalid test file", type="InputError")
        error.text = _xml("\n".join(str(d) for d in outcome.problems))


def junit_xml(outcomes: Sequence[FileOutcome]) -> str:
    """A JUnit XML document: one testsuite per test file, one testcase per test."""
    root = ET.Element("testsuites", {"name": "rolesync test"})
    for outcome in outcomes:
        if outcome.results or outcome.problems:  # a file --run selected nothing from is noise
            _junit_suite(root, outcome)
    for total in ("tests", "failures", "errors"):
        root.set(total, str(sum(int(s.get(total, "0")) for s in root)))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def run_tests(args: argparse.Namespace) -> ExitCode:
    pattern: re.Pattern[str] | None = args.run
    outcomes = _run_files(args.paths, pattern)
    results = [r for o in outcomes for r in o.results]
    problems = [d for o in outcomes for d in o.problems]
    for diagnostic in problems:
        print(diagnostic, file=sys.stderr)
    if args.format == "junit":
        sys.stdout.write(junit_xml(outcomes))
    else:
        _text_report(outcomes)
    failed = sum(not r.passed for r in results)
    summary = f"{len(results) - failed} passed, {failed} failed"
    if args.format == "junit":
        print(summary, file=sys.stderr)  # stdout is the XML document and nothing else
    else:
        out(summary)
    invalid = sum(bool(o.problems) for o in outcomes)
    if invalid:
        print(f"rolesync: error: {invalid} test file(s) could not run", file=sys.stderr)
    if not results and pattern is not None:
        print(f"rolesync: error: no test name matches --run {pattern.pattern!r}", file=sys.stderr)
    ok = bool(results) and not failed and not problems
    return ExitCode.OK if ok else ExitCode.INVALID
