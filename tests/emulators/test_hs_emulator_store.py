"""The seeded portal, the store's human edits and clock, counters: no network needed."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from hs_emu_support import AS_OF, client, running

from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotStore
from roleSync.emulators.hubspot.seed import seed_portal
from roleSync.emulators.hubspot.wire import parse_time, to_ms


def _seeded(seed: int = 1) -> HubSpotStore:
    store = HubSpotStore()
    seed_portal(store, owners=30, companies=400, deals=1200, seed=seed, as_of=AS_OF)
    return store


@pytest.fixture(scope="module")
def store() -> HubSpotStore:
    return _seeded()


def test_same_seed_and_day_same_portal(store: HubSpotStore) -> None:
    again = _seeded()
    for kind in ("companies", "deals", "users"):
        assert again.all(kind) == store.all(kind)
    assert [o.as_json() for o in again.owners()] == [o.as_json() for o in store.owners()]
    assert _seeded(seed=2).all("companies") != store.all("companies")


def test_owners_some_archived_user_id_either_form(store: HubSpotStore) -> None:
    archived = store.owners(archived=True)
    assert len(archived) == 3 and len(store.owners()) == 27
    # An integer as HubSpot's spec types it, or null as its guides describe.
    assert all(o.as_json()["userId"] == o.user_id for o in archived)
    assert all(o.as_json(archived_user_null=True)["userId"] is None for o in archived)
    assert all(o.as_json(archived_user_null=True)["userId"] for o in store.owners())
    assert all(o.as_json()["userIdIncludingInactive"] for o in archived)
    users = {u["hs_internal_user_id"] for u in store.all("users")}
    assert users == {str(o.user_id) for o in [*store.owners(), *archived]}


def test_companies_are_realistic(store: HubSpotStore) -> None:
    companies = store.all("companies")
    owners = {o.id for o in store.owners()}
    gone = {o.id for o in store.owners(archived=True)}
    owned_by = Counter(
        "none" if c["hubspot_owner_id"] is None
        else "active" if c["hubspot_owner_id"] in owners
        else "archived" if c["hubspot_owner_id"] in gone else "unknown"
        for c in companies
    )  # fmt: skip
    assert owned_by["unknown"] == 0 and owned_by["archived"] > 0 and owned_by["none"] > 0
    won = {
        store.company_of(str(d["hs_object_id"]))
        for d in store.all("deals")
        if d["hs_is_closed_won"] == "true"
    }
    for company in companies:
        assert (company["lifecyclestage"] == "customer") == (company["hs_object_id"] in won)
        assert company["region"] in {"NA", "EMEA", "APAC", "LATAM"}
        assert company["do_not_route"] in {"true", "false"}
        assert company["tier"] in {"Tier 1", "Tier 2", "Tier 3"}
    assert {c["segment"] for c in companies} == {"Enterprise", "Mid-Market", "SMB", None}
    assert any("'" in str(c["name"]) or "&" in str(c["name"]) for c in companies)


def test_deals_are_realistic(store: HubSpotStore) -> None:
    deals = store.all("deals")
    assert Counter(d["dealtype"] for d in deals).keys() == {"newbusiness", "existingbusiness", None}
    for deal in deals:
        closed = deal["dealstage"] in {"closedwon", "closedlost"}
        assert deal["hs_is_closed"] == ("true" if closed else "false")
        assert deal["hs_is_closed_won"] == ("true" if deal["dealstage"] == "closedwon" else "false")
        assert deal["pipeline"] == "default"
        assert deal["amount"] is None or float(deal["amount"]) > 0
        assert parse_time(str(deal["createdate"])) <= to_ms(AS_OF)  # type: ignore[operator]
    orphans = [d for d in deals if store.company_of(str(d["hs_object_id"])) is None]
    assert 0 < len(orphans) < len(deals) * 0.03
    # A company's first won deal is new business; later won ones are existing business.
    by_company: dict[str, list[dict[str, str | None]]] = {}
    for deal in deals:
        company = store.company_of(str(deal["hs_object_id"]))
        if company is not None and deal["dealstage"] == "closedwon" and deal["dealtype"]:
            by_company.setdefault(company, []).append(deal)
    for won in by_company.values():
        won.sort(key=lambda d: str(d["closedate"]))
        assert all(
            d["dealtype"] == "existingbusiness"
            for d in won[1:]
            if d["closedate"] != won[0]["closedate"]
        )


def test_modification_stamps_have_ties_and_lie_in_the_past(store: HubSpotStore) -> None:
    stamps = Counter(c["hs_lastmodifieddate"] for c in store.all("companies"))
    assert max(stamps.values()) > 1
    assert all(parse_time(str(s)) < to_ms(AS_OF) for s in stamps)  # type: ignore[operator]


def test_human_edits_validate_and_bump_the_stamp() -> None:
    store = _seeded()
    company = str(store.all("companies")[0]["hs_object_id"])
    before = store.get("companies", company)
    assert before is not None
    store.update("companies", company, {"hubspot_owner_id": store.owners()[1].id})
    after = store.get("companies", company)
    assert after is not None
    assert str(after["hs_lastmodifieddate"]) > str(before["hs_lastmodifieddate"])
    assert store.api_writes[("companies", company)] == 0  # a person, not the API
    with pytest.raises(ValueError, match="does not exist"):
        store.update("companies", company, {"nope": "1"})
    with pytest.raises(ValueError, match="not a valid owner"):
        store.update("companies", company, {"hubspot_owner_id": store.owners(archived=True)[0].id})
    with pytest.raises(KeyError):
        store.update("companies", "1", {"name": "x"})


def test_frozen_clock_makes_ties() -> None:
    store = _seeded()
    ids = [str(c["hs_object_id"]) for c in store.all("companies")[:3]]
    moment = AS_OF + timedelta(hours=1)
    store.set_clock(moment, freeze=True)
    for i in ids:
        store.update("companies", i, {"tier": "Tier 1"})
    store.release_clock()
    store.update("companies", ids[0], {"tier": "Tier 2"})
    stamps = [store.get("companies", i)["hs_lastmodifieddate"] for i in ids]  # type: ignore[index]
    assert stamps[1] == stamps[2] == "2026-06-30T01:00:00.000Z"
    assert str(stamps[0]) > "2026-06-30T01:00:00.000Z"


def test_counters_and_reset() -> None:
    with running() as emu:
        api = client(emu).crm.companies.basic_api
        api.get_page(limit=1)
        api.get_page(limit=1)
        assert emu.counters["companies_list"] == 2 and emu.counters["requests"] == 2
        assert [e.kind for e in emu.log] == ["companies_list"] * 2
        assert emu.log[0].params == {"limit": ["1"]} and emu.log[0].status == 200
        emu.reset_counters()
        assert not emu.counters and not emu.log
        assert emu.connections_accepted == 1  # the SDK keeps its connection alive


def test_only_loopback_addresses() -> None:
    from roleSync.emulators.hubspot import NotLoopbackError

    with pytest.raises(NotLoopbackError):
        HubSpotEmulator().start("0.0.0.0")
