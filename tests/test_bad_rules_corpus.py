"""A corpus of broken rule files: each names its expected finding on its first line.

`# expect: SEVERITY CODE LINE:COL` — the file must produce that diagnostic at that
position, print no traceback, and report every finding on one line. A file with a
`NAME.out` beside it must print exactly those lines (without the file name in front):
every finding at once, errors and warnings together.
"""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path

import pytest

from roleSync.cli import main
from roleSync.rules.ruleset import check_rule_file

CORPUS = Path(__file__).parent / "data" / "bad_rules"
EXPECT = re.compile(rb"^# expect: (error|warning) ([a-z0-9-]+) (\d+):(\d+)$", re.M)
FILES = sorted(CORPUS.glob("*.yaml"))
EXACT = [p for p in FILES if p.with_suffix(".out").is_file()]
# Pydantic's own words for where a value failed: union members, validator wrappers,
# model classes. A user sees the keys of their file, never these.
INTERNAL = re.compile(
    r"constrained-|function-(after|before|wrap|plain)|lax-or-strict|json-or-python|"
    r"list\[|dict\[|instance of|typing\.|Annotated|RolePool|Comparison|AllOf|AnyOf|NotOf"
)


def test_the_corpus_is_large_enough() -> None:
    assert len(FILES) >= 40


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_each_bad_file_gives_its_code_at_its_position(path: Path) -> None:
    match = EXPECT.search(path.read_bytes().splitlines()[0])
    assert match, f"{path.name}: first line must be '# expect: SEVERITY CODE LINE:COL'"
    severity, code, line, col = (g.decode() for g in match.groups())
    _, model, problems = check_rule_file(path)
    found = [(p.severity.value, p.code, p.line, p.col) for p in problems]
    assert (severity, code, int(line), int(col)) in found, [str(p) for p in problems]
    assert all("\n" not in str(p) and "Traceback" not in str(p) for p in problems)
    if severity == "error":
        assert model is None


def test_check_reports_the_whole_corpus_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", *map(str, FILES)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert {line.split(":", 1)[0] for line in lines} >= {str(p) for p in FILES}


@pytest.mark.parametrize("path", EXACT, ids=[p.stem for p in EXACT])
def test_each_file_with_an_out_file_prints_exactly_its_lines(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = path.with_suffix(".out").read_text().splitlines()
    assert main(["check", str(path)]) == (1 if any(": error: " in e for e in expected) else 3)
    prefix = f"{path}:"
    got = [line.removeprefix(prefix) for line in capsys.readouterr().err.splitlines()]
    assert got == expected


def test_the_exact_cases_cover_each_gap_of_issue_16() -> None:
    names = {p.stem for p in EXACT}
    assert names >= {
        "misspelt_top_key_hides_nothing",  # clasify hid six other errors
        "warnings_beside_errors",
        "account_extra_field",  # account.industry -> account.fields.industry
        "operator_symbols",  # >= -> gte, and > <= < == !=
        "metric_for_owner_field",  # metric: owner.title -> field: owner.title
        "pool_union_shapes",  # routes.1.assign.pool.list[constrained-str]
        "not_around_all",  # pydantic serializer warning
        # A left-out catch-all or last rule makes no false order finding.
        "invalid_catch_all_hides_no_fallback",
        "invalid_last_route_keeps_overflow",
    }


def test_no_output_names_pydantic_internals_or_warns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Warnings as errors: a library warning (pydantic's serializer warnings) fails the run.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["check", *map(str, FILES)]) == 1
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).splitlines()
    assert len(lines) > len(FILES)
    assert [line for line in lines if INTERNAL.search(line)] == []
    assert "Warning" not in captured.err


def test_an_alias_bomb_is_refused_before_anything_expands() -> None:
    bomb = CORPUS / "alias_bomb.yaml"
    started = time.perf_counter()
    _, model, problems = check_rule_file(bomb)
    elapsed = time.perf_counter() - started
    assert model is None and problems[0].code == "yaml-anchor"
    # Not a timing assertion: a record for the benchmarks README (the bomb would expand
    # to 9**8 = 43 million strings if anything were built).
    print(f"alias bomb refused in {elapsed * 1000:.1f} ms")


def test_a_20_mb_file_is_refused_by_size(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"version: 1\n" + b"# padding\n" * 2_000_000)
    _, model, problems = check_rule_file(big)
    assert model is None
    assert [(p.code, p.line, p.col) for p in problems] == [("file-too-large", 0, 0)]
