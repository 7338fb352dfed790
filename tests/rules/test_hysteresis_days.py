"""Stable roles by days (issue 15): roles.yaml `hysteresis: {days: N}` keeps an owner's
previous role until the rules have given another one on N consecutive calendar days; a
run whose rules give the held role again starts the count over. The count travels in the
plan (`OwnerRole.pending`); explain says why a role was held and when it would change."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_hysteresis import ROLES, ROUTING, _check, book

from builders import owner
from roleSync.metrics import RoleMetrics
from roleSync.model import PendingRole, Role
from roleSync.plan import Plan, PlanInputs, build_plan
from roleSync.report.explain import Explainer
from roleSync.rules.classify import CompiledRoles
from roleSync.rules.hold_days import days_given, streak, switch_day
from roleSync.rules.routes import CompiledRouting
from roleSync.rules.schema import RolesFile, RoutingFile

JUNE_1 = date(2026, 6, 1)
FARMER_SHARE = RoleMetrics(new_business_share=0.3)  # `lte 0.40`: the farmer rule
HUNTER_SHARE = RoleMetrics(new_business_share=0.9)  # `gte 0.80`: the hunter rule


def day(n: int) -> date:
    """June n, 2026."""
    return JUNE_1 + timedelta(days=n - 1)


def with_days(days: int, margin: float | None = None) -> dict[str, Any]:
    doc = copy.deepcopy(ROLES)
    doc["hysteresis"] = {"days": days} if margin is None else {"days": days, "margin": margin}
    return doc


def compiled(days: int = 3, margin: float | None = None) -> CompiledRoles:
    return CompiledRoles(RolesFile.model_validate(with_days(days, margin)))


# -- the day count -------------------------------------------------------------------------


def test_a_streak_starts_on_the_first_day_the_rules_give_the_new_role() -> None:
    assert streak(None, Role.FARMER, day(1)) == PendingRole(Role.FARMER, day(1))
    assert days_given(PendingRole(Role.FARMER, day(1)), day(1)) == 1
    assert switch_day(PendingRole(Role.FARMER, day(1)), 3) == day(3)


def test_a_streak_goes_on_while_the_rules_give_the_same_role() -> None:
    going = PendingRole(Role.FARMER, day(1))
    assert streak(going, Role.FARMER, day(3)) == going
    assert days_given(going, day(3)) == 3
    # A day without a run does not break it: calendar days count.
    assert days_given(going, day(7)) == 7


def test_a_streak_for_another_role_starts_over() -> None:
    going = PendingRole(Role.UNCLASSIFIED, day(1))
    assert streak(going, Role.FARMER, day(3)) == PendingRole(Role.FARMER, day(3))


def test_a_date_before_the_streak_starts_over_and_the_same_day_counts_once() -> None:
    going = PendingRole(Role.FARMER, day(5))
    # A plan made for an earlier day than the last run's: no negative count.
    assert streak(going, Role.FARMER, day(3)) == PendingRole(Role.FARMER, day(3))
    # Run again on the streak's first day: still day 1 of it.
    assert streak(going, Role.FARMER, day(5)) == going
    assert days_given(going, day(5)) == 1


# -- classify ------------------------------------------------------------------------------


def test_the_new_role_is_held_until_the_rules_give_it_on_the_nth_day() -> None:
    roles, olive = compiled(3), owner("olive")
    first = roles.classify(olive, FARMER_SHARE, Role.HUNTER, None, day(1))
    assert (first.role, first.rule_id) == (Role.HUNTER, None)
    assert first.pending == PendingRole(Role.FARMER, day(1))
    assert first.reason == (
        "held hunter: the rules have given farmer for 1 of 3 days (since 2026-06-01); "
        "farmer from 2026-06-03 if they still give it (without hysteresis: farmer by rule "
        "farmer)"
    )
    second = roles.classify(olive, FARMER_SHARE, Role.HUNTER, first.pending, day(2))
    assert (second.role, second.pending) == (Role.HUNTER, PendingRole(Role.FARMER, day(1)))
    assert "for 2 of 3 days (since 2026-06-01)" in second.reason
    third = roles.classify(olive, FARMER_SHARE, Role.HUNTER, second.pending, day(3))
    assert (third.role, third.rule_id, third.pending) == (Role.FARMER, "farmer", None)
    assert third.reason == (
        "farmer: new_business_share=0.3; the rules have given it for 3 days "
        "(since 2026-06-01; hysteresis days: 3)"
    )


def test_a_run_after_a_gap_counts_the_days_between() -> None:
    decision = compiled(3).classify(
        owner("olive"), FARMER_SHARE, Role.HUNTER, PendingRole(Role.FARMER, day(1)), day(5)
    )
    assert decision.role is Role.FARMER
    assert "for 5 days (since 2026-06-01" in decision.reason


def test_the_rules_giving_the_held_role_again_drop_the_count() -> None:
    roles, olive = compiled(3), owner("olive")
    again = roles.classify(
        olive, HUNTER_SHARE, Role.HUNTER, PendingRole(Role.FARMER, day(1)), day(2)
    )
    assert (again.role, again.rule_id, again.pending) == (Role.HUNTER, "hunter", None)
    assert again.reason == "hunter: new_business_share=0.9"


def test_no_previous_role_means_nothing_is_held_or_counted() -> None:
    decision = compiled(3).classify(owner("olive"), FARMER_SHARE, None, None, day(1))
    assert (decision.role, decision.pending) == (Role.FARMER, None)


def test_overrides_are_never_held_by_days() -> None:
    doc = with_days(3)
    doc["overrides"] = [{"owner": "olive", "role": "farmer", "reason": "key accounts"}]
    roles = CompiledRoles(RolesFile.model_validate(doc))
    decision = roles.classify(owner("olive"), HUNTER_SHARE, Role.HUNTER, None, day(1))
    assert (decision.role, decision.rule_id, decision.pending) == (Role.FARMER, "override", None)


def test_with_a_margin_too_a_change_past_it_is_taken_at_once() -> None:
    roles, olive = compiled(3, margin=0.05), owner("olive")
    # 0.70 is below 0.80 by more than the margin: unclassified on the first day.
    past = roles.classify(olive, RoleMetrics(new_business_share=0.7), Role.HUNTER, None, day(1))
    assert (past.role, past.pending) == (Role.UNCLASSIFIED, None)


def test_with_a_margin_too_a_change_within_it_is_taken_after_the_days() -> None:
    roles, olive = compiled(3, margin=0.05), owner("olive")
    near = RoleMetrics(new_business_share=0.7998)
    first = roles.classify(olive, near, Role.HUNTER, None, day(1))
    assert (first.role, first.rule_id) == (Role.HUNTER, "hunter")
    assert first.reason == (
        "held hunter: new_business_share 0.7998 within the 0.05 margin of 0.8 (without the "
        "margin: unclassified, no rule matched); the rules have given unclassified for 1 of "
        "3 days (since 2026-06-01); unclassified from 2026-06-03 if they still give it"
    )
    third = roles.classify(olive, near, Role.HUNTER, PendingRole(Role.UNCLASSIFIED, day(1)), day(3))
    assert (third.role, third.pending) == (Role.UNCLASSIFIED, None)


# -- across plans --------------------------------------------------------------------------


def plan_on(share: float, doc: dict[str, Any], as_of: date, before: Plan | None) -> Plan:
    """Olive's plan on `as_of`, started from the previous plan's roles and counts."""
    owners = before.owners if before is not None else []
    inputs = PlanInputs(
        profile="test",
        roles=CompiledRoles(RolesFile.model_validate(doc)),
        routing=CompiledRouting(RoutingFile.model_validate(ROUTING)),
        rules_digest="sha256:test",
        as_of=as_of,
        previous_roles={o.owner_id: o.role for o in owners},
        pending_roles={o.owner_id: o.pending for o in owners if o.pending is not None},
    )
    return build_plan(book(share), inputs)


def roles_over_days(shares: list[float], doc: dict[str, Any]) -> list[Role]:
    """Olive's role on consecutive days from June 1, each plan given the one before."""
    seen: list[Role] = []
    last: Plan | None = None
    for n, share in enumerate(shares, 1):
        last = plan_on(share, doc, day(n), last)
        seen.append({o.owner_id: o.role for o in last.owners}["olive"])
    return seen


