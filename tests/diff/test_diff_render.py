"""The three forms of a RuleDiff: the JSON keys scripts rely on, Markdown that hostile CRM
names cannot hijack (a pull-request comment), and the exit codes."""

from __future__ import annotations

import json
import re
from dataclasses import replace

from roleSync.diff.compare import (
    AccountChange,
    AccountSide,
    Fate,
    Figure,
    Pair,
    RoleChange,
    RoleSide,
    RuleDiff,
)
from roleSync.diff.document import as_data, diff_exit_code, to_json
from roleSync.diff.markdown import MAX_ROWS, code, render_markdown
from roleSync.diff.text import render_text
from roleSync.diff.verdict import Check, Measured, Verdict, guardrail_verdict
from roleSync.errors import ExitCode
from roleSync.profile import GuardrailsSection

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "@everyone",
    "Eve | Mallory",
    "```\n# pwned\n```",
    "[click](https://evil.example)",
    "**bold** _it_ #12 :tada:",
    "<!-- rolesync-review -->",
]


def a_diff(names: list[str], accounts: int, *, stops: bool = False) -> RuleDiff:
    roles = [
        RoleChange(
            f"u{i}",
            name,
            f"{name}@example.com",
            RoleSide("hunter", "h", "reason"),
            RoleSide("farmer", "f", "reason"),
            {"won_deals": Figure(3, 3)},
        )
        for i, name in enumerate(names)
    ]
    moved = [
        AccountChange(
            f"acc-{n}",
            names[n % len(names)],
            "u0",
            names[0],
            AccountSide(Fate.STAYS),
            AccountSide(Fate.MOVES, "u1", names[1 % len(names)], "route|1", "", "why"),
        )
        for n in range(accounts)
    ]
    verdict = Verdict(
        [Check("max_changes", 500, 0, accounts)], [f"owner {names[0]} flips"] if stops else [], []
    )
    return RuleDiff(
        profile="p",
        as_of="2026-06-30",
        base_label="origin/main:rules",
        new_label="rules",
        base_digest="sha256:" + "a" * 64,
        new_digest="sha256:" + "b" * 64,
        book_accounts=200,
        book_owners=len(names),
        roles=roles,
        accounts=moved,
        routes={"route|1": Pair(0, accounts)},
        skips={},
        totals={"handoffs": Pair(0, accounts)},
        verdict=verdict,
    )


def outside_code(markdown: str) -> str:
    """The text of `markdown` outside its code spans (what GitHub renders as markup)."""
    return re.sub(r"`[^`\n]*`", "", markdown)


def test_hostile_names_stay_inside_code_spans() -> None:
    markdown = render_markdown(a_diff(HOSTILE, 3, stops=True))
    rendered = outside_code(markdown)
    for dangerous in ("<img", "@everyone", "](", "<!--", "#12", ":tada:", "pwned"):
        assert dangerous in markdown  # shown, as text
        assert dangerous not in rendered  # but never as markup
    # No value can open a fence, end a code span early, or start a line of its own.
    assert "```" not in markdown
    assert not any(line.startswith("# ") for line in markdown.splitlines())


def test_table_rows_keep_their_columns_whatever_the_names() -> None:
    markdown = render_markdown(a_diff(HOSTILE, 3))
    rows = [line for line in markdown.splitlines() if line.startswith("| `acc-")]
    assert len(rows) == 3
    for row in rows:
        # GitHub splits cells at every | not escaped with a backslash, code spans included.
        assert len(re.findall(r"(?<!\\)\|", row)) == 6  # five cells


def test_code_spans() -> None:
    assert code("a|b") == "`a\\|b`"
    assert code("x`y") == "`x'y`"
    assert code("line\nbreak\r\u2028x") == "`line break x`"
    assert code("") == "–"
    long = code("x" * 500)
    assert len(long) == 202 and long.endswith("…`")


