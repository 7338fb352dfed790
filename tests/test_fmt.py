"""`rolesync fmt`: canonical layout, comments kept, data unchanged, safe writes."""

from __future__ import annotations

import io
import os
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from roleSync.cli import main
from roleSync.errors import InputError
from roleSync.rules.fmt import FormatError, _verify, format_text
from roleSync.rules.loader import load_yaml, load_yaml_text

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = [
    ROOT / "rules" / "roles.yaml",
    ROOT / "rules" / "routing.yaml",
    *sorted((ROOT / "connectors").glob("*.yaml")),
]

MESSY_ROLES = """\
# yaml-language-server: $schema=./schema.json
# Who hunts and who farms.

kind: roles    # always "roles" here
classify:   # first match wins
    # Hunters: mostly new business.
    -   when:
            all:
                - {op: gte, value: 0.6, metric: new_business_share}
                -   value: 3    # at least three wins
                    op: gte
                    metric: new_business_won_count
        # the role the rule gives
        role: hunter
        id: hunter-by-deal-mix
    -   description: Mostly renewals and expansion.
        role: farmer
        id: farmer-by-deal-mix
        when: {all: [{value: 0.4, op: lte, metric: new_business_share}]}
version: 1
# Trailing window, in days.
window_days:    365   \n\



overrides:
    -   {role: farmer, reason: "named key-account manager", owner: "dana@example.com"}
    # - {owner: "erin@example.com", role: farmer, reason: "on leave"}
"""

# Keys in model order at every level, 2-space indents with `  - ` under their key,
# comments beside what they annotate, one blank line kept where there were three, leaf
# comparisons still flow, end-of-line comments in their author's column.
EXPECTED_ROLES = """\
# yaml-language-server: $schema=./schema.json
# Who hunts and who farms.

version: 1
kind: roles    # always "roles" here
# Trailing window, in days.
window_days: 365
classify:   # first match wins
  # Hunters: mostly new business.
  - id: hunter-by-deal-mix
    # the role the rule gives
    role: hunter
    when:
      all:
        - {metric: new_business_share, op: gte, value: 0.6}
        - metric: new_business_won_count
          op: gte
          value: 3              # at least three wins
  - id: farmer-by-deal-mix
    role: farmer
    description: Mostly renewals and expansion.
    when: {all: [{metric: new_business_share, op: lte, value: 0.4}]}

overrides:
  - {owner: "dana@example.com", role: farmer, reason: "named key-account manager"}
  # - {owner: "erin@example.com", role: farmer, reason: "on leave"}
"""

MESSY_ROUTING = """\
routes:
  - assign:
      capacity: {max_accounts: 80}
      strategy: least_loaded   # lightest book first
      pool: ["ana@example.com", "ben@example.com"]
    when:
      all:
        - {op: eq, value: Enterprise, field: account.segment}
        - {value: [EMEA], field: account.region, op: in}
    id: enterprise-emea
  - id: everyone-else
    assign: {strategy: round_robin, pool: {role: farmer}}
kind: routing
handoff:
  delay_days: 14   # onboarding
  trigger: first_won_new_business
version: 1
"""

EXPECTED_ROUTING = """\
version: 1
kind: routing
handoff:
  trigger: first_won_new_business
  delay_days: 14   # onboarding
routes:
  - id: enterprise-emea
    when:
      all:
        - {field: account.segment, op: eq, value: Enterprise}
        - {field: account.region, op: in, value: [EMEA]}
    assign:
      pool: ["ana@example.com", "ben@example.com"]
      strategy: least_loaded   # lightest book first
      capacity: {max_accounts: 80}
  - id: everyone-else
    assign: {pool: {role: farmer}, strategy: round_robin}
"""

MESSY_PROFILE = """\
# Local book profile.
import:
  deals:
    won: IsWon
    id: Id
  owners: {name: Name, id: Id}
name: demo
deal_kinds:            # the author's order is kept: it is a mapping of values
  newbusiness: new_business
  "New Customer": new_business
kind: local
version: 1
"""

EXPECTED_PROFILE = """\
# Local book profile.
version: 1
kind: local
name: demo
deal_kinds:            # the author's order is kept: it is a mapping of values
  newbusiness: new_business
  "New Customer": new_business
import:
  owners: {id: Id, name: Name}
  deals:
    id: Id
    won: IsWon
"""