def test_the_three_day_example_keeps_one_role_with_days_3() -> None:
    # The shares against `gte 0.80`: without hysteresis they flip every day.
    assert roles_over_days([0.7998, 0.8014, 0.7998], with_days(3)) == [Role.UNCLASSIFIED] * 3


def test_a_day_giving_the_held_role_resets_the_count() -> None:
    # 0.85 gives hunter; 0.70 on day 4 gives the held role (unclassified) back, so the
    # hunter days count again from day 5 and the change comes on day 7, not day 4.
    shares = [0.70, 0.85, 0.85, 0.70, 0.85, 0.85, 0.85]
    assert roles_over_days(shares, with_days(3)) == [Role.UNCLASSIFIED] * 6 + [Role.HUNTER]
    # With 2 days: day 3 gives the held role between two hunter days, which never add up.
    assert roles_over_days([0.70, 0.85, 0.70, 0.85, 0.85], with_days(2)) == [
        Role.UNCLASSIFIED,
        Role.UNCLASSIFIED,  # hunter for 1 of 2 days
        Role.UNCLASSIFIED,  # the held role again: the count is dropped
        Role.UNCLASSIFIED,  # hunter for 1 of 2 days, from day 4
        Role.HUNTER,  # 2 of 2
    ]


def test_the_plan_file_records_the_count_and_older_plans_read_without_one() -> None:
    held = plan_on(0.85, with_days(3), day(2), plan_on(0.70, with_days(3), day(1), None))
    text = held.to_json()
    data = json.loads(text)
    olive = next(o for o in data["owners"] if o["owner_id"] == "olive")
    fay = next(o for o in data["owners"] if o["owner_id"] == "fay")
    assert olive["pending"] == {"role": "hunter", "since": "2026-06-02"}
    assert "pending" not in fay  # nothing pending: the entry reads as before
    again = Plan.from_json(text, "plan.json")
    assert again == held
    assert {o.owner_id: o.pending for o in again.owners} == {
        "olive": PendingRole(Role.HUNTER, day(2)),
        "fay": None,
    }