def test_tables_stop_at_max_rows_with_a_count_of_the_rest() -> None:
    markdown = render_markdown(a_diff(["Ann", "Bob"], MAX_ROWS + 7))
    rows = [line for line in markdown.splitlines() if line.startswith("| `acc-")]
    assert len(rows) == MAX_ROWS
    assert "…and 7 more (`rolesync diff --format json` lists all)." in markdown


def test_the_headline_follows_the_exit_code() -> None:
    assert "⛔ **The guardrails would stop this change.**" in render_markdown(
        a_diff(["Ann", "Bob"], 2, stops=True)
    )
    assert "⚠️ **Changes within the guardrails.**" in render_markdown(a_diff(["Ann", "Bob"], 2))
    quiet = a_diff(["Ann"], 0)
    quiet = replace(quiet, roles=[], routes={}, totals={})
    assert diff_exit_code(quiet) is ExitCode.OK
    assert "✅ **Nothing changes**" in render_markdown(quiet)
    assert "nothing changes" in render_text(quiet)


def test_exit_codes() -> None:
    assert diff_exit_code(a_diff(["Ann", "Bob"], 2, stops=True)) is ExitCode.GUARDRAIL
    assert diff_exit_code(a_diff(["Ann", "Bob"], 2)) is ExitCode.CHANGES
    assert int(ExitCode.CHANGES) == 6


def test_the_json_keys_are_stable() -> None:
    data = json.loads(to_json(a_diff(["Ann", "Bob"], 1, stops=True)))
    assert sorted(data) == [
        "accounts",
        "as_of",
        "base",
        "blast_radius",
        "book",
        "changed",
        "exit_code",
        "format",
        "guardrails",
        "new",
        "notes",
        "profile",
        "roles",
        "routes",
        "skips",
        "totals",
    ]
    assert data["format"] == 1 and data["exit_code"] == 3
    assert sorted(data["base"]) == ["digest", "rules"]
    assert sorted(data["blast_radius"]) == ["accounts", "book_accounts", "share"]
    assert data["blast_radius"]["share"] == 0.005  # 1 of 200
    assert sorted(data["roles"][0]) == ["base", "email", "figures", "name", "new", "owner_id"]
    assert sorted(data["roles"][0]["base"]) == ["reason", "role", "rule_id"]
    assert data["roles"][0]["figures"] == {"won_deals": {"base": 3, "new": 3}}
    assert sorted(data["accounts"][0]) == [
        "account_id",
        "base",
        "name",
        "new",
        "owner_id",
        "owner_name",
    ]
    assert sorted(data["accounts"][0]["new"]) == [
        "code",
        "fate",
        "reason",
        "route",
        "to_owner_id",
        "to_owner_name",
    ]
    assert data["routes"] == {"route|1": {"base": 0, "new": 1}}
    guard = data["guardrails"]
    assert sorted(guard) == ["base_reasons", "base_verdict", "checks", "reasons", "verdict"]
    assert guard["checks"] == [
        {"guardrail": "max_changes", "limit": 500, "base": 0, "new": 1, "exceeded": False}
    ]
    assert as_data(a_diff(["Ann"], 0))["changed"] is True  # a role change alone is a change


def test_the_verdict_adds_the_changes_own_flips_unless_sync_counted_them() -> None:
    limits = GuardrailsSection(max_role_changes=2)
    base = Measured(10, 100, 0, 0, 0, 0)
    new = Measured(10, 100, 0, 0, 0, 0)
    verdict = guardrail_verdict(limits, base, new, ["a", "b", "c"])
    assert verdict.stops and verdict.reasons == [
        "the new rules flip the role of 3 owners against the base rules (a, b, c), more than "
        "max_role_changes 2"
    ]
    assert guardrail_verdict(limits, base, new, ["a", "b"]).reasons == []  # 2 is within
    counted = Measured(10, 100, 3, 0, 0, 0, reasons=("3 owners change role (...)",))
    assert guardrail_verdict(limits, base, counted, ["a", "b", "c"]).reasons == [
        "3 owners change role (...)"
    ]
    share = {c.guardrail: c for c in verdict.checks}["max_share"]
    assert (share.limit, share.base, share.new, share.exceeded) == (0.2, 0.1, 0.1, False)
