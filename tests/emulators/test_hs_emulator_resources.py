"""Owners, v4 association batch reads, properties and OAuth through the real SDK."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hs_emu_support import BatchInputPublicFetchAssociationsBatchRequest, body_of, client, running

from roleSync.emulators.hubspot import HubSpotEmulator


@pytest.fixture
def emu() -> Iterator[HubSpotEmulator]:
    with running(owners=25, companies=40, deals=120) as fresh:
        yield fresh


# --- owners ---------------------------------------------------------------------------------


def test_owners_active_and_archived(emu: HubSpotEmulator) -> None:
    api = client(emu).crm.owners.owners_api
    active = api.get_page(limit=100, archived=False)
    archived = api.get_page(limit=100, archived=True)
    assert len(active.results) == 23 and len(archived.results) == 2
    assert active.paging is None
    owner = active.results[0]
    assert owner.user_id == owner.user_id_including_inactive and owner.type == "PERSON"
    assert owner.email and owner.first_name and owner.teams[0].primary is True
    assert not owner.archived and owner.created_at and owner.updated_at
    for gone in archived.results:
        # The spec's form by default: an integer userId, the user's id kept.
        assert gone.archived and gone.user_id == gone.user_id_including_inactive
    assert emu.log[0].path == "/crm/v3/owners/"  # the SDK's trailing slash
    assert emu.counters["owners_list"] == 2


def test_owner_paging_email_and_get_by_id(emu: HubSpotEmulator) -> None:
    api = client(emu).crm.owners.owners_api
    first = api.get_page(limit=10)
    second = api.get_page(limit=10, after=first.paging.next.after)
    third = api.get_page(limit=10, after=second.paging.next.after)
    ids = [o.id for page in (first, second, third) for o in page.results]
    assert len(ids) == len(set(ids)) == 23 and third.paging is None
    owner = first.results[3]
    assert [o.id for o in api.get_page(email=owner.email.upper()).results] == [owner.id]
    assert api.get_by_id(owner.id).email == owner.email
    assert api.get_by_id(str(owner.user_id), id_property="userId").id == owner.id
    gone = emu.store.owners(archived=True)[0]
    with pytest.raises(Exception) as caught:
        api.get_by_id(gone.id)
    assert getattr(caught.value, "status", None) == 404
    assert api.get_by_id(gone.id, archived=True).user_id == gone.user_id
    emu.config.archived_owner_user_id_null = True  # the guides' form
    try:
        assert api.get_by_id(gone.id, archived=True).user_id is None
        assert api.get_by_id(owner.id).user_id == owner.user_id  # active owners keep theirs
    finally:
        emu.config.archived_owner_user_id_null = False


def test_owners_are_read_only(emu: HubSpotEmulator) -> None:
    with pytest.raises(Exception) as caught:
        client(emu).crm.properties.core_api.create("owners", _property("won_deals"))
    assert getattr(caught.value, "status", None) == 400


# --- associations v4 ----------------------------------------------------------------------------


def _read_associations(emu: HubSpotEmulator, source: str, target: str, ids: list[str]) -> Any:
    batch = BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": i} for i in ids])
    return client(emu).crm.associations.v4.batch_api.get_page(source, target, batch)


def test_company_deal_associations_batch_read(emu: HubSpotEmulator) -> None:
    companies = [
        c for c in emu.store.all("companies") if emu.store.deals_of(str(c["hs_object_id"]))
    ]
    ids = [str(c["hs_object_id"]) for c in companies[:5]]
    answer = _read_associations(emu, "companies", "deals", ids)
    assert type(answer).__name__ == "BatchResponsePublicAssociationMultiWithLabel"
    assert answer.status == "COMPLETE"
    found = {r._from.id: sorted(t.to_object_id for t in r.to) for r in answer.results}
    assert found == {i: sorted(emu.store.deals_of(i)) for i in ids}
    kinds = {(s.category, s.type_id, s.label) for s in answer.results[0].to[0].association_types}
    assert kinds == {("HUBSPOT_DEFINED", 342, None), ("HUBSPOT_DEFINED", 6, "Primary")}
    assert emu.counters["assoc_batch_read"] == 1


def test_ids_without_associations_come_back_as_errors(emu: HubSpotEmulator) -> None:
    lonely = next(
        str(c["hs_object_id"])
        for c in emu.store.all("companies")
        if not emu.store.deals_of(str(c["hs_object_id"]))
    )
    busy = next(
        str(c["hs_object_id"])
        for c in emu.store.all("companies")
        if emu.store.deals_of(str(c["hs_object_id"]))
    )
    answer = _read_associations(emu, "companies", "deals", [busy, lonely, "1"])
    assert type(answer).__name__ == "BatchResponsePublicAssociationMultiWithLabelWithErrors"
    assert [r._from.id for r in answer.results] == [busy]
    assert answer.num_errors == 2
    assert [e.context["fromObjectId"] for e in answer.errors] == [[lonely], ["1"]]
    assert {e.sub_category for e in answer.errors} == {"crm.associations.NO_ASSOCIATIONS_FOUND"}


def test_deal_to_company_and_limits(emu: HubSpotEmulator) -> None:
    deal = next(
        str(d["hs_object_id"])
        for d in emu.store.all("deals")
        if emu.store.company_of(str(d["hs_object_id"]))
    )
    answer = _read_associations(emu, "deals", "companies", [deal])
    assert [t.to_object_id for t in answer.results[0].to] == [emu.store.company_of(deal)]
    with pytest.raises(Exception) as caught:
        _read_associations(emu, "companies", "deals", [str(i) for i in range(101)])
    assert getattr(caught.value, "status", None) == 400


# --- properties --------------------------------------------------------------------------------


def _property(name: str, kind: str = "number") -> dict[str, Any]:
    field_type = "number" if kind == "number" else "text"
    return {"name": name, "label": name.title(), "type": kind, "fieldType": field_type,
            "groupName": "companyinformation"}  # fmt: skip


def test_create_property_201_then_409(emu: HubSpotEmulator) -> None:
    api = client(emu).crm.properties.core_api
    created = api.create("companies", _property("rolesync_won_deals"))
    assert type(created).__name__ == "ModelProperty"  # 201 is the only status it maps
    assert created.name == "rolesync_won_deals" and created.type == "number"
    assert created.hubspot_defined is False
    with pytest.raises(Exception) as caught:
        api.create("companies", _property("rolesync_won_deals"))
    assert getattr(caught.value, "status", None) == 409
    body = body_of(caught.value)
    assert body["status"] == "error" and body["category"] == "OBJECT_ALREADY_EXISTS"
    assert body["message"] == "Property named 'rolesync_won_deals' already exists."
    assert emu.counters["properties_create"] == 2 and emu.counters["write_requests"] == 2


def test_created_property_is_listed_readable_and_writable(emu: HubSpotEmulator) -> None:
    api = client(emu).crm.properties.core_api
    api.create("users", _property("rolesync_role", "string"))
    names = {p.name for p in api.get_all("users").results}
    assert {"rolesync_role", "hs_email", "hs_internal_user_id"} <= names
    assert api.get_by_name("users", "rolesync_role").label == "Rolesync_Role"
    user = emu.store.all("users")[0]
    client(emu).crm.objects.basic_api.update(
        "users", str(user["hs_object_id"]), {"properties": {"rolesync_role": "farmer"}}
    )
    assert emu.store.get("users", str(user["hs_object_id"]))["rolesync_role"] == "farmer"  # type: ignore[index]


def test_invalid_property_definitions_answer_400(emu: HubSpotEmulator) -> None:
    api = client(emu).crm.properties.core_api
    for bad in (
        {**_property("x"), "type": "colour"},
        {**_property("x"), "fieldType": "slider"},
        {**_property("Bad Name")},
        {"name": "x", "label": "X"},
    ):
        with pytest.raises(Exception) as caught:
            api.create("companies", bad)
        assert getattr(caught.value, "status", None) == 400
    with pytest.raises(Exception) as caught:
        api.get_by_name("companies", "missing")
    assert getattr(caught.value, "status", None) == 404


# --- OAuth ----------------------------------------------------------------------------------------


def test_refresh_token_grant(emu: HubSpotEmulator) -> None:
    config = emu.config
    tokens = client(emu).oauth.tokens_api.create(
        grant_type="refresh_token", client_id=config.client_id,
        client_secret=config.client_secret, refresh_token=config.refresh_token,
    )  # fmt: skip
    assert tokens.token_type == "bearer" and tokens.expires_in == 1800
    assert tokens.refresh_token == config.refresh_token
    assert client(emu, tokens.access_token).crm.companies.basic_api.get_page(limit=1).results
    assert emu.tokens_issued == 1
    assert emu.counters["oauth_token"] == 1 and emu.counters["api_requests"] == 1


@pytest.mark.parametrize(
    ("field", "status"),
    [
        ("client_id", "BAD_CLIENT_ID"),
        ("client_secret", "BAD_CLIENT_SECRET"),
        ("refresh_token", "BAD_REFRESH_TOKEN"),
    ],
)
def test_refresh_refused(emu: HubSpotEmulator, field: str, status: str) -> None:
    config = emu.config
    form = {"client_id": config.client_id, "client_secret": config.client_secret,
            "refresh_token": config.refresh_token, field: "wrong"}  # fmt: skip
    with pytest.raises(Exception) as caught:
        client(emu).oauth.tokens_api.create(grant_type="refresh_token", **form)
    assert getattr(caught.value, "status", None) == 400
    assert body_of(caught.value)["status"] == status


def test_missing_or_unknown_token_answers_401(emu: HubSpotEmulator) -> None:
    with pytest.raises(Exception) as caught:
        client(emu, "pat-na1-not-a-token").crm.companies.basic_api.get_page()
    assert type(caught.value).__name__ == "UnauthorizedException"
    body = body_of(caught.value)
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found.")
    assert "X-HubSpot-RateLimit-Remaining" not in caught.value.headers  # type: ignore[attr-defined]
