"""Stable roles (issue 15): roles.yaml `hysteresis` keeps an owner's previous role unless the
rules give another one by the margin; explain says why a role was held; check refuses a
margin that is not a positive number and warns when it can never apply."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from builders import AS_OF, account, owner, routing, won
from roleSync.cli import main
from roleSync.metrics import RoleMetrics
from roleSync.model import Book, DealKind, Role
from roleSync.plan import Plan, PlanInputs, build_plan
from roleSync.report.explain import Explainer
from roleSync.rules.classify import CompiledRoles
from roleSync.rules.routes import CompiledRouting
from roleSync.rules.schema import RolesFile, RoutingFile

# The thresholds: a hunter from a new-business share of 0.80.
ROLES: dict[str, Any] = {
    "version": 1,
    "kind": "roles",
    "classify": [
        {
            "id": "hunter",
            "role": "hunter",
            "when": {"metric": "new_business_share", "op": "gte", "value": 0.8},
        },
        {
            "id": "farmer",
            "role": "farmer",
            "when": {"metric": "new_business_share", "op": "lte", "value": 0.4},
        },
    ],
}
ROUTING = routing({"id": "all", "assign": {"pool": {"role": "farmer"}}})


def with_margin(margin: float | None, doc: dict[str, Any] = ROLES) -> dict[str, Any]:
    roles = copy.deepcopy(doc)
    if margin is not None:
        roles["hysteresis"] = {"margin": margin}
    return roles


def book(share: float) -> Book:
    """Olive won 10,000 in the window, `share` of it new business; Fay farms."""
    new_business = round(share * 10_000, 2)
    deals = [
        won("nb", "a1", "olive", date(2026, 3, 1), amount=new_business),
        won("ex", "a1", "olive", date(2026, 3, 2), DealKind.EXPANSION, 10_000 - new_business),
        won("fx", "f1", "fay", date(2026, 3, 3), DealKind.EXPANSION),
    ]
    accounts = [account("a1", "olive", lifecycle="customer"), account("f1", "fay")]
    return Book([owner("olive"), owner("fay")], accounts, deals)


def plan(share: float, margin: float | None, previous: dict[str, Role]) -> Plan:
    inputs = PlanInputs(
        profile="test",
        roles=CompiledRoles(RolesFile.model_validate(with_margin(margin))),
        routing=CompiledRouting(RoutingFile.model_validate(ROUTING)),
        rules_digest="sha256:test",
        as_of=AS_OF,
        previous_roles=previous,
    )
    return build_plan(book(share), inputs)


def roles_over_days(shares: list[float], margin: float | None) -> list[Role]:
    """Olive's role on consecutive days, each plan given the previous plan's roles."""
    seen: list[Role] = []
    previous: dict[str, Role] = {}
    for share in shares:
        owners = plan(share, margin, previous).owners
        previous = {o.owner_id: o.role for o in owners}
        seen.append(previous["olive"])
    return seen


THREE_DAYS = [0.7998, 0.8014, 0.7998]


def test_without_hysteresis_the_three_days_flip() -> None:
    assert roles_over_days(THREE_DAYS, None) == [
        Role.UNCLASSIFIED,
        Role.HUNTER,
        Role.UNCLASSIFIED,
    ]


def test_a_margin_of_005_keeps_one_role_over_the_three_days() -> None:
    assert roles_over_days(THREE_DAYS, 0.05) == [Role.UNCLASSIFIED] * 3


def test_a_hunter_stays_a_hunter_over_the_three_days() -> None:
    # Starting from a hunter (0.86 clears 0.80 by the margin), 0.7998 does not end it.
    assert roles_over_days([0.86, *THREE_DAYS], 0.05) == [Role.HUNTER] * 4


@pytest.mark.parametrize(
    ("previous", "share", "expected"),
    [
        (Role.UNCLASSIFIED, 0.8499, Role.UNCLASSIFIED),  # not yet 0.80 + 0.05
        (Role.UNCLASSIFIED, 0.85, Role.HUNTER),  # clears it by the margin: flips
        (Role.HUNTER, 0.7501, Role.HUNTER),  # within the margin below 0.80
        (Role.HUNTER, 0.7499, Role.UNCLASSIFIED),  # fails by more than the margin
        (Role.HUNTER, 0.30, Role.FARMER),  # a real change goes all the way
        (Role.FARMER, 0.44, Role.FARMER),  # lte 0.40 loosened to 0.45
        (Role.FARMER, 0.46, Role.UNCLASSIFIED),
    ],
)
def test_a_change_beyond_the_margin_still_flips(
    previous: Role, share: float, expected: Role
) -> None:
    owners = {o.owner_id: o for o in plan(share, 0.05, {"olive": previous}).owners}
    assert owners["olive"].role is expected


def test_the_held_reason_names_the_metric_the_margin_and_the_threshold() -> None:
    owners = {o.owner_id: o for o in plan(0.7998, 0.05, {"olive": Role.HUNTER}).owners}
    olive = owners["olive"]
    assert olive.rule_id == "hunter"
    assert olive.reason == (
        "held hunter: new_business_share 0.7998 within the 0.05 margin of 0.8 "
        "(without the margin: unclassified, no rule matched)"
    )
    # Fay's role is her own: nothing to hold.
    assert owners["fay"].reason.startswith("farmer: ")


def test_no_previous_run_means_no_hysteresis() -> None:
    owners = {o.owner_id: o.role for o in plan(0.8014, 0.05, {}).owners}
    assert owners["olive"] is Role.HUNTER


def test_overrides_are_never_held() -> None:
    doc = with_margin(0.05)
    doc["overrides"] = [{"owner": "olive", "role": "farmer", "reason": "key accounts"}]
    roles = CompiledRoles(RolesFile.model_validate(doc))
    decision = roles.classify(owner("olive"), RoleMetrics(new_business_share=0.8), Role.HUNTER)
    assert (decision.role, decision.rule_id) == (Role.FARMER, "override")


def test_under_not_the_margin_moves_the_other_way() -> None:
    # "not below 0.80" is a hunter: leaving it must still take a share under 0.75.
    doc = with_margin(0.05)
    doc["classify"] = [
        {
            "id": "hunter",
            "role": "hunter",
            "when": {"not": {"metric": "new_business_share", "op": "lt", "value": 0.8}},
        }
    ]
    roles = CompiledRoles(RolesFile.model_validate(doc))
    olive = owner("olive")

    def role(share: float, previous: Role) -> Role:
        return roles.classify(olive, RoleMetrics(new_business_share=share), previous).role

    assert role(0.76, Role.HUNTER) is Role.HUNTER
    assert role(0.74, Role.HUNTER) is Role.UNCLASSIFIED
    assert role(0.84, Role.UNCLASSIFIED) is Role.UNCLASSIFIED
    assert role(0.85, Role.UNCLASSIFIED) is Role.HUNTER


def test_in_an_all_every_numeric_comparison_must_clear_the_margin() -> None:
    doc = with_margin(0.05)
    doc["classify"] = [
        {
            "id": "hunter",
            "role": "hunter",
            "when": {
                "all": [
                    {"metric": "new_business_share", "op": "gte", "value": 0.8},
                    {"metric": "won_deals", "op": "gte", "value": 3},
                ]
            },
        }
    ]
    roles = CompiledRoles(RolesFile.model_validate(doc))
    olive = owner("olive")
    # The share clears its threshold by the margin, the deal count (3 vs 3.05) does not.
    metrics = RoleMetrics(new_business_share=0.9, won_deals=3)
    assert roles.classify(olive, metrics, Role.UNCLASSIFIED).role is Role.UNCLASSIFIED
    assert roles.classify(olive, metrics, None).role is Role.HUNTER
    assert roles.classify(olive, RoleMetrics(new_business_share=0.9, won_deals=4)).role is (
        Role.HUNTER
    )


# -- explain ------------------------------------------------------------------------------


def test_explain_says_why_a_role_was_held() -> None:
    explainer = Explainer(
        book(0.7998),
        RolesFile.model_validate(with_margin(0.05)),
        RoutingFile.model_validate(ROUTING),
        AS_OF,
        previous_roles={"olive": Role.HUNTER},
    )
    text = explainer.explain_owner(owner("olive"))
    assert "Role: hunter, by rule hunter\n" in text
    assert (
        "Held by hysteresis: hunter: new_business_share 0.7998 within the 0.05 margin of 0.8 "
        "(without the margin: unclassified, no rule matched)." in text
    )
    unheld = Explainer(
        book(0.7998),
        RolesFile.model_validate(with_margin(0.05)),
        RoutingFile.model_validate(ROUTING),
        AS_OF,
    )
    assert "Held by hysteresis" not in unheld.explain_owner(owner("olive"))


# -- check --------------------------------------------------------------------------------


def _check(
    tmp_path: Path, doc: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[str]]:
    rules = tmp_path / "roles.yaml"
    rules.write_text(json.dumps(doc, indent=2))  # JSON is YAML
    code = main(["check", str(rules)])
    captured = capsys.readouterr()
    prefix = f"{rules}:"
    # ROLES has no fallback rule on purpose; `check` warns about it beside any error
    # (every finding at once), which is not what these tests look at.
    lines = [
        line.removeprefix(prefix)
        for line in (captured.out + captured.err).splitlines()
        if line.startswith(prefix) and not line.endswith("[no-fallback]")
    ]
    return code, lines


def _margin_line(doc: dict[str, Any]) -> int:
    text = json.dumps(doc, indent=2)
    return next(n for n, line in enumerate(text.splitlines(), 1) if '"margin"' in line)


@pytest.mark.parametrize("margin", [0, -0.05, "0.05", True, None])
def test_check_refuses_a_margin_that_is_not_a_positive_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], margin: Any
) -> None:
    doc = copy.deepcopy(ROLES)
    doc["hysteresis"] = {"margin": margin}
    code, lines = _check(tmp_path, doc, capsys)
    assert code == 1
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{_margin_line(doc)}:"), lines
    assert "error: hysteresis.margin: Input should be" in lines[0]


def test_check_warns_when_no_rule_has_a_numeric_comparison(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = with_margin(0.05)
    doc["classify"] = [
        {
            "id": "ae",
            "role": "hunter",
            "when": {"field": "owner.title", "op": "contains", "value": "account exec"},
        },
        {"id": "rest", "role": "farmer"},
    ]
    _, lines = _check(tmp_path, doc, capsys)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{_margin_line(doc)}:"), lines
    assert "warning" in lines[0]
    assert "hysteresis margin never applies" in lines[0]
    # With a numeric comparison the same margin is fine (ROLES has no catch-all rule:
    # check warns about that, and only that; `_check` leaves that warning out).
    code, lines = _check(tmp_path, with_margin(0.05), capsys)
    assert (code, lines) == (3, [])


# -- metrics: which comparisons move --------------------------------------------------------


def _share_and_count(metrics: list[str] | None) -> CompiledRoles:
    doc = with_margin(0.05)
    doc["hysteresis"]["metrics"] = metrics
    doc["classify"] = [
        {
            "id": "hunter",
            "role": "hunter",
            "when": {
                "all": [
                    {"metric": "new_business_share", "op": "gte", "value": 0.8},
                    {"metric": "won_deals", "op": "gte", "value": 3},
                ]
            },
        }
    ]
    return CompiledRoles(RolesFile.model_validate(doc))


def test_metrics_limits_the_margin_to_the_comparisons_named() -> None:
    olive = owner("olive")
    metrics = RoleMetrics(new_business_share=0.9, won_deals=3)
    # Only the share moves: 3 won deals meet `gte 3` as they are.
    assert _share_and_count(["new_business_share"]).classify(
        olive, metrics, Role.UNCLASSIFIED
    ).role is (Role.HUNTER)
    assert _share_and_count(None).classify(olive, metrics, Role.UNCLASSIFIED).role is (
        Role.UNCLASSIFIED
    )
    # The share is still held within the margin.
    near = RoleMetrics(new_business_share=0.82, won_deals=3)
    roles = _share_and_count(["new_business_share"])
    assert roles.classify(olive, near, Role.UNCLASSIFIED).role is Role.UNCLASSIFIED


def test_check_refuses_an_unknown_metric_with_a_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = with_margin(0.05)
    doc["hysteresis"]["metrics"] = ["new_busines_share"]
    code, lines = _check(tmp_path, doc, capsys)
    assert code == 1
    assert len(lines) == 1, lines
    assert "unknown value 'new_busines_share'; did you mean 'new_business_share'?" in lines[0]


def test_check_warns_about_a_listed_metric_no_rule_compares(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = with_margin(0.05)
    doc["hysteresis"]["metrics"] = ["new_business_share", "won_deals"]
    _, lines = _check(tmp_path, doc, capsys)
    warned = [line for line in lines if "hysteresis-unused" in line]
    assert len(warned) == 1, lines
    text = json.dumps(doc, indent=2).splitlines()
    row = next(n for n, line in enumerate(text, 1) if '"won_deals"' in line)
    assert warned[0].startswith(f"{row}:"), warned
    assert "no classify rule compares 'won_deals'" in warned[0]
