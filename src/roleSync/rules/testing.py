"""Rule unit tests (`rolesync test`), promtool-style: a book in, the plan's decisions checked.

A `*.test.yaml` file names its rule files and holds tests; each test plans a small
book with the real planner (`build_plan`) and compares the outcome with what it
expects. Loading reports every problem of a test file as a positioned Diagnostic,
including references the schema cannot see (a deal on an unknown account, an
expectation about an owner the book does not have), so a typo fails loudly instead
of making a test pass or fail for the wrong reason.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from roleSync.errors import Diagnostic, InputError, Severity
from roleSync.model import Book
from roleSync.plan import PlanInputs, build_plan
from roleSync.rules.classify import CompiledRoles
from roleSync.rules.loader import LoadedYaml, Loc, load_yaml, validate
from roleSync.rules.routes import CompiledRouting
from roleSync.rules.ruleset import RuleSet, load_rule_set
from roleSync.rules.testing_diff import PlanView, unmet_expectations
from roleSync.rules.testing_refs import BookBuilder, ReferenceChecker
from roleSync.rules.testing_schema import (
    BookSpec,
    Expectations,
    RuleTest,
    RuleTestFile,
)

TEST_FILE_PATTERN = "*.test.yaml"
PROFILE = "rule-test"


@dataclass(frozen=True, slots=True)
class RuleTestCase:
    """One test, ready to run: its book built, its references checked."""

    name: str
    line: int
    now: date
    book: Book
    rotation: Mapping[str, str]
    expect: Expectations


@dataclass(frozen=True, slots=True)
class RuleTestSuite:
    """One test file: the rules it tests, compiled once, and its tests."""

    path: str
    rules: RuleSet
    roles: CompiledRoles
    routing: CompiledRouting
    tests: tuple[RuleTestCase, ...]


@dataclass(frozen=True, slots=True)
class RuleTestResult:
    path: str
    line: int
    name: str
    # One line per unmet expectation; empty when the test passed.
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


def _error(path: str, message: str, code: str) -> Diagnostic:
    return Diagnostic(path, 0, 0, Severity.ERROR, message, code)


def discover_test_files(paths: Iterable[Path]) -> tuple[list[Path], list[Diagnostic]]:
    """Files as given; folders contribute their *.test.yaml files, recursively.

    A folder without any test file is an error: a CI gate must not pass by testing nothing.
    """
    found: list[Path] = []
    problems: list[Diagnostic] = []
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob(TEST_FILE_PATTERN) if p.is_file())
            if not files:
                problems.append(_error(str(path), f"no {TEST_FILE_PATTERN} files here", "no-tests"))
            found.extend(files)
        elif path.is_file():
            found.append(path)
        else:
            problems.append(_error(str(path), "no such file or folder", "file-missing"))
    return list(dict.fromkeys(found)), problems


def _beside(test_file: Path, relative: str) -> Path:
    # Normalized so that messages say rules/roles.yaml, not rules/tests/../roles.yaml.
    return Path(os.path.normpath(test_file.parent / relative))


def _load_rules(loaded: LoadedYaml, rule_files: Sequence[str], path: Path) -> RuleSet:
    rule_paths = [_beside(path, entry) for entry in rule_files]
    missing = [
        loaded.diagnostic(("rule_files", index), f"rule file not found: {found}", "file-missing")
        for index, found in enumerate(rule_paths)
        if not found.exists()
    ]
    if missing:
        raise InputError(missing)
    try:
        return load_rule_set(rule_paths)
    except InputError as exc:
        # "no routing rule file found" is about this test file's list, so point at it.
        raise InputError(
            [
                loaded.diagnostic(("rule_files",), d.message, d.code)
                if d.code == "missing-rule-file"
                else d
                for d in exc.diagnostics
            ]
        ) from None


class _FileLoader:
    """Loads the books of one test file, collecting every problem with its position."""

    def __init__(self, path: Path, loaded: LoadedYaml) -> None:
        self.path = path
        self.loaded = loaded
        self.problems: list[Diagnostic] = []
        self.book_files: dict[Path, Book | None] = {}

    def book(self, test: RuleTest, loc: Loc) -> Book | None:
        if test.book is None:
            assert test.book_file is not None  # RuleTest requires one of them
            return self._book_file(test.book_file, (*loc, "book_file"))
        builder = BookBuilder(self.loaded, (*loc, "book"))
        book = builder.build(test.book)
        self.problems.extend(builder.problems)
        return book

    def _book_file(self, name: str, loc: Loc) -> Book | None:
        path = _beside(self.path, name)
        if not path.is_file():
            self.problems.append(
                self.loaded.diagnostic(loc, f"book file not found: {path}", "file-missing")
            )
            return None
        if path not in self.book_files:
            # Built once however many tests name it, so its problems are reported once.
            self.book_files[path] = None
            try:
                loaded = load_yaml(path)
                builder = BookBuilder(loaded, ())
                self.book_files[path] = builder.build(validate(loaded, BookSpec))
                self.problems.extend(builder.problems)
            except InputError as exc:
                self.problems.extend(exc.diagnostics)
        return self.book_files[path]

    def references(self, test: RuleTest, loc: Loc, book: Book, rules: RuleSet | None) -> None:
        """Expectations and rotation may only name what the book and the rules define."""
        at = ReferenceChecker(self.loaded, book, rules)
        self.problems.extend(at.expectations(test.expect, (*loc, "expect")))
        self.problems.extend(at.rotation(test.rotation, (*loc, "rotation")))


def _rotation(rotation: Mapping[str, str], book: Book) -> dict[str, str]:
    # The plan keeps owner ids; an owner no longer in the book stays as written (the
    # planner then starts from the top of the pool, which a test may want to show).
    found = {route: book.find_owner(key) for route, key in rotation.items()}
    return {route: o.id if o else rotation[route] for route, o in found.items()}


def load_test_file(path: Path) -> RuleTestSuite:
    """Load, check and prepare one test file; raise InputError listing every problem."""
    loaded = load_yaml(path)
    spec = validate(loaded, RuleTestFile)
    loader = _FileLoader(path, loaded)
    rules: RuleSet | None = None
    try:
        rules = _load_rules(loaded, spec.rule_files, path)
    except InputError as exc:
        loader.problems.extend(exc.diagnostics)
    cases: list[RuleTestCase] = []
    first_line: dict[str, int] = {}
    for index, test in enumerate(spec.tests):
        loc: Loc = ("tests", index)
        line = loaded.position(loc)[0]
        if test.name in first_line:
            message = f"test name {test.name!r} is already used on line {first_line[test.name]}"
            loader.problems.append(loaded.diagnostic((*loc, "name"), message, "duplicate-name"))
        first_line.setdefault(test.name, line)
        book = loader.book(test, loc)
        if book is None:
            continue
        loader.references(test, loc, book, rules)
        now = test.now or spec.now
        cases.append(
            RuleTestCase(test.name, line, now, book, _rotation(test.rotation, book), test.expect)
        )
    if loader.problems or rules is None:
        raise InputError(loader.problems)
    return RuleTestSuite(
        str(path), rules, CompiledRoles(rules.roles), CompiledRouting(rules.routing), tuple(cases)
    )


def run_test(suite: RuleTestSuite, case: RuleTestCase) -> RuleTestResult:
    """Plan the test's book with the suite's rules, as `rolesync plan` would, and compare."""
    inputs = PlanInputs(
        profile=PROFILE,
        roles=suite.roles,
        routing=suite.routing,
        rules_digest=suite.rules.digest,
        as_of=case.now,
        rotation=case.rotation,
    )
    plan = build_plan(case.book, inputs)
    failures = unmet_expectations(case.expect, PlanView(plan, case.book, suite.routing))
    return RuleTestResult(suite.path, case.line, case.name, tuple(failures))


def run_suite(suite: RuleTestSuite, pattern: re.Pattern[str] | None = None) -> list[RuleTestResult]:
    """Run the suite's tests whose name matches `pattern` (all of them without one)."""
    return [
        run_test(suite, case)
        for case in suite.tests
        if pattern is None or pattern.search(case.name) is not None
    ]