# Odd but valid layouts: deep trailing comments, comments inside multi-line flow
# collections, block scalars, a commented-out last item, CRLF line breaks.
ODD = {
    "nested-trailing": "a:\n  b:\n    c: 1\n    # closes b\n  # closes a\n# above d\nd: 1\n",
    "flow-with-comments": "m: {\n  a: 1,\n  # before b\n  b: 2\n}\nl: [1,\n  2]  # end\n",
    "multi-line-plain": "a: this is\n  multi line  # eol\nb: 2\n",
    "block-scalars": (
        "a: |  # literal\n  keep # this\n\n  text\nb: >-\n    folded\n      more\n    next\n"
    ),
    "crlf": "# head\r\nkind: roles\r\nversion: 1  # v\r\n",
    "top-level-list": "# header\n-   a  # eol a\n-   b\n",
    "commented-out-item": "routes:\n  - id: a\n  # - id: b\nversion: 1\n",
}
INPUTS = {
    "roles": MESSY_ROLES,
    "routing": MESSY_ROUTING,
    "profile": MESSY_PROFILE,
    **ODD,
    **{path.name: path.read_text() for path in SHIPPED},
}


def comments(text: str) -> Counter[str]:
    """Comment texts, for inputs whose scalars hold no ` #`."""
    return Counter(m.group(0).rstrip() for m in re.finditer(r"(?<![^ \t\n])#.*", text))


# -- layout -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_files_are_canonical(path: Path) -> None:
    text = path.read_text()
    assert format_text(text, str(path)) == text


def test_fmt_check_passes_on_the_shipped_files(capsys: pytest.CaptureFixture[str]) -> None:
    # The shipped rule tests and their books too: examples people copy.
    assert main(["fmt", "--check", *map(str, SHIPPED), str(ROOT / "rules" / "tests")]) == 0
    assert "would reformat" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("messy", "expected"),
    [(MESSY_ROLES, EXPECTED_ROLES), (MESSY_ROUTING, EXPECTED_ROUTING)],
    ids=["roles", "routing"],
)
def test_messy_rule_files_format_to_the_canonical_text(messy: str, expected: str) -> None:
    assert format_text(messy, "messy.yaml") == expected


def test_profile_keys_follow_the_profile_model_and_mappings_keep_their_order() -> None:
    assert format_text(MESSY_PROFILE, "p.yaml") == EXPECTED_PROFILE


def test_rule_test_file_keys_follow_the_rule_test_model() -> None:
    pytest.importorskip("roleSync.rules.testing_schema")
    messy = (
        "tests:\n"
        "  - expect: {rules: {mo: hunter-by-deal-mix}, roles: {mo: hunter}}\n"
        "    book_file: books/x.yaml   # shared book\n"
        "    name: mo hunts\n"
        "now: 2026-06-30\n"
        "rule_files: [../roles.yaml, ../routing.yaml]\n"
    )
    assert format_text(messy, "x.test.yaml") == (
        "rule_files: [../roles.yaml, ../routing.yaml]\n"
        "now: 2026-06-30\n"
        "tests:\n"
        "  - name: mo hunts\n"
        "    book_file: books/x.yaml   # shared book\n"
        "    expect: {roles: {mo: hunter}, rules: {mo: hunter-by-deal-mix}}\n"
    )


def test_unknown_keys_follow_the_known_ones_in_their_own_order() -> None:
    text = "version: 1\nzeta: 1\nkind: roles\nalpha: 2\nclassify: []\n"
    assert (
        format_text(text, "r.yaml") == "version: 1\nkind: roles\nclassify: []\nzeta: 1\nalpha: 2\n"
    )


def test_long_flow_collections_become_block_and_short_ones_stay_flow() -> None:
    pool = ", ".join(f'"owner-{i}@example.com"' for i in range(6))
    text = f"kind: routing\nroutes:\n  - id: a\n    assign: {{pool: [{pool}]}}\n"
    out = format_text(text, "r.yaml")
    assert '  - id: a\n    assign:\n      pool:\n        - "owner-0@example.com"\n' in out
    assert all(len(line) <= 100 for line in out.splitlines())
    assert format_text("a: {b: [1, 2], c: {d: 3}}\n", "s.yaml") == "a: {b: [1, 2], c: {d: 3}}\n"


