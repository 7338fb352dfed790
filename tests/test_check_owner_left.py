"""`rolesync check` on owner_left blocks: keys that would silently do nothing, route ids
that clash, unknown fields in the block's own routes and misspelt keys are positioned
errors (with did-you-mean where there is a near name), never a traceback at run time."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleSync.cli import main

ROUTING = """\
version: 1
kind: routing
handoffs:
  - id: left
    trigger: owner_left
{extra}
routes:
  - id: all
    assign: {{pool: {{role: farmer}}}}
"""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "    max_age_days: 30",
            "6:19: error: handoffs.0.max_age_days: 'max_age_days' is not meaningful with "
            "trigger owner_left: it fires on the plan's date for every account of a "
            "deactivated owner [ignored-key]",
        ),
        (
            "    from_roles: [hunter]",
            "6:17: error: handoffs.0.from_roles: 'from_roles' is not meaningful with trigger "
            "owner_left: it fires on the plan's date for every account of a deactivated "
            "owner [ignored-key]",
        ),
        (
            "    routes:\n      - {id: all, assign: {pool: {role: hunter}}}",
            "7:14: error: a second route with id 'all': a block's routes need their own ids "
            "[duplicate-id]",
        ),
        (
            "    routes:\n"
            "      - id: l\n"
            "        when: {field: account.lifecyle, op: eq, value: customer}\n"
            "        assign: {pool: {role: hunter}}\n"
            "      - {id: rest, assign: {pool: {role: hunter}}}",
            "8:23: error: unknown account field 'account.lifecyle'; did you mean "
            "'account.lifecycle'? [unknown-field]",
        ),
        (
            "    routes:\n"
            "      - {id: l, assign: {pool: {role: hunter}, capacty: {max_accounts: 3}}}",
            "7:48: error: unknown key 'capacty'; did you mean 'capacity'? [unknown-key]",
        ),
    ],
)
def test_malformed_owner_left_blocks_are_refused_at_their_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, message: str
) -> None:
    rules = tmp_path / "routing.yaml"
    rules.write_text(ROUTING.format(extra=extra))
    assert main(["check", str(rules)]) == 1
    captured = capsys.readouterr()
    lines = [line for line in (captured.out + captured.err).splitlines() if str(rules) in line]
    assert lines == [f"{rules}:{message}"]


def test_routes_on_another_trigger_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "routing.yaml"
    text = ROUTING.format(extra="    routes:\n      - {id: l, assign: {pool: {role: hunter}}}")
    rules.write_text(text.replace("trigger: owner_left", "trigger: first_won_new_business"))
    assert main(["check", str(rules)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{rules}:7:7: error: handoffs.0.routes: 'routes' in a handoff block is only "
        "meaningful with trigger owner_left [ignored-key]"
    ]
