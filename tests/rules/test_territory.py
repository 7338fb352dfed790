"""Territory matches (issue 15): a route's `assign.match` keeps each account among the
pool members whose own fields match it; a skip and `explain` say who was outside it;
`check` finds names that are no fields, or that the profile does not map."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from builders import AS_OF, ROLES, account, inputs, routing, won
from roleSync.cli import main
from roleSync.model import Account, Book, DealKind, Owner
from roleSync.plan import Plan, SkipCode, build_plan
from roleSync.plan.recheck import refused_changes
from roleSync.report.explain import Explainer
from roleSync.rules.schema import RolesFile, RoutingFile
from roleSync.rules.territory import Territory, owner_values, text_of
from roleSync.rules.territory_schema import MatchOp, TerritoryMatch

REGION_IN = {"account": "account.region", "owner": "owner.fields.regions", "op": "in"}


def territory(*parts: dict[str, str]) -> Territory:
    return Territory([TerritoryMatch.model_validate(p) for p in parts])


def person(oid: str, **fields: Any) -> Owner:
    return Owner(oid, oid.capitalize(), f"{oid}@example.com", fields=fields)


# -- the pure matching ------------------------------------------------------------


def test_in_matches_one_of_the_owners_semicolon_list_ignoring_case_and_blanks() -> None:
    match = territory(REGION_IN)
    owner = person("emma", regions=" emea ;APAC;; ")
    assert match.refusal(owner, account("a", None, region="EMEA")) is None
    assert match.refusal(owner, account("a", None, region=" apac")) is None
    assert match.refusal(owner, account("a", None, region="AMER")) == (
        "outside territory (region AMER not in emea, APAC)"
    )


def test_eq_compares_the_whole_value_so_a_list_is_one_value() -> None:
    match = territory({"account": "account.region", "owner": "owner.fields.region"})
    assert match.refusal(person("e", region="Emea "), account("a", None, region="EMEA")) is None
    assert match.refusal(person("e", region="EMEA;APAC"), account("a", None, region="EMEA")) == (
        "outside territory (region EMEA is not EMEA;APAC)"
    )


def test_a_blank_on_either_side_never_matches() -> None:
    match = territory(REGION_IN)
    emea = account("a", None, region="EMEA")
    assert match.refusal(person("e", regions="EMEA"), account("a", None, region="  ")) == (
        "outside territory (no region on the account)"
    )
    owners = [person("e", regions=held) for held in (None, "", " ; ")] + [person("e")]
    for owner in owners:
        assert match.refusal(owner, emea) == "outside territory (no regions on the owner)"


def test_every_part_must_hold_and_the_first_failing_part_is_the_reason() -> None:
    match = territory(
        REGION_IN, {"account": "account.fields.lang", "owner": "owner.fields.langs", "op": "in"}
    )
    owner = person("e", regions="EMEA", langs="de;fr")
    assert match.refusal(owner, account("a", None, region="EMEA", fields={"lang": "FR"})) is None
    assert match.refusal(owner, account("a", None, region="EMEA", fields={"lang": "it"})) == (
        "outside territory (lang it not in de, fr)"
    )
    assert match.key(account("a", None, region=" Emea", fields={"lang": "FR"})) == "emea|fr"


def test_numbers_and_booleans_compare_as_written() -> None:
    assert [text_of(v) for v in (7, 7.0, 7.5, True, None, " x ")] == [
        "7",
        "7",
        "7.5",
        "true",
        "",
        "x",
    ]
    # typed cache: True and 1 are equal keys to a plain cache, but are different text
    assert owner_values(True, MatchOp.EQ) == ("true",)
    assert owner_values(1, MatchOp.EQ) == ("1",)
    match = territory({"account": "account.fields.zone", "owner": "owner.fields.zone"})
    assert match.refusal(person("e", zone=3.0), account("a", None, fields={"zone": "3"})) is None


def test_the_skip_summary_counts_every_member_outside_under_the_account_territory() -> None:
    match = territory(REGION_IN)
    apac = account("a", None, region="APAC")
    reason = match.refusal(person("e", regions="EMEA"), apac)
    assert reason is not None
    assert match.grouped(reason, apac) == "outside territory (region APAC)"
    assert match.grouped("inactive", apac) == "inactive"
    assert match.summary(account("a", None)) == "outside territory (no region)"


# -- routing ----------------------------------------------------------------------

FARMERS = {"amos": "AMER;LATAM", "ella": "EMEA;UKI", "emma": "EMEA", "finn": "APAC"}


def farmers_book(regions: list[str], farmers: dict[str, str] | None = None) -> Book:
    """hank hunts and won one new customer c{i} per region in `regions` (oldest first);
    each farmer holds one customer and covers its `regions` field."""
    farmers = FARMERS if farmers is None else farmers
    owners = [person("hank"), *(person(f, regions=r) for f, r in farmers.items())]
    accounts: list[Account] = []
    deals = []
    start = date(2026, 1, 1)
    for i, region in enumerate(regions):
        accounts.append(account(f"c{i}", "hank", region=region))
        deals.append(won(f"d-c{i}", f"c{i}", "hank", start + timedelta(days=i % 150)))
    for name in farmers:
        accounts.append(account(f"{name}-0", name, lifecycle="customer"))
        deals.append(won(f"d-{name}", f"{name}-0", name, date(2026, 3, 1), DealKind.EXPANSION))
    return Book(owners, accounts, deals)


def territory_route(strategy: str = "round_robin", **assign: Any) -> dict[str, Any]:
    return {
        "id": "regional",
        "assign": {
            "pool": {"role": "farmer"},
            "strategy": strategy,
            "match": [REGION_IN],
            **assign,
        },
    }


def covers(owner: Owner, region: str) -> bool:
    held = str(owner.fields.get("regions", "")).split(";")
    return region.strip().casefold() in {h.strip().casefold() for h in held if h.strip()}


def moves(plan: Plan) -> dict[str, str]:
    return {c.account_id: c.to_owner_id for c in plan.changes}


@pytest.mark.parametrize("strategy", ["round_robin", "least_loaded", "weighted"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_books_never_assign_across_regions(strategy: str, seed: int) -> None:
    rng = random.Random(seed)
    regions = [
        rng.choice(["EMEA", "emea ", "AMER", "APAC", "UKI", "LATAM", "MEA", ""]) for _ in range(300)
    ]
    book = farmers_book(regions)
    plan = build_plan(book, inputs(routing(territory_route(strategy))))
    assert plan.changes  # the property below is not vacuous
    for change in plan.changes:
        region = book.accounts[change.account_id].region
        assert covers(book.owners[change.to_owner_id], region), (change, region)
    for skip in plan.skipped:
        region = book.accounts[skip.account_id].region
        assert skip.code == SkipCode.NO_FARMER
        assert not any(covers(book.owners[f], region) for f in FARMERS)
    # every account some farmer covers was handed off: the match filters, never drops
    handed = {c.account_id for c in plan.changes}
    expected = {
        f"c{i}" for i, r in enumerate(regions) if any(covers(book.owners[f], r) for f in FARMERS)
    }
    assert handed == expected


def test_round_robin_keeps_one_rotation_per_territory() -> None:
    # Alternating EMEA and AMER accounts: with one rotation over the pool (amos, ella,
    # emma, finn), each AMER pick would leave the pointer after amos, so every EMEA
    # account would go to ella and emma would starve. One rotation per region shares them.
    regions = ["EMEA", "AMER"] * 6
    plan = build_plan(farmers_book(regions), inputs(routing(territory_route())))
    emea = Counter(to for aid, to in moves(plan).items() if regions[int(aid[1:])] == "EMEA")
    assert emea == {"ella": 3, "emma": 3}
    assert [moves(plan)[f"c{i}"] for i in (0, 2, 4)] == ["ella", "emma", "ella"]
    # the state for the next run: one position per territory, under the route id
    assert plan.rotation == {"regional@amer": "amos", "regional@emea": "emma"}
    again = build_plan(
        farmers_book(["EMEA"]), inputs(routing(territory_route()), rotation=plan.rotation)
    )
    assert moves(again) == {"c0": "ella"}


def test_a_skip_counts_the_members_outside_the_territory() -> None:
    plan = build_plan(farmers_book(["MEA"]), inputs(routing(territory_route())))
    assert [(s.account_id, s.code) for s in plan.skipped] == [("c0", SkipCode.NO_FARMER)]
    assert plan.skipped[0].reason == (
        "route regional: no eligible farmer among 4 (4 outside territory (region MEA))"
    )


def test_territory_and_capacity_refusals_are_counted_apart() -> None:
    # emma and ella (EMEA) hold one account each: a cap of 1 leaves no one for EMEA.
    route = territory_route(capacity={"max_accounts": 1})
    plan = build_plan(farmers_book(["EMEA"]), inputs(routing(route)))
    assert plan.skipped[0].reason == (
        "route regional: no eligible farmer among 4 "
        "(2 at capacity (1 accounts), 2 outside territory (region EMEA))"
    )


def test_a_full_territory_overflows_to_the_next_route() -> None:
    first = territory_route(capacity={"max_accounts": 1})
    first["when_full"] = "next_route"
    anyone = {"id": "anyone", "assign": {"pool": ["finn"]}}
    plan = build_plan(farmers_book(["EMEA"]), inputs(routing(first, anyone)))
    assert moves(plan) == {"c0": "finn"}
    assert "overflowed here past full route regional" in plan.changes[0].reason


def test_apply_recheck_refuses_a_target_no_longer_covering_the_account() -> None:
    plan_inputs = inputs(routing(territory_route()))
    plan = build_plan(farmers_book(["EMEA", "EMEA"]), plan_inputs)
    assert moves(plan) == {"c0": "ella", "c1": "emma"}
    # by apply, emma covers AMER only (an edit in the CRM): her change is not written
    moved = farmers_book(["EMEA", "EMEA"], {**FARMERS, "emma": "AMER"})
    refused = refused_changes(plan, moved, plan_inputs.roles, plan_inputs.routing)
    assert refused == {
        "c1": "re-checked before writing: target owner emma is outside territory (region "
        "EMEA not in AMER) of route 'regional'; not written"
    }


def test_explain_shows_each_member_outside_the_territory() -> None:
    doc = routing(territory_route())
    explainer = Explainer(
        farmers_book(["EMEA", "EMEA"]),
        RolesFile.model_validate(ROLES),
        RoutingFile.model_validate(doc),
        AS_OF,
    )
    text = explainer.explain_account(explainer.book.accounts["c1"])
    assert "territory: account.region in owner.fields.regions" in text
    assert "ineligible: outside territory (region EMEA not in AMER, LATAM)" in text
    assert "ineligible: outside territory (region EMEA not in APAC)" in text
    # c0 went to ella in this plan, so emma is next in EMEA's own rotation
    assert "Rotation: the last pick in this territory was Ella" in text
    assert "Picked Emma: route regional: round robin, turn 3 of 4 in the pool." in text


# -- check ------------------------------------------------------------------------


def write_routing(folder: Path, match: str) -> Path:
    path = folder / "routing.yaml"
    path.write_text(
        "version: 1\nkind: routing\nroutes:\n  - id: regional\n    assign:\n"
        f"      pool: {{role: farmer}}\n      match:\n{match}",
        encoding="utf-8",
    )
    return path


def test_check_names_fields_that_are_no_fields_with_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_routing(
        tmp_path,
        "        - {account: account.regoin, owner: owner.region, op: in}\n"
        "        - {account: account.region, owner: owner.feilds.regions}\n"
        "        - {account: account.region, owner: title}\n",
    )
    assert main(["check", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:8:21: error: unknown account field 'account.regoin'; did you mean "
        "'account.region'? [unknown-field]",
        f"{path}:8:44: error: unknown owner field 'owner.region' in a territory match: give "
        "owner.fields.<name>, an owner field the connector profile maps; did you mean "
        "'owner.fields.region'? [unknown-field]",
        f"{path}:9:44: error: unknown owner field 'owner.feilds.regions' in a territory "
        "match: give owner.fields.<name>, an owner field the connector profile maps; did you "
        "mean 'owner.fields.regions'? [unknown-field]",
        f"{path}:10:44: error: unknown owner field 'title' in a territory match: give "
        "owner.fields.<name>, an owner field the connector profile maps [unknown-field]",
    ]


def test_check_with_a_profile_refuses_owner_fields_it_does_not_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "sf.yaml"
    profile.write_text(
        "version: 1\nkind: salesforce\nname: sf\nsalesforce:\n"
        "  instance_url: https://example.my.salesforce.com\n"
        "  owner_fields: {regions: Sales_Regions__c, team: Team__c}\n"
        "metrics: {write: false}\n",
        encoding="utf-8",
    )
    path = write_routing(
        tmp_path,
        "        - {account: account.region, owner: owner.fields.regoins, op: in}\n"
        "        - {account: account.fields.industri, owner: owner.fields.lang}\n"
        "        - {account: account.region, owner: owner.fields.regions, op: in}\n",
    )
    assert main(["check", "-c", str(profile), str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:8:44: error: the connector profile maps no owner field 'regoins'; did you "
        "mean 'regions'? [unknown-field]",
        f"{path}:9:21: error: the connector profile maps no account field 'industri'; did you "
        "mean 'industry'? [unknown-field]",
        f"{path}:9:53: error: the connector profile maps no owner field 'lang'; mapped: "
        "regions, team [unknown-field]",
    ]


def test_check_with_a_profile_mapping_no_owner_field_says_where_to_map_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "local.yaml"
    profile.write_text("version: 1\nkind: local\nname: book\n", encoding="utf-8")
    path = write_routing(
        tmp_path, "        - {account: account.region, owner: owner.fields.regions, op: in}\n"
    )
    assert main(["check", "-c", str(profile), str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:8:44: error: the connector profile maps no owner field 'regions'; map it in "
        "import.owners.fields [unknown-field]"
    ]


def test_check_refuses_an_unknown_op_and_an_empty_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_routing(
        tmp_path, "        - {account: account.region, owner: owner.fields.regions, op: inn}\n"
    )
    assert main(["check", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:8:70: error: unknown operator 'inn'; did you mean 'in'? [unknown-value]"
    ]
    empty = write_routing(tmp_path, "        []\n")
    assert main(["check", str(empty)]) == 1
    err = capsys.readouterr().err
    assert f"{empty}:8:9: error:" in err and "[empty]" in err
