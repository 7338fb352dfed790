"""CRM object endpoints through the real SDK: list paging, read, batch read and update."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
from hs_emu_support import (
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    body_of,
    client,
    running,
)

from roleSync.emulators.hubspot import HubSpotEmulator, PropertyDef


@pytest.fixture(scope="module")
def portal() -> Iterator[HubSpotEmulator]:
    """Read-only tests share one portal."""
    with running(companies=250, deals=600) as emu:
        yield emu


@pytest.fixture
def emu() -> Iterator[HubSpotEmulator]:
    """Tests that write get their own."""
    with running() as fresh:
        yield fresh


def _active_owner(emu: HubSpotEmulator) -> str:
    return emu.store.owners()[0].id


def _company_ids(emu: HubSpotEmulator, count: int) -> list[str]:
    return [str(c["hs_object_id"]) for c in emu.store.all("companies")[:count]]


def _raw(emu: HubSpotEmulator, path: str) -> tuple[int, Any]:
    """A request the SDK cannot make (the comma form of list parameters)."""
    headers = {"Authorization": f"Bearer {emu.config.access_token}"}
    answer = urllib3.request("GET", emu.url + path, headers=headers, retries=False)
    return answer.status, json.loads(answer.data)


# --- list -----------------------------------------------------------------------------------


def test_get_page_pages_with_after_and_link(portal: HubSpotEmulator) -> None:
    api = client(portal).crm.companies.basic_api
    first = api.get_page(limit=100, properties=["name", "hubspot_owner_id"])
    assert len(first.results) == 100
    assert set(first.results[0].properties) == {"name", "hubspot_owner_id"}
    after = first.paging.next.after
    assert first.paging.next.link.startswith(f"{portal.url}/crm/v3/objects/companies?")
    assert f"after={after}" in first.paging.next.link
    second = api.get_page(limit=100, after=after)
    assert second.results[0].id == after
    third = api.get_page(limit=100, after=second.paging.next.after)
    assert len(third.results) == 50
    assert third.paging is None  # the last page has no paging at all


def test_get_all_reads_every_company_once(portal: HubSpotEmulator) -> None:
    companies = client(portal).crm.companies.get_all(properties=["hubspot_owner_id"])
    ids = [c.id for c in companies]
    assert len(ids) == len(set(ids)) == 250
    stored = {str(c["hs_object_id"]): c["hubspot_owner_id"] for c in portal.store.all("companies")}
    assert {c.id: c.properties["hubspot_owner_id"] for c in companies} == stored


def test_default_properties_and_null_for_unset(portal: HubSpotEmulator) -> None:
    page = client(portal).crm.deals.basic_api.get_page(limit=1)
    assert set(page.results[0].properties) == {
        "dealname", "amount", "closedate", "pipeline", "dealstage", "createdate",
        "hs_lastmodifieddate", "hs_object_id",
    }  # fmt: skip
    unset = client(portal).crm.companies.basic_api.get_page(limit=1, properties=["no_such"])
    assert unset.results[0].properties == {"no_such": None}


def test_properties_in_repeated_and_comma_form(portal: HubSpotEmulator) -> None:
    repeated = _raw(portal, "/crm/v3/objects/companies?limit=2&properties=name&properties=tier")
    comma = _raw(portal, "/crm/v3/objects/companies?limit=2&properties=name,tier")
    assert repeated[0] == comma[0] == 200
    assert repeated[1]["results"] == comma[1]["results"]
    assert set(comma[1]["results"][0]["properties"]) == {"name", "tier"}


def test_list_limit_is_capped_at_100(portal: HubSpotEmulator) -> None:
    with pytest.raises(Exception) as caught:
        client(portal).crm.companies.basic_api.get_page(limit=101)
    assert getattr(caught.value, "status", None) == 400
    assert body_of(caught.value)["category"] == "VALIDATION_ERROR"


def test_associations_come_twice_per_pair(portal: HubSpotEmulator) -> None:
    """v3 lists each association with its primary and its unlabeled type."""
    page = client(portal).crm.companies.basic_api.get_page(limit=20, associations=["deals"])
    with_deals = [c for c in page.results if c.associations]
    assert with_deals
    company = with_deals[0]
    listed = company.associations["deals"].results
    assert {a.type for a in listed} == {"company_to_deal", "company_to_deal_unlabeled"}
    assert sorted({a.id for a in listed}) == sorted(portal.store.deals_of(company.id))
    deal_id = listed[0].id
    deal = client(portal).crm.deals.basic_api.get_by_id(deal_id, associations=["companies"])
    assert {a.id for a in deal.associations["companies"].results} == {company.id}


def test_archived_records_only_with_archived_true(emu: HubSpotEmulator) -> None:
    gone = _company_ids(emu, 1)[0]
    emu.store.archive("companies", gone)
    api = client(emu).crm.companies.basic_api
    assert gone not in {c.id for c in client(emu).crm.companies.get_all()}
    archived = api.get_page(archived=True)
    assert [c.id for c in archived.results] == [gone] and archived.results[0].archived
    with pytest.raises(Exception) as caught:
        api.get_by_id(gone)
    assert getattr(caught.value, "status", None) == 404


# --- batch read -------------------------------------------------------------------------------


def test_batch_read_all_found_answers_200(portal: HubSpotEmulator) -> None:
    ids = _company_ids(portal, 3)
    answer = client(portal).crm.companies.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": i} for i in ids],
            properties=["hubspot_owner_id"],
            properties_with_history=[],
        )
    )
    assert type(answer).__name__ == "BatchResponseSimplePublicObject"
    assert answer.status == "COMPLETE"
    assert sorted(r.id for r in answer.results) == sorted(ids)


def test_batch_read_missing_ids_answer_207(portal: HubSpotEmulator) -> None:
    ids = [*_company_ids(portal, 2), "404", "405"]
    answer = client(portal).crm.companies.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": i} for i in ids], properties=["name"], properties_with_history=[]
        )
    )
    assert type(answer).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert len(answer.results) == 2 and answer.num_errors == 1
    error = answer.errors[0]
    assert error.status == "error" and error.category == "OBJECT_NOT_FOUND"
    assert error.context == {"ids": ["404", "405"]}


def test_batch_read_by_id_property(portal: HubSpotEmulator) -> None:
    company = portal.store.all("companies")[5]
    answer = client(portal).crm.companies.batch_api.read(
        {
            "inputs": [{"id": company["domain"]}],
            "idProperty": "domain",
            "properties": ["name"],
            "propertiesWithHistory": [],
        }
    )
    assert [r.id for r in answer.results] == [company["hs_object_id"]]


def test_batch_read_refuses_more_than_100_inputs(portal: HubSpotEmulator) -> None:
    with pytest.raises(Exception) as caught:
        client(portal).crm.companies.batch_api.read(
            {"inputs": [{"id": str(i)} for i in range(101)], "properties": []}
        )
    assert getattr(caught.value, "status", None) == 400


# --- batch update -----------------------------------------------------------------------------


def _update(
    emu: HubSpotEmulator, changes: dict[str, dict[str, str]], kind: str = "companies"
) -> Any:
    batch = BatchInputSimplePublicObjectBatchInput(
        inputs=[{"id": i, "properties": p} for i, p in changes.items()]
    )
    return client(emu).crm.objects.batch_api.update(kind, batch)


def test_batch_update_answers_200_and_writes(emu: HubSpotEmulator) -> None:
    owner = _active_owner(emu)
    ids = _company_ids(emu, 3)
    before = {i: emu.store.get("companies", i) for i in ids}
    answer = client(emu).crm.companies.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[{"id": i, "properties": {"hubspot_owner_id": owner}} for i in ids]
        )
    )
    assert type(answer).__name__ == "BatchResponseSimplePublicObject"
    assert answer is not None and answer.status == "COMPLETE"
    assert {r.id: r.properties["hubspot_owner_id"] for r in answer.results} == dict.fromkeys(
        ids, owner
    )
    stamps = set()
    for i in ids:
        after = emu.store.get("companies", i)
        assert after is not None and after["hubspot_owner_id"] == owner
        assert after["hs_lastmodifieddate"] != before[i]["hs_lastmodifieddate"]  # type: ignore[index]
        stamps.add(after["hs_lastmodifieddate"])
        assert emu.store.api_writes[("companies", i)] == 1
    assert len(stamps) == 1  # one batch, one stamp: ties are normal after bulk writes
    assert emu.counters["companies_batch_update"] == 1 and emu.counters["write_requests"] == 1


def test_batch_update_partial_errors_answer_207(emu: HubSpotEmulator) -> None:
    owner = _active_owner(emu)
    archived_owner = emu.store.owners(archived=True)[0].id
    good, bad_owner, left_owner, gone = _company_ids(emu, 4)
    emu.store.archive("companies", gone)
    answer = _update(
        emu,
        {
            good: {"hubspot_owner_id": owner},
            bad_owner: {"hubspot_owner_id": "123"},
            left_owner: {"hubspot_owner_id": archived_owner},
            gone: {"hubspot_owner_id": owner},
            "999": {"hubspot_owner_id": owner},
        },
    )
    assert type(answer).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert [r.id for r in answer.results] == [good]
    by_category: dict[str, list[list[str]]] = {}
    for error in answer.errors:
        by_category.setdefault(error.category, []).append(error.context["ids"])
    assert by_category == {
        "OBJECT_NOT_FOUND": [[gone, "999"]],
        "VALIDATION_ERROR": [[bad_owner], [left_owner]],
    }
    assert answer.num_errors == 3
    invalid = next(e for e in answer.errors if e.category == "VALIDATION_ERROR")
    assert invalid.errors[0].code == "INVALID_OWNER_ID"
    assert "Property values were not valid" in invalid.message
    assert emu.store.get("companies", bad_owner)["hubspot_owner_id"] != "123"  # type: ignore[index]


def test_batch_update_refuses_unknown_and_read_only_properties(emu: HubSpotEmulator) -> None:
    ids = _company_ids(emu, 2)
    for properties in ({"no_such_property": "x"}, {"hs_lastmodifieddate": "0"}):
        with pytest.raises(Exception) as caught:
            _update(emu, {ids[0]: properties, ids[1]: {"name": "fine"}})
        assert getattr(caught.value, "status", None) == 400
        body = body_of(caught.value)
        assert body["category"] == "VALIDATION_ERROR"
        assert body["errors"][0]["code"] in {"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE"}
    assert emu.store.get("companies", ids[1])["name"] != "fine"  # type: ignore[index]


def test_batch_update_refuses_duplicate_ids_and_big_batches(emu: HubSpotEmulator) -> None:
    first = _company_ids(emu, 1)[0]
    api = client(emu).crm.companies.batch_api
    duplicate = {"inputs": [{"id": first, "properties": {"name": "a"}}] * 2}
    too_many = {"inputs": [{"id": str(i), "properties": {"name": "a"}} for i in range(101)]}
    messages = []
    for body in (duplicate, too_many):
        with pytest.raises(Exception) as caught:
            api.update(body)
        assert getattr(caught.value, "status", None) == 400
        messages.append(body_of(caught.value)["message"])
    assert messages[0] == f"Duplicate IDs found in batch input: ['{first}']"
    assert messages[1].startswith("Too many inputs: 101")
    assert emu.store.api_writes[("companies", first)] == 0


def test_deal_stage_updates_recompute_closed_flags(emu: HubSpotEmulator) -> None:
    deal = next(d for d in emu.store.all("deals") if d["dealstage"] == "qualifiedtobuy")
    answer = _update(emu, {str(deal["hs_object_id"]): {"dealstage": "closedwon"}}, "deals")
    assert answer.status == "COMPLETE"
    stored = emu.store.get("deals", str(deal["hs_object_id"]))
    assert stored is not None
    assert (stored["hs_is_closed"], stored["hs_is_closed_won"]) == ("true", "true")


def test_single_update(emu: HubSpotEmulator) -> None:
    company = _company_ids(emu, 1)[0]
    answer = client(emu).crm.companies.basic_api.update(company, {"properties": {"tier": "Tier 1"}})
    assert answer.properties["tier"] == "Tier 1"
    with pytest.raises(Exception) as caught:
        client(emu).crm.companies.basic_api.update(company, {"properties": {"tier": "Tier 9"}})
    assert getattr(caught.value, "status", None) == 400


def test_users_object_list_and_batch_update(emu: HubSpotEmulator) -> None:
    emu.store.define_property(
        "users",
        PropertyDef("won_deals", "Won deals", "number", "number", "userinformation"),
    )
    objects = client(emu).crm.objects
    users = objects.basic_api.get_page(
        "users", limit=100, properties=["hs_email", "hs_internal_user_id"]
    )
    assert len(users.results) == 10
    owner = emu.store.owners()[0]
    user = next(u for u in users.results if u.properties["hs_email"] == owner.email)
    assert user.properties["hs_internal_user_id"] == str(owner.user_id)
    answer = _update(emu, {user.id: {"won_deals": "7"}, "1": {"won_deals": "1"}}, "users")
    assert type(answer).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert emu.store.get("users", user.id)["won_deals"] == "7"  # type: ignore[index]
    assert emu.counters["users_batch_update"] == 1


def test_unknown_object_type_and_route(portal: HubSpotEmulator) -> None:
    status, body = _raw(portal, "/crm/v3/objects/widgets")
    assert status == 400 and body["message"] == "Unable to infer object type from: widgets"
    status, body = _raw(portal, "/crm/v3/nothing/here")
    assert status == 404 and body["status"] == "error" and body["correlationId"]