def test_a_comment_inside_a_flow_collection_makes_it_block() -> None:
    assert format_text(ODD["flow-with-comments"], "f.yaml") == (
        "m:\n  a: 1\n  # before b\n  b: 2\nl:\n  - 1\n  - 2  # end\n"
    )


def test_hash_inside_scalars_is_data_and_block_scalar_headers_keep_comments() -> None:
    text = "a: b#c\nd: 'e # f'\ng: \"h # i\"  # real\nj: |  # header\n  k # l\n"
    assert format_text(text, "h.yaml") == text


def test_blank_lines_collapse_and_leave_the_ends_and_block_openers() -> None:
    text = "\n\na: 1\n\n\n\nb:\n\n  c: 1\n\n\n"
    assert format_text(text, "b.yaml") == "a: 1\n\nb:\n  c: 1\n"


def test_crlf_becomes_lf_and_a_top_level_list_starts_at_column_zero() -> None:
    assert format_text(ODD["crlf"], "c.yaml") == "# head\nversion: 1  # v\nkind: roles\n"
    assert format_text(ODD["top-level-list"], "l.yaml") == "# header\n- a    # eol a\n- b\n"


# -- properties ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", INPUTS)
def test_formatting_is_idempotent(name: str) -> None:
    once = format_text(INPUTS[name], name)
    assert format_text(once, name) == once


@pytest.mark.parametrize("name", INPUTS)
def test_formatting_keeps_the_data(name: str) -> None:
    before = load_yaml_text(INPUTS[name], name).data
    assert load_yaml_text(format_text(INPUTS[name], name), name).data == before


# `comments` cannot tell a `#` in a block scalar from a comment: the hash test covers that.
@pytest.mark.parametrize("name", [name for name in INPUTS if name != "block-scalars"])
def test_every_comment_survives(name: str) -> None:
    assert comments(format_text(INPUTS[name], name)) == comments(INPUTS[name])


def test_output_has_no_trailing_spaces_and_one_final_newline() -> None:
    for name, text in INPUTS.items():
        out = format_text(text, name)
        assert out.endswith("\n") and not out.endswith("\n\n"), name
        assert not any(line != line.rstrip() for line in out.splitlines()), name


def _shuffled(node: Any, rnd: random.Random) -> None:
    if isinstance(node, CommentedMap):
        items = list(node.items())
        rnd.shuffle(items)
        for key in list(node):
            del node[key]
        for key, value in items:
            node[key] = value
            _shuffled(value, rnd)
    elif isinstance(node, CommentedSeq):
        for item in node:
            _shuffled(item, rnd)


@pytest.mark.parametrize("seed", range(12))
def test_random_layouts_of_the_shipped_files_format_stably(seed: int) -> None:
    """Shuffled keys, other indents, stray comments and blank lines: fmt copes."""
    rnd = random.Random(seed)
    yaml = YAML(typ="rt")
    yaml.width = 4096  # no wrapped scalars: a comment between their lines would break them
    data = yaml.load(rnd.choice(SHIPPED).read_text())
    _shuffled(data, rnd)
    offset = rnd.choice([0, 2])
    yaml.indent(mapping=rnd.choice([2, 3, 4]), sequence=offset + rnd.choice([2, 3]), offset=offset)
    stream = io.StringIO()
    yaml.dump(data, stream)
    lines = stream.getvalue().split("\n")
    for n in range(rnd.randint(1, 6)):
        at = rnd.randrange(len(lines))
        if lines[at].strip() and "#" not in lines[at] and rnd.random() < 0.5:
            lines[at] += " " * rnd.randint(1, 9) + f"# note {n}"
        else:
            lines.insert(at, rnd.choice(["", " " * rnd.randint(0, 8) + f"# line {n}"]))
    text = "\n".join(lines)
    once = format_text(text, f"seed-{seed}")
    assert format_text(once, "again") == once
    assert load_yaml_text(once, "x").data == load_yaml_text(text, "x").data
    assert comments(once) == comments(text)


def test_a_result_with_other_data_or_fewer_comments_is_refused() -> None:
    text = "a: 1  # one\n"
    data = load_yaml_text(text, "x.yaml").data
    with pytest.raises(FormatError) as changed:
        _verify(data, Counter({"# one": 1}), "a: 2  # one\n", "x.yaml")
    assert "x.yaml: error: internal error: formatting would change the data" in str(changed.value)
    with pytest.raises(FormatError, match=r"lose or change a comment.*\[fmt-internal\]"):
        _verify(data, Counter({"# one": 1}), "a: 1\n", "x.yaml")


