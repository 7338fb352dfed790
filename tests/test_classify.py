"""Compiled conditions and owner classification."""

from __future__ import annotations

from typing import Any

import pytest

from builders import owner
from roleSync.metrics import RoleMetrics
from roleSync.model import Role
from roleSync.rules.classify import CompiledRoles, OwnerFacts, resolve_owner_subject
from roleSync.rules.compile import compile_condition
from roleSync.rules.schema import RolesFile


def holds(condition: dict[str, Any], metrics: RoleMetrics, title: str = "AE") -> bool:
    roles = RolesFile.model_validate(
        {
            "version": 1,
            "kind": "roles",
            "classify": [{"id": "x", "role": "hunter", "when": condition}],
        }
    )
    predicate = compile_condition(roles.classify[0].when, resolve_owner_subject)
    return predicate(OwnerFacts(owner("o", title=title), metrics))


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"metric": "won_deals", "op": "gte", "value": 3}, True),
        ({"metric": "won_deals", "op": "gt", "value": 3}, False),
        ({"metric": "won_deals", "op": "eq", "value": 3}, True),
        ({"metric": "won_deals", "op": "in", "value": [1, 2]}, False),
        ({"metric": "won_deals", "op": "not_in", "value": [1, 2]}, True),
        # A missing metric (nothing won: no share) matches only ne / not_in.
        ({"metric": "new_business_share", "op": "gte", "value": 0}, False),
        ({"metric": "new_business_share", "op": "lt", "value": 1}, False),
        ({"metric": "new_business_share", "op": "ne", "value": 0.5}, True),
        ({"not": {"metric": "new_business_share", "op": "gte", "value": 0.6}}, True),
        (
            {
                "any": [
                    {"metric": "won_deals", "op": "lt", "value": 1},
                    {"field": "owner.title", "op": "contains", "value": "account exec"},
                ]
            },
            True,
        ),
        (
            {
                "all": [
                    {"metric": "won_deals", "op": "gte", "value": 1},
                    {"field": "owner.title", "op": "eq", "value": "  account executive "},
                ]
            },
            True,
        ),
        ({"field": "owner.active", "op": "eq", "value": True}, True),
    ],
)
def test_condition_semantics(condition: dict[str, Any], expected: bool) -> None:
    metrics = RoleMetrics(won_deals=3, new_business_share=None)
    assert holds(condition, metrics, title="Account Executive") is expected


ROLES = {
    "version": 1,
    "kind": "roles",
    "classify": [
        {
            "id": "hunter-by-mix",
            "role": "hunter",
            "when": {
                "all": [
                    {"metric": "new_business_share", "op": "gte", "value": 0.6},
                    {"metric": "new_business_won_count", "op": "gte", "value": 3},
                ]
            },
        },
        {
            "id": "farmer-by-mix",
            "role": "farmer",
            "when": {"metric": "new_business_share", "op": "lte", "value": 0.4},
        },
    ],
    "overrides": [{"owner": "Dana@Example.com", "role": "farmer", "reason": "key accounts"}],
}


def test_first_matching_rule_wins_and_says_which_figures_decided() -> None:
    roles = CompiledRoles(RolesFile.model_validate(ROLES))
    decision = roles.classify(
        owner("hank"), RoleMetrics(new_business_share=0.8234, new_business_won_count=5)
    )
    assert (decision.role, decision.rule_id) == (Role.HUNTER, "hunter-by-mix")
    assert decision.reason == "hunter-by-mix: new_business_share=0.8234, new_business_won_count=5"


def test_unmatched_owner_is_unclassified_with_the_figures_looked_at() -> None:
    roles = CompiledRoles(RolesFile.model_validate(ROLES))
    decision = roles.classify(
        owner("vp"), RoleMetrics(new_business_share=0.5, new_business_won_count=1)
    )
    assert (decision.role, decision.rule_id) == (Role.UNCLASSIFIED, None)
    assert decision.reason == ("no rule matched (new_business_share=0.5, new_business_won_count=1)")


def test_override_by_email_beats_the_rules() -> None:
    roles = CompiledRoles(RolesFile.model_validate(ROLES))
    decision = roles.classify(
        owner("dana"), RoleMetrics(new_business_share=1.0, new_business_won_count=9)
    )
    assert (decision.role, decision.rule_id, decision.reason) == (
        Role.FARMER,
        "override",
        "override: key accounts",
    )