# -- explain -------------------------------------------------------------------------------


def test_explain_says_why_the_role_is_held_and_when_it_would_change() -> None:
    explainer = Explainer(
        book(0.8014),
        RolesFile.model_validate(with_days(3)),
        RoutingFile.model_validate(ROUTING),
        day(2),
        previous_roles={"olive": Role.UNCLASSIFIED},
        pending_roles={"olive": PendingRole(Role.HUNTER, day(1))},
    )
    text = explainer.explain_owner(owner("olive"))
    assert "Role: unclassified, held by hysteresis\n" in text
    assert (
        "Held by hysteresis: unclassified: the rules have given hunter for 2 of 3 days "
        "(since 2026-06-01); hunter from 2026-06-03 if they still give it (without "
        "hysteresis: hunter by rule hunter).\n"
        "  (the rules below give hunter: the role changes on 2026-06-03 if they still do "
        "then)\n" in text
    )


# -- check ---------------------------------------------------------------------------------


def _line_of(doc: dict[str, Any], key: str) -> int:
    text = json.dumps(doc, indent=2).splitlines()
    return next(n for n, line in enumerate(text, 1) if f'"{key}"' in line)


@pytest.mark.parametrize(
    ("days", "says"),
    [
        (0, "greater than or equal to 2"),
        (1, "greater than or equal to 2"),
        (366, "less than or equal to 365"),
        (2.5, "a valid integer"),
        ("3", "a valid integer"),
        (None, "a valid integer"),
    ],
)
def test_check_refuses_days_that_are_not_a_count_of_2_to_365(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], days: Any, says: str
) -> None:
    doc = with_days(3)
    doc["hysteresis"]["days"] = days
    code, lines = _check(tmp_path, doc, capsys)
    assert code == 1
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{_line_of(doc, 'days')}:"), lines
    assert f"error: hysteresis.days: Input should be {says}" in lines[0]


def test_check_refuses_a_hysteresis_with_nothing_to_hold_by(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = copy.deepcopy(ROLES)
    doc["hysteresis"] = {}
    code, lines = _check(tmp_path, doc, capsys)
    assert code == 1
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{_line_of(doc, 'hysteresis')}:"), lines
    assert "needs a 'margin' (e.g. 0.05), 'days' (e.g. 3), or both [hysteresis-empty]" in lines[0]


def test_check_refuses_metrics_without_a_margin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = with_days(3)
    doc["hysteresis"]["metrics"] = ["new_business_share"]
    code, lines = _check(tmp_path, doc, capsys)
    assert code == 1
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{_line_of(doc, 'metrics')}:"), lines
    assert "limits the margin, and there is no 'margin' [hysteresis-metrics]" in lines[0]


@pytest.mark.parametrize("field", ["owner.title", "title"])
def test_check_refuses_a_margin_on_an_owner_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str
) -> None:
    doc = copy.deepcopy(ROLES)
    doc["hysteresis"] = {"margin": 0.05, "metrics": [field]}
    code, lines = _check(tmp_path, doc, capsys)
    assert code == 1
    assert len(lines) == 1, lines
    text = json.dumps(doc, indent=2).splitlines()
    row = next(n for n, line in enumerate(text, 1) if f'"{field}"' in line)
    assert lines[0].startswith(f"{row}:"), lines
    assert (
        f"error: hysteresis.metrics.0: '{field}' is an owner field, not a number: a "
        "hysteresis margin moves only comparisons of a metric with a number "
        "(the Metrics section of docs/rule-files.md lists them) [unknown-value]" in lines[0]
    )


def test_days_alone_need_no_numeric_comparison(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The margin form warns when nothing can move; days count any rule's change.
    doc = with_days(3)
    doc["classify"] = [
        {
            "id": "ae",
            "role": "hunter",
            "when": {"field": "owner.title", "op": "contains", "value": "account exec"},
        },
        {"id": "rest", "role": "farmer"},
    ]
    code, lines = _check(tmp_path, doc, capsys)
    assert (code, lines) == (0, [])
