"""`when_full: next_route` (issue 15): a route whose pool is full passes the account on to
the next matching route; `check` warns when there is nowhere to pass it; `explain` says so."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from builders import AS_OF, ROLES, account, inputs, owner, routing, won
from roleSync.cli import main
from roleSync.model import Book, DealKind
from roleSync.plan import Plan, SkipCode, build_plan
from roleSync.report.explain import Explainer
from roleSync.rules.schema import RolesFile, RoutingFile


def book(customers: int = 6, tiers: str = "", farmer_tier: str = "", **account_kw: Any) -> Book:
    """Hank hunts and owns `customers` new customers c0.. (oldest win first), c{i} of tier
    Key where `tiers[i]` is K; fran, fred and fay farm, one account each (`farmer_tier`)."""
    owners = [owner("hank"), owner("fran"), owner("fred"), owner("fay")]
    accounts, deals = [], []
    for i in range(customers):
        tier = "Key" if tiers[i : i + 1] == "K" else "Mid"
        accounts.append(account(f"c{i}", "hank", tier=tier, **account_kw))
        deals.append(won(f"d-c{i}", f"c{i}", "hank", date(2026, 5, 1 + i)))
    for farmer in ("fran", "fred", "fay"):
        accounts.append(account(f"{farmer}-0", farmer, lifecycle="customer", tier=farmer_tier))
        deals.append(
            won(f"d-{farmer}", f"{farmer}-0", farmer, date(2026, 3, 1), DealKind.EXPANSION)
        )
    return Book(owners, accounts, deals)


def route(rid: str, pool: list[str], cap: int | None = None, **extra: Any) -> dict[str, Any]:
    assign: dict[str, Any] = {"pool": pool}
    if cap is not None:
        assign["capacity"] = {"max_accounts": cap}
    return {"id": rid, "assign": assign, **extra}


def moves(plan: Plan) -> dict[str, tuple[str, str]]:
    return {c.account_id: (c.to_owner_id, c.rule_id) for c in plan.changes}


FRAN_FIRST = route("fran-first", ["fran"], cap=3, when_full="next_route")


def test_once_the_first_pool_is_full_the_rest_go_on_to_the_next_route() -> None:
    plan = build_plan(book(), inputs(routing(FRAN_FIRST, route("fred", ["fred"]))))
    # fran holds 1 and takes 2 (oldest wins first) up to her cap of 3; the rest go to fred
    assert moves(plan) == {
        "c0": ("fran", "fran-first"),
        "c1": ("fran", "fran-first"),
        "c2": ("fred", "fred"),
        "c3": ("fred", "fred"),
        "c4": ("fred", "fred"),
        "c5": ("fred", "fred"),
    }
    assert plan.skipped == []
    reasons = {c.account_id: c.reason for c in plan.changes}
    assert "overflowed" not in reasons["c1"]
    assert reasons["c2"].endswith(
        "route fred: round robin, turn 1 of 1 in the pool; overflowed here past full "
        "route fran-first (no eligible farmer among 1 (1 at capacity (3 accounts)))"
    )


def test_without_when_full_a_full_pool_skips_as_before() -> None:
    plain = route("fran-first", ["fran"], cap=3)
    plan = build_plan(book(), inputs(routing(plain, route("fred", ["fred"]))))
    assert set(moves(plan)) == {"c0", "c1"}
    assert {s.account_id: s.code for s in plan.skipped} == dict.fromkeys(
        ["c2", "c3", "c4", "c5"], SkipCode.NO_FARMER
    )
    assert plan.skipped[0].reason == (
        "route fran-first: no eligible farmer among 1 (1 at capacity (3 accounts))"
    )


def test_overflow_goes_to_the_next_route_that_matches_not_the_next_written() -> None:
    enterprise = route(
        "enterprise",
        ["fay"],
        when={"field": "account.segment", "op": "eq", "value": "Enterprise"},
    )
    plan = build_plan(
        book(segment="SMB"), inputs(routing(FRAN_FIRST, enterprise, route("fred", ["fred"])))
    )
    assert {to for to, _ in moves(plan).values()} == {"fran", "fred"}
    assert moves(plan)["c5"] == ("fred", "fred")


def test_a_full_last_route_skips_naming_every_full_route() -> None:
    fred_full = route("fred-capped", ["fred"], cap=2, when_full="next_route")
    fay_full = route("fay-capped", ["fay"], cap=2)
    plan = build_plan(book(), inputs(routing(FRAN_FIRST, fred_full, fay_full)))
    assert moves(plan) == {
        "c0": ("fran", "fran-first"),
        "c1": ("fran", "fran-first"),
        "c2": ("fred", "fred-capped"),
        "c3": ("fay", "fay-capped"),
    }
    assert [s.account_id for s in plan.skipped] == ["c4", "c5"]
    skip = plan.skipped[0]
    assert skip.code == SkipCode.NO_FARMER
    assert skip.reason == (
        "every route tried is full (when_full: next_route): "
        "route fran-first (no eligible farmer among 1 (1 at capacity (3 accounts))); "
        "route fred-capped (no eligible farmer among 1 (1 at capacity (2 accounts))); "
        "route fay-capped (no eligible farmer among 1 (1 at capacity (2 accounts)))"
    )


def test_when_no_later_route_matches_the_skip_says_so() -> None:
    fred = route("fred-capped", ["fred"], cap=2, when_full="next_route")
    enterprise = route(
        "enterprise", ["fay"], when={"field": "account.segment", "op": "eq", "value": "Enterprise"}
    )
    plan = build_plan(book(segment="SMB"), inputs(routing(FRAN_FIRST, fred, enterprise)))
    assert [s.account_id for s in plan.skipped] == ["c3", "c4", "c5"]
    assert plan.skipped[0].reason.endswith(
        "route fred-capped (no eligible farmer among 1 (1 at capacity (2 accounts))); "
        "no later route matches the account"
    )


def test_next_route_on_the_last_route_skips_like_skip() -> None:
    fred_last = route("fred-last", ["fred"], cap=2, when_full="next_route")
    plan = build_plan(book(), inputs(routing(FRAN_FIRST, fred_last)))
    assert [s.account_id for s in plan.skipped] == ["c3", "c4", "c5"]
    assert plan.skipped[0].reason.endswith(
        "; route fred-last (no eligible farmer among 1 (1 at capacity (2 accounts)))"
    )


def test_owner_left_blocks_overflow_within_their_own_routes() -> None:
    books = book(customers=0)
    left = owner("lou", active=False)
    accounts = [account(f"l{i}", "lou", lifecycle="customer") for i in range(4)]
    books = Book([*books.owners.values(), left], [*books.accounts.values(), *accounts], [])
    doc = routing(route("file-route", ["fay"]))
    doc["handoffs"] = [
        {
            "id": "left",
            "trigger": "owner_left",
            "routes": [
                route("left-fran", ["fran"], cap=2, when_full="next_route"),
                route("left-fred", ["fred"]),
            ],
        }
    ]
    del doc["handoff"]
    plan = build_plan(books, inputs(doc))
    assert sorted(moves(plan).values()) == [
        ("fran", "left-fran"),
        ("fred", "left-fred"),
        ("fred", "left-fred"),
        ("fred", "left-fred"),
    ]


def test_explain_follows_the_account_from_the_full_route_to_the_next() -> None:
    doc = routing(FRAN_FIRST, route("fred", ["fred"]))
    explainer = Explainer(
        book(), RolesFile.model_validate(ROLES), RoutingFile.model_validate(doc), AS_OF
    )
    text = explainer.explain_account(explainer.book.accounts["c2"])
    assert (
        "  Route fran-first is full (route fran-first: no eligible farmer among 1 (1 at "
        "capacity (3 accounts))); when_full: next_route: the account overflows to route "
        "fred, the next route that matches it." in text
    )
    assert "Picking the farmer on route fred:" in text
    assert "  Picked Fred: route fred: round robin, turn 1 of 1 in the pool." in text


# -- capacity.per_class ---------------------------------------------------------------------

KEY = {"field": "account.tier", "op": "eq", "value": "Key"}


def key_capped(cap: int, **extra: Any) -> dict[str, Any]:
    capacity = {"per_class": [{"id": "key-accounts", "when": KEY, "max_accounts": cap}]}
    return {"id": "kam", "assign": {"pool": ["fran"], "capacity": capacity}, **extra}


def test_a_class_cap_refuses_accounts_of_the_class_only_and_overflow_takes_the_rest() -> None:
    doc = routing(key_capped(2, when_full="next_route"), route("fred", ["fred"]))
    plan = build_plan(book(tiers="KKKMKM"), inputs(doc))
    # fran takes two key accounts, then only the others; key accounts go on to fred
    assert moves(plan) == {
        "c0": ("fran", "kam"),
        "c1": ("fran", "kam"),
        "c2": ("fred", "fred"),
        "c3": ("fran", "kam"),
        "c4": ("fred", "fred"),
        "c5": ("fran", "kam"),
    }
    reason = next(c.reason for c in plan.changes if c.account_id == "c2")
    assert reason.endswith(
        "overflowed here past full route kam (no eligible farmer among 1 "
        "(1 at capacity (2 key-accounts accounts)))"
    )


def test_a_class_cap_counts_the_accounts_of_the_class_already_held() -> None:
    doc = routing(key_capped(2))
    plan = build_plan(book(tiers="KKM", customers=3, farmer_tier="Key"), inputs(doc))
    # fran holds one key account already: one more, then key accounts are skipped
    assert moves(plan) == {"c0": ("fran", "kam"), "c2": ("fran", "kam")}
    assert [(s.account_id, s.code, s.reason) for s in plan.skipped] == [
        (
            "c1",
            SkipCode.NO_FARMER,
            "route kam: no eligible farmer among 1 (1 at capacity (2 key-accounts accounts))",
        )
    ]


def test_a_class_cap_first_consulted_mid_plan_counts_the_plans_earlier_moves() -> None:
    # key-first gives fran c0 (her second account: full); c1 goes on to kam, whose class
    # count is taken then: fran holds c0, a key account, so one more and c2 goes to fred
    key_first = route("key-first", ["fran"], cap=2, when=KEY, when_full="next_route")
    doc = routing(key_first, key_capped(2, when_full="next_route"), route("fred", ["fred"]))
    plan = build_plan(book(tiers="KKK", customers=3), inputs(doc))
    assert moves(plan) == {
        "c0": ("fran", "key-first"),
        "c1": ("fran", "kam"),
        "c2": ("fred", "fred"),
    }


def test_explain_shows_the_class_cap_in_the_pool_table() -> None:
    doc = routing(key_capped(1, when_full="next_route"), route("fred", ["fred"]))
    explainer = Explainer(
        book(tiers="KK", customers=2),
        RolesFile.model_validate(ROLES),
        RoutingFile.model_validate(doc),
        AS_OF,
    )
    text = explainer.explain_account(explainer.book.accounts["c1"])
    assert "ineligible: at capacity (1 key-accounts accounts)" in text
    assert "the account overflows to route fred" in text


# -- check -------------------------------------------------------------------------------


def _check(tmp_path: Path, doc: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> list[str]:
    rules = tmp_path / "routing.yaml"
    rules.write_text(json.dumps(doc, indent=2))  # JSON is YAML
    main(["check", str(rules)])
    captured = capsys.readouterr()
    prefix = f"{rules}:"
    return [
        line.removeprefix(prefix)
        for line in (captured.out + captured.err).splitlines()
        if line.startswith(prefix)
    ]


def test_check_warns_about_next_route_on_the_last_route(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = routing(
        route("first", ["fran"], when_full="next_route"),
        route("last", ["fred"], when_full="next_route"),
    )
    lines = _check(tmp_path, doc, capsys)
    assert len(lines) == 1, lines
    assert "warning" in lines[0]
    assert "nothing-to-overflow" in lines[0]
    assert "'last' is the last route" in lines[0]
    # A catch-all that passes on hides nothing after it: no unreachable-rule warning.
    ok = routing(route("first", ["fran"], when_full="next_route"), route("last", ["fred"]))
    assert _check(tmp_path, ok, capsys) == []
    hidden = routing(route("first", ["fran"]), route("last", ["fred"]))
    assert ["unreachable-rule" in line for line in _check(tmp_path, hidden, capsys)] == [True]


def test_check_refuses_an_unknown_when_full_with_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = routing(route("first", ["fran"], when_full="next-route"), route("last", ["fred"]))
    lines = _check(tmp_path, doc, capsys)
    assert len(lines) == 1, lines
    assert "error" in lines[0]
    assert "did you mean 'next_route'" in lines[0]


def test_check_refuses_unknown_fields_and_twice_named_classes_in_per_class(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = key_capped(2, when_full="next_route")
    bad["assign"]["capacity"]["per_class"][0]["when"] = {
        "field": "account.teir",
        "op": "eq",
        "value": "Key",
    }
    lines = _check(tmp_path, routing(bad, route("last", ["fred"])), capsys)
    assert len(lines) == 1, lines
    assert "unknown account field 'account.teir'; did you mean 'account.tier'" in lines[0]
    twice = key_capped(2, when_full="next_route")
    classes = twice["assign"]["capacity"]["per_class"]
    classes.append(dict(classes[0]))
    lines = _check(tmp_path, routing(twice, route("last", ["fred"])), capsys)
    assert len(lines) == 1, lines
    assert "duplicate class id 'key-accounts' in per_class" in lines[0]


def test_explain_says_when_no_later_route_matches() -> None:
    enterprise = route("enterprise", ["fay"], when={**KEY, "value": "Enterprise"})
    enterprise["when"]["field"] = "account.segment"
    doc = routing(FRAN_FIRST, enterprise)
    explainer = Explainer(
        book(customers=3, segment="SMB"),
        RolesFile.model_validate(ROLES),
        RoutingFile.model_validate(doc),
        AS_OF,
    )
    skipped = [s.account_id for s in explainer.plan.skipped]
    assert skipped == ["c2"]
    text = explainer.explain_account(explainer.book.accounts["c2"])
    assert (
        "  No eligible farmer: route fran-first: no eligible farmer among 1 (1 at capacity "
        "(3 accounts)); when_full: next_route, but no later route matches the account." in text
    )
