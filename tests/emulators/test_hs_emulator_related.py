"""Records that follow a company (deals, contacts, tasks), handoff tasks created exactly
once, and departed owners: through the real SDK, as an adapter sees them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
from hs_emu_support import (
    AS_OF,
    BatchInputPublicFetchAssociationsBatchRequest,
    BatchInputSimplePublicObjectBatchInput,
    body_of,
    client,
    relaxed,
)
from hubspot.crm.objects.tasks import (
    AssociationSpec,
    BatchInputSimplePublicObjectBatchInputForCreate,
    PublicAssociationsForObject,
    PublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectInputForCreate,
)

from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotFaults

TASK_TO_COMPANY = 192


@pytest.fixture(scope="module")
def emu() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator(relaxed()) as running:
        running.seed(owners=10, companies=40, deals=120, contacts=100, tasks=80, as_of=AS_OF)
        yield running
        assert not running.internal_errors, running.internal_errors[0]


def _active(emu: HubSpotEmulator) -> list[str]:
    return [o.id for o in emu.store.owners()]


def _ids(emu: HubSpotEmulator, kind: str) -> list[str]:
    return [str(r["hs_object_id"]) for r in emu.store.all(kind)]


def _task(company: str, owner: str, key: str | None, type_id: int = TASK_TO_COMPANY) -> Any:
    properties = {
        "hs_timestamp": "2026-07-14T09:00:00.000Z",
        "hs_task_subject": "Say hello",
        "hs_task_body": "Account handed over",
        "hs_task_status": "NOT_STARTED",
        "hubspot_owner_id": owner,
    }
    if key is not None:
        properties["rolesync_key"] = key
    spec = AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=type_id)
    link = PublicAssociationsForObject(to=PublicObjectId(id=company), types=[spec])
    return SimplePublicObjectInputForCreate(properties=properties, associations=[link])


def _create(emu: HubSpotEmulator, task: Any) -> Any:
    return client(emu).crm.objects.tasks.basic_api.create(
        simple_public_object_input_for_create=task
    )


def _batch_create(emu: HubSpotEmulator, tasks: list[Any]) -> Any:
    batch = BatchInputSimplePublicObjectBatchInputForCreate(inputs=tasks)
    return client(emu).crm.objects.tasks.batch_api.create(
        batch_input_simple_public_object_batch_input_for_create=batch
    )


def _read_associations(emu: HubSpotEmulator, target: str, ids: list[str]) -> Any:
    batch = BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": i} for i in ids])
    return client(emu).crm.associations.v4.batch_api.get_page("companies", target, batch)


def test_seed_links_contacts_and_tasks_to_companies_deterministically() -> None:
    def snapshot() -> list[tuple[Any, ...]]:
        with HubSpotEmulator(relaxed()) as fresh:
            fresh.seed(owners=6, companies=10, deals=20, contacts=30, tasks=30, as_of=AS_OF)
            store = fresh.store
            rows: list[tuple[Any, ...]] = []
            for kind in ("contacts", "tasks"):
                for record in store.all(kind):
                    record_id = str(record["hs_object_id"])
                    companies = store.associated(kind, record_id, "companies")
                    assert len(companies) == 1
                    rows.append((record_id, record["hubspot_owner_id"], *companies))
            return rows

    first = snapshot()
    assert len(first) == 60 and first == snapshot()


def test_v4_associations_from_companies_to_contacts_deals_and_tasks(emu: HubSpotEmulator) -> None:
    store = emu.store
    for target, types in (("contacts", {280, 2}), ("deals", {342, 6}), ("tasks", {191})):
        ids = [c for c in _ids(emu, "companies") if store.associated("companies", c, target)][:4]
        answer = _read_associations(emu, target, ids)
        found = {r._from.id: sorted(t.to_object_id for t in r.to) for r in answer.results}
        assert found == {i: sorted(store.associated("companies", i, target)) for i in ids}
        assert {s.type_id for s in answer.results[0].to[0].association_types} == types
    assert emu.counters["assoc_batch_read"] >= 3


def test_batch_update_of_deal_and_contact_owners(emu: HubSpotEmulator) -> None:
    owner = _active(emu)[-1]
    gone = emu.store.owners(archived=True)[0].id
    for kind in ("contacts", "deals"):
        ids = _ids(emu, kind)[:3]
        inputs = [{"id": i, "properties": {"hubspot_owner_id": owner}} for i in ids]
        inputs.append({"id": "1", "properties": {"hubspot_owner_id": owner}})
        inputs.append({"id": _ids(emu, kind)[5], "properties": {"hubspot_owner_id": gone}})
        batch = BatchInputSimplePublicObjectBatchInput(inputs=inputs)
        answer = client(emu).crm.objects.batch_api.update(kind, batch)
        assert type(answer).__name__ == "BatchResponseSimplePublicObjectWithErrors"
        assert sorted(r.id for r in answer.results) == sorted(ids)
        assert [e.category for e in answer.errors] == ["OBJECT_NOT_FOUND", "VALIDATION_ERROR"]
        assert {str(emu.store.get(kind, i)["hubspot_owner_id"]) for i in ids} == {owner}  # type: ignore[index]
        assert emu.counters[f"{kind}_batch_update"] == 1
        too_many = [{"id": i, "properties": {"hubspot_owner_id": owner}} for i in range(101)]
        with pytest.raises(Exception) as caught:
            client(emu).crm.objects.batch_api.update(
                kind, BatchInputSimplePublicObjectBatchInput(inputs=too_many)
            )
        assert getattr(caught.value, "status", None) == 400


def test_archived_owners_are_listed_only_when_asked() -> None:
    with HubSpotEmulator(relaxed()) as fresh:
        fresh.seed(owners=8, companies=0, deals=0, archived_every=4, as_of=AS_OF)
        api = client(fresh).crm.owners.owners_api
        active = api.get_page(archived=False).results
        archived = api.get_page(archived=True).results
        assert len(active) == 6 and len(archived) == 2
        assert all(o.archived and o.user_id == o.user_id_including_inactive for o in archived)
        assert all(o.user_id_including_inactive for o in archived)
    with HubSpotEmulator(relaxed()) as nobody_left:
        nobody_left.seed(owners=8, companies=0, deals=0, archived_every=0, as_of=AS_OF)
        assert nobody_left.store.owners(archived=True) == []


def test_task_creation_with_a_company_association(emu: HubSpotEmulator) -> None:
    company, owner = _ids(emu, "companies")[0], _active(emu)[0]
    created = _create(emu, _task(company, owner, "run1:c0:new"))
    assert type(created).__name__ == "SimplePublicObject"
    assert created.properties["hs_task_subject"] == "Say hello"
    assert created.properties["hubspot_owner_id"] == owner
    assert emu.store.associated("tasks", created.id, "companies") == [company]
    answer = _read_associations(emu, "tasks", [company])
    assert created.id in [str(t.to_object_id) for t in answer.results[0].to]
    assert emu.counters["tasks_create"] == 1
    assert emu.store.api_writes[("tasks", created.id)] == 1


def test_a_repeated_task_marker_is_refused_with_the_existing_id(emu: HubSpotEmulator) -> None:
    company, owner = _ids(emu, "companies")[1], _active(emu)[0]
    first = _create(emu, _task(company, owner, "run1:c1:new"))
    before = emu.store.count("tasks")
    with pytest.raises(Exception) as caught:
        _create(emu, _task(company, owner, "run1:c1:new"))
    assert getattr(caught.value, "status", None) == 409
    body = body_of(caught.value)
    assert body["category"] == "CONFLICT"
    assert body["message"] == f"Task already exists. Existing ID: {first.id}"
    assert body["context"] == {"id": [first.id], "propertyName": ["rolesync_key"]}
    search = PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "rolesync_key", "operator": "EQ",
                                     "value": "run1:c1:new"}]}],
        properties=["rolesync_key"], limit=10, after="0", sorts=[],
    )  # fmt: skip
    found = client(emu).crm.objects.tasks.search_api.do_search(public_object_search_request=search)
    assert [r.id for r in found.results] == [first.id]
    assert emu.store.count("tasks") == before


def test_batch_create_is_checked_whole(emu: HubSpotEmulator) -> None:
    company, owner = _ids(emu, "companies")[2], _active(emu)[0]
    answer = _batch_create(emu, [_task(company, owner, "b1"), _task(company, owner, "b2")])
    assert type(answer).__name__ == "BatchResponseSimplePublicObject"
    assert [r.properties["rolesync_key"] for r in answer.results] == ["b1", "b2"]
    before = emu.store.count("tasks")
    refusals = {
        "taken": ([_task(company, owner, "b3"), _task(company, owner, "b1")], 409),
        "twice": ([_task(company, owner, "b4"), _task(company, owner, "b4")], 400),
        "too many": ([_task(company, owner, f"m{n}") for n in range(101)], 400),
        "bad type": ([_task(company, owner, "b5", type_id=280)], 400),
        "no company": ([_task("1", owner, "b6")], 400),
    }
    for name, (tasks, status) in refusals.items():
        with pytest.raises(Exception) as caught:
            _batch_create(emu, tasks)
        assert getattr(caught.value, "status", None) == status, name
    assert emu.store.count("tasks") == before
    assert emu.counters["tasks_batch_create"] == 1 + len(refusals)


def test_task_creation_refusals(emu: HubSpotEmulator) -> None:
    company, owner = _ids(emu, "companies")[3], _active(emu)[0]
    gone = emu.store.owners(archived=True)[0].id
    no_due = _task(company, owner, None)
    del no_due.properties["hs_timestamp"]
    before = emu.store.count("tasks")
    for task, needle in ((no_due, "hs_timestamp is required"),
                         (_task(company, gone, None), "not a valid owner id")):  # fmt: skip
        with pytest.raises(Exception) as caught:
            _create(emu, task)
        assert getattr(caught.value, "status", None) == 400
        assert needle in body_of(caught.value)["message"]
    assert emu.store.count("tasks") == before


def test_a_lost_create_answer_is_told_apart_by_the_marker() -> None:
    with HubSpotEmulator(relaxed()) as fresh:
        fresh.seed(owners=3, companies=2, deals=0, archived_every=0, as_of=AS_OF)
        company, owner = _ids(fresh, "companies")[0], _active(fresh)[0]
        fresh.set_faults(HubSpotFaults(drop_every=1, drop_after_processing=True))
        with pytest.raises(urllib3.exceptions.HTTPError):
            _create(fresh, _task(company, owner, "run9:c:new"))
        fresh.set_faults(HubSpotFaults())
        with pytest.raises(Exception) as caught:
            _create(fresh, _task(company, owner, "run9:c:new"))
        assert getattr(caught.value, "status", None) == 409
        assert fresh.store.count("tasks") == 1
        assert fresh.counters["tasks_create"] == 2 and fresh.counters["fault_drop"] == 1


def test_creates_meet_the_rate_limit() -> None:
    with HubSpotEmulator(relaxed(burst_limit=2)) as fresh:
        fresh.seed(owners=3, companies=2, deals=0, archived_every=0, as_of=AS_OF)
        company, owner = _ids(fresh, "companies")[0], _active(fresh)[0]
        _create(fresh, _task(company, owner, "r1"))
        _create(fresh, _task(company, owner, "r2"))
        with pytest.raises(Exception) as caught:
            _create(fresh, _task(company, owner, "r3"))
        assert getattr(caught.value, "status", None) == 429
        assert fresh.store.count("tasks") == 2 and fresh.counters["rate_limited"] == 1
