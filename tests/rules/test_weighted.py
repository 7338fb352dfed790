"""`strategy: weighted`: shares, continuation across runs, caps, `check` and `explain`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from builders import AS_OF, ROLES, account, inputs, owner, routing, won
from roleSync.check import STOCK_MAPPINGS, check_paths
from roleSync.model import Account, Book, DealKind, Owner
from roleSync.plan import build_plan
from roleSync.report.explain import Explainer
from roleSync.rules.routes import CompiledRoute, CompiledRouting
from roleSync.rules.routing import FarmerPicker
from roleSync.rules.schema import RolesFile, RoutingFile
from roleSync.rules.semantics import CheckContext
from roleSync.rules.weighted import WeightedRotation, decode

WEIGHTS = {"ann@example.com": 3, "bob": 2, "cy@example.com": 1}


def weighted_route(
    weights: dict[str, Any] | None = None, capacity: dict[str, int] | None = None
) -> dict[str, Any]:
    assign: dict[str, Any] = {
        "pool": ["ann@example.com", "bob@example.com", "cy@example.com"],
        "strategy": "weighted",
        "weights": WEIGHTS if weights is None else weights,
    }
    if capacity is not None:
        assign["capacity"] = capacity
    return {"id": "mid", "assign": assign}


def picker_book(accounts: int, *, cy_active: bool = True) -> Book:
    """Hank owns `accounts` accounts; ann, bob and cy own none."""
    owners = [owner("hank"), owner("ann"), owner("bob"), owner("cy", active=cy_active)]
    return Book(owners, [account(f"a{i:04d}", "hank") for i in range(accounts)], [])


def setup(
    accounts: int, route: dict[str, Any], *, cy_active: bool = True
) -> tuple[Book, CompiledRoute]:
    compiled = CompiledRouting(RoutingFile.model_validate(routing(route)))
    return picker_book(accounts, cy_active=cy_active), compiled.routes[0]


def picks(
    book: Book, route: CompiledRoute, accounts: list[Account], rotation: dict[str, str]
) -> tuple[list[str | None], dict[str, str]]:
    picker = FarmerPicker(book, {}, {}, rotation)
    chosen = [picker.pick(route, a).owner for a in accounts]
    return [o.id if o else None for o in chosen], picker.rotation


def test_over_1000_handoffs_each_share_stays_within_one_account_of_its_target() -> None:
    book, route = setup(1000, weighted_route())
    chosen, _ = picks(book, route, list(book.accounts.values()), {})
    targets = {"ann": 3 / 6, "bob": 2 / 6, "cy": 1 / 6}
    counts: Counter[str | None] = Counter()
    for n, owner_id in enumerate(chosen, start=1):
        counts[owner_id] += 1
        # Not only at the end: after every handoff, no one is a whole account off.
        for member, share in targets.items():
            assert abs(counts[member] - n * share) < 1, (n, member, counts)
    assert counts == {"ann": 500, "bob": 333, "cy": 167}
    # Smooth: the heaviest member never takes more than two in a row with weights 3/2/1.
    assert chosen[:6] == ["ann", "bob", "ann", "cy", "bob", "ann"]


def test_two_runs_of_500_pick_exactly_as_one_run_of_1000() -> None:
    book, route = setup(1000, weighted_route())
    accounts = list(book.accounts.values())
    whole, _ = picks(book, route, accounts, {})
    first, state = picks(book, route, accounts[:500], {})
    second, _ = picks(book, route, accounts[500:], state)
    assert first + second == whole
    # The state is the running scores, by owner id, and they sum to zero.
    scores = json.loads(state["mid"])
    assert set(scores) <= {"ann", "bob", "cy"} and sum(scores.values()) == 0


@pytest.mark.parametrize(
    "state", ["", "fred", "not json {", "[1, 2]", '{"ann": "x"}', '{"ann": NaN}', '{"ann": true}']
)
def test_a_missing_or_unreadable_state_starts_afresh(state: str) -> None:
    book, route = setup(12, weighted_route())
    accounts = list(book.accounts.values())
    assert picks(book, route, accounts, {"mid": state})[0] == picks(book, route, accounts, {})[0]


def test_scores_of_members_who_left_the_pool_are_dropped() -> None:
    assert decode('{"gone": 5, "ann": -2}', ["ann", "bob"]) == [-2, 0]
    rotation = WeightedRotation(["ann", "bob"], {"ann": 2}, '{"gone": 5}')
    assert [rotation.pick([0, 1]) for _ in range(3)] == [0, 1, 0]
    assert rotation.state() == "{}"  # one full cycle: back to all zeros


def test_a_member_at_capacity_is_passed_over_and_the_others_keep_their_ratio() -> None:
    book, route = setup(60, weighted_route(capacity={"max_accounts": 10}))
    chosen, _ = picks(book, route, list(book.accounts.values()), {})
    counts = Counter(chosen)
    assert counts["ann"] == 10 and counts["bob"] == 10 and counts["cy"] == 10
    assert counts[None] == 30  # then nobody is left: skipped with the usual reason
    picker = FarmerPicker(book, {}, {}, {})
    for a in list(book.accounts.values())[:30]:
        picker.pick(route, a)
    reason = picker.pick(route, book.accounts["a0059"]).reason
    assert reason == "route mid: no eligible farmer among 3 (3 at capacity (10 accounts))"


def test_once_the_heaviest_is_full_the_rest_share_by_their_weights() -> None:
    book, route = setup(
        60, weighted_route(weights={"ann@example.com": 3, "bob": 2}, capacity={"max_accounts": 12})
    )
    chosen, _ = picks(book, route, list(book.accounts.values())[:30], {})
    counts = Counter(chosen)
    # ann fills first (12); bob and cy then share 2:1, within one account.
    assert counts["ann"] == 12
    assert abs(counts["bob"] - 2 * counts["cy"]) <= 2 and counts["bob"] + counts["cy"] == 18


def test_an_inactive_member_receives_nothing_and_the_others_share_its_turns() -> None:
    book, route = setup(30, weighted_route(), cy_active=False)
    counts = Counter(picks(book, route, list(book.accounts.values()), {})[0])
    assert counts == {"ann": 18, "bob": 12}


def test_the_pick_says_why_this_member() -> None:
    book, route = setup(1, weighted_route())
    pick = FarmerPicker(book, {}, {}, {}).pick(route, book.accounts["a0000"])
    assert pick.reason == (
        "route mid: weighted, weight 3 of 6 in the pool (a 50% share); "
        "highest running score of 3 eligible"
    )


def test_role_pools_take_weights_by_email_and_default_to_one() -> None:
    """End to end: fran weighs 3 in `{role: farmer}`, fred the default 1."""
    owners = [owner("hank"), owner("fran"), owner("fred")]
    accounts = [account(f"c{i}", "hank") for i in range(8)]
    deals = [won(f"d{i}", f"c{i}", "hank", AS_OF.replace(month=5)) for i in range(8)]
    route = {
        "id": "all",
        "assign": {
            "pool": {"role": "farmer"},
            "strategy": "weighted",
            "weights": {"fran@example.com": 3},
        },
    }
    farmers = [account("f1", "fran"), account("f2", "fred")]
    deals += [won(f"e{f.id}", f.id, f.owner_id or "", AS_OF, DealKind.EXPANSION) for f in farmers]
    book = Book(owners, [*accounts, *farmers], deals)
    plan = build_plan(book, inputs(routing(route)))
    moved = Counter(c.to_owner_id for c in plan.changes)
    assert moved == {"fran": 6, "fred": 2}
    # The next run goes on from the stored scores: a fresh one starts with fran.
    assert json.loads(plan.rotation["all"]) == {}  # 8 = two full cycles
    assert [c.to_owner_id for c in plan.changes][:2] == ["fran", "fran"]
    again = build_plan(book, inputs(routing(route), rotation={"all": '{"fran": -3, "fred": 3}'}))
    assert [c.to_owner_id for c in again.changes][:2] == ["fred", "fran"]


# -- schema and check ----------------------------------------------------------------


@pytest.mark.parametrize("weight", [0, -1, 0.0, float("nan"), float("inf"), True, "3"])
def test_weights_must_be_positive_finite_numbers(weight: object) -> None:
    with pytest.raises(ValidationError):
        RoutingFile.model_validate(routing(weighted_route(weights={"ann@example.com": weight})))


def _check(tmp_path: Path, assign: str, owners: list[Owner] | None = None) -> list[str]:
    path = tmp_path / "routing.yaml"
    path.write_text(
        "version: 1\nkind: routing\nroutes:\n  - id: mid\n    assign:\n"
        "      pool: [ann@example.com, bob@example.com]\n" + assign
    )
    by_key = None
    if owners is not None:
        by_key = {o.id: o for o in owners} | {o.email.casefold(): o for o in owners}
    context = CheckContext(owners=by_key, mappings=STOCK_MAPPINGS)
    return [str(d).removeprefix(f"{path}:") for d in check_paths([path], context)[1]]


def test_check_points_at_a_weight_that_is_not_positive(tmp_path: Path) -> None:
    assign = "      strategy: weighted\n      weights: {ann@example.com: 3, bob@example.com: 0}\n"
    problems = _check(tmp_path, assign)
    assert problems == [
        "8:54: error: routes.0.assign.weights.bob@example.com: Input should be greater than 0 "
        "[out-of-range]"
    ]


def test_check_refuses_weights_on_another_strategy(tmp_path: Path) -> None:
    assign = "      strategy: round_robin\n      weights: {ann@example.com: 3}\n"
    assert _check(tmp_path, assign) == [
        "8:16: error: routes.0.assign.weights: weights only apply to strategy weighted, "
        "not round_robin [weights-unused]"
    ]


def test_check_names_unknown_and_outside_owners_with_a_suggestion(tmp_path: Path) -> None:
    owners = [owner("ann"), owner("bob"), owner("cy")]
    assign = (
        "      strategy: weighted\n"
        "      weights:\n"
        "        anne@example.com: 3\n"
        "        cy@example.com: 2\n"
        "        bob: 1\n"
    )
    assert _check(tmp_path, assign, owners) == [
        "9:9: error: no owner 'anne@example.com' in the book; did you mean "
        "'ann@example.com'? [unknown-owner]",
        "10:9: error: 'cy@example.com' has a weight but is not in the pool; "
        "the pool: ann@example.com, bob@example.com [not-in-pool]",
    ]
    # Without a book, a spelling close to a pool entry is suggested.
    assert _check(tmp_path, "      strategy: weighted\n      weights: {bobb@example.com: 2}\n") == [
        "8:17: error: 'bobb@example.com' has a weight but is not in the pool; did you mean "
        "'bob@example.com'? [not-in-pool]"
    ]


# -- explain -------------------------------------------------------------------------


def test_explain_shows_the_weights_scores_and_why_this_member() -> None:
    owners = [owner("hank"), owner("ann"), owner("bob"), owner("cy")]
    accounts = [account(f"c{i}", "hank") for i in range(3)]
    deals = [won(f"d{i}", f"c{i}", "hank", AS_OF.replace(month=5)) for i in range(3)]
    explainer = Explainer(
        Book(owners, accounts, deals),
        RolesFile.model_validate(ROLES),
        RoutingFile.model_validate(routing(weighted_route())),
        AS_OF,
    )
    text = explainer.explain_account(explainer.book.accounts["c1"])
    assert (
        "pool: ann@example.com, bob@example.com, cy@example.com; weighted "
        "(ann@example.com 3, bob 2, cy@example.com 1; others 1), continuing across runs"
    ) in text
    # c0 went to ann before it: her score is 3 - 6 = -3, bob's 2, cy's 1.
    assert "running scores before this pick: Ann -3 (weight 3), Bob 2 (weight 2), Cy 1" in text
    assert (
        "Picked Bob: route mid: weighted, weight 2 of 6 in the pool (a 33% share); "
        "highest running score of 3 eligible."
    ) in text
    owner_text = explainer.explain_owner(explainer.book.owners["bob"])
    assert "; weight 2 of 6 in its rotation" in owner_text