# -- the command --------------------------------------------------------------------------


def _snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def _tree(tmp_path: Path) -> dict[str, Path]:
    """A folder of rule files: one messy, one canonical, a test file, a hidden file."""
    files = {
        "messy": tmp_path / "rules" / "roles.yaml",
        "canonical": tmp_path / "rules" / "routing.yaml",
        "test": tmp_path / "rules" / "tests" / "x.test.yaml",
        "yml": tmp_path / "rules" / "tests" / "book.yml",
        "hidden": tmp_path / "rules" / ".state" / "messy.yaml",
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    files["messy"].write_text(MESSY_ROLES)
    files["canonical"].write_text(EXPECTED_ROUTING)
    files["test"].write_text("rule_files:    [../roles.yaml]\nnow: 2026-06-30\n")
    files["yml"].write_text("owners:\n    - {id: ann}\n")
    files["hidden"].write_text(MESSY_ROLES)
    past = 1_600_000_000_000_000_000
    for path in files.values():
        os.utime(path, ns=(past, past))  # a rewrite would show as a new mtime
    return files


def test_check_lists_what_would_change_exits_1_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _tree(tmp_path)
    before = {name: _snapshot(path) for name, path in files.items()}
    assert main(["fmt", "--check", str(tmp_path / "rules")]) == 1
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"would reformat {files['messy']}",
        f"would reformat {files['yml']}",
        f"would reformat {files['test']}",
    ]
    assert {name: _snapshot(path) for name, path in files.items()} == before
    assert main(["fmt", "--check", str(files["canonical"])]) == 0
    assert capsys.readouterr().out == ""


def test_diff_prints_a_unified_diff_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _tree(tmp_path)["messy"]
    before = _snapshot(path)
    assert main(["fmt", "--diff", str(path)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[:2] == [f"--- a/{path}", f"+++ b/{path}"]
    assert lines[2].startswith("@@ ")
    assert "+version: 1" in lines and "-version: 1" in lines
    assert "+  - id: hunter-by-deal-mix" in lines
    assert f"would reformat {path}" in captured.err
    assert _snapshot(path) == before
    assert main(["fmt", "--check", "--diff", str(path)]) == 1


def test_fmt_rewrites_changed_files_in_place_and_leaves_the_others_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _tree(tmp_path)
    files["messy"].chmod(0o640)
    untouched = {name: _snapshot(files[name]) for name in ("canonical", "hidden")}
    assert main(["fmt", str(tmp_path / "rules")]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"reformatted {files['messy']}",
        f"reformatted {files['yml']}",
        f"reformatted {files['test']}",
    ]
    assert files["messy"].read_text() == EXPECTED_ROLES
    assert files["test"].read_text() == "rule_files: [../roles.yaml]\nnow: 2026-06-30\n"
    assert files["yml"].read_text() == "owners:\n  - {id: ann}\n"
    assert {name: _snapshot(files[name]) for name in untouched} == untouched
    assert files["messy"].stat().st_mode & 0o777 == 0o640
    leftovers = [p.name for p in (tmp_path / "rules").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    assert main(["fmt", "--check", str(tmp_path / "rules")]) == 0


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("version: 1\nbase: &b {op: eq}\nother: *b\n", "yaml-anchor"),
        ("version: !!int 1\n", "yaml-tag"),
        ("version: 1\nversion: 2\n", "duplicate-key"),
        ("version: [1, 2\n", "yaml-syntax"),
    ],
    ids=["alias", "tag", "duplicate", "syntax"],
)
def test_unsafe_or_broken_yaml_is_refused_with_the_loaders_error_and_left_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, code: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text + "kind:    roles\n")
    before = _snapshot(path)
    assert main(["fmt", str(path)]) == 1
    errors = capsys.readouterr().err.splitlines()
    with pytest.raises(InputError) as loader:
        load_yaml(path)
    expected = [str(d) for d in loader.value.diagnostics]
    assert errors[: len(expected)] == expected
    assert any(line.endswith(f"[{code}]") for line in expected)
    assert all(re.match(rf"{re.escape(str(path))}:\d+:\d+: error: ", line) for line in expected)
    assert _snapshot(path) == before


def test_a_missing_path_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fmt", str(tmp_path / "nope.yaml")]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'nope.yaml'}: error: no such file or folder [file-missing]" in err
