"""Records that follow an account (Opportunity, Contact, Task), handoff tasks created
exactly once, and departed users: through the real SDK, as an adapter sees them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import requests
from sf_emu_support import bulk2, collections_patch, connect, error_code, record, tls_session
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceFaults

NO_AUTO_ASSIGN = {"Sforce-Auto-Assign": "FALSE"}
AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def emu() -> Iterator[SalesforceEmulator]:
    with SalesforceEmulator() as running:
        running.seed(users=12, accounts=60, opportunities=240, contacts=150, tasks=120, as_of=AS_OF)
        yield running
        assert not running.internal_errors, running.internal_errors[0]


@pytest.fixture
def sf(emu: SalesforceEmulator) -> Salesforce:
    return connect(emu)


def _active(emu: SalesforceEmulator) -> list[str]:
    return [str(u["Id"]) for u in emu.store.all("User") if u["IsActive"]]


def _ids(emu: SalesforceEmulator, sobject: str) -> list[str]:
    return [str(r["Id"]) for r in emu.store.all(sobject)]


def _post(sf: Salesforce, records: list[dict[str, Any]], all_or_none: bool = False) -> Any:
    body = {"allOrNone": all_or_none, "records": records}
    return sf.restful("composite/sobjects", method="POST", json=body, headers=NO_AUTO_ASSIGN)


def _task(account: str, owner: str, key: str | None, subject: str = "Say hello") -> dict[str, Any]:
    fields: dict[str, Any] = {
        "attributes": {"type": "Task"},
        "WhatId": account,
        "OwnerId": owner,
        "ActivityDate": "2026-07-14",
        "Subject": subject,
        "Description": "Account handed over",
        "Status": "Not Started",
    }
    return fields | ({"RoleSync_Key__c": key} if key else {})


def test_soql_over_contacts_opportunities_and_tasks(
    emu: SalesforceEmulator, sf: Salesforce
) -> None:
    account = str(emu.store.all("Contact")[0]["AccountId"])
    contacts = sf.query_all(
        f"SELECT Id, AccountId, OwnerId FROM Contact WHERE AccountId = '{account}' ORDER BY Id"
    )["records"]
    stored = sorted(str(c["Id"]) for c in emu.store.all("Contact") if c["AccountId"] == account)
    assert [c["Id"] for c in contacts] == stored and {c["AccountId"] for c in contacts} == {account}
    open_deals = sf.query_all(
        "SELECT Id, IsClosed, IsWon, StageName, Type, AccountId, OwnerId FROM Opportunity "
        "WHERE IsClosed = false"
    )["records"]
    assert open_deals and all(not d["IsClosed"] and not d["IsWon"] for d in open_deals)
    assert len(open_deals) == sum(1 for o in emu.store.all("Opportunity") if not o["IsClosed"])
    tasks = sf.query_all(
        "SELECT Id, WhatId, OwnerId, Status, IsClosed, ActivityDate, Subject, Description, "
        "AccountId FROM Task WHERE IsClosed = false AND ActivityDate >= 2026-06-01"
    )["records"]
    assert tasks and all(
        t["Status"] != "Completed" and t["WhatId"] == t["AccountId"] for t in tasks
    )
    assert all(t["ActivityDate"] >= "2026-06-01" for t in tasks)
    assert emu.counters["query"] >= 3


def test_inactive_users_are_seeded_and_queryable(sf: Salesforce) -> None:
    inactive = sf.query_all("SELECT Id, IsActive FROM User WHERE IsActive = false")["records"]
    assert inactive and all(u["IsActive"] is False for u in inactive)
    with SalesforceEmulator() as many:
        many.seed(users=20, accounts=0, opportunities=0, inactive_share=0.5)
        assert sum(1 for u in many.store.all("User") if not u["IsActive"]) >= 5


def test_seed_is_deterministic_and_links_related_records() -> None:
    def snapshot() -> list[tuple[Any, ...]]:
        with SalesforceEmulator() as fresh:
            fresh.seed(users=5, accounts=10, opportunities=20, contacts=30, tasks=30, as_of=AS_OF)
            store = fresh.store
            accounts = set(_ids(fresh, "Account"))
            rows: list[tuple[Any, ...]] = [
                (c["Id"], c["AccountId"], c["OwnerId"]) for c in store.all("Contact")
            ]
            rows += [(t["Id"], t["WhatId"], t["OwnerId"], t["Status"]) for t in store.all("Task")]
            assert {r[1] for r in rows} <= accounts
            return rows

    assert snapshot() == snapshot()


def test_collection_owner_update_on_opportunities_contacts_and_tasks(
    emu: SalesforceEmulator, sf: Salesforce
) -> None:
    owner = _active(emu)[-1]
    targets = [("Opportunity", _ids(emu, "Opportunity")[0]), ("Contact", _ids(emu, "Contact")[0])]
    targets.append(("Task", _ids(emu, "Task")[0]))
    unknown = "003EM0000000zzzAAA"
    records = [{"attributes": {"type": t}, "id": i, "OwnerId": owner} for t, i in targets]
    records.append({"attributes": {"type": "Contact"}, "id": unknown, "OwnerId": owner})
    before = emu.counters["collections_patch"]
    results = collections_patch(sf, {"allOrNone": False, "records": records}, NO_AUTO_ASSIGN)
    assert [r["success"] for r in results] == [True, True, True, False]
    assert results[3]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    assert all(record(emu, t, i)["OwnerId"] == owner for t, i in targets)
    assert emu.counters["collections_patch"] == before + 1


def test_owner_update_to_an_inactive_user_fails_per_record(
    emu: SalesforceEmulator, sf: Salesforce
) -> None:
    gone = next(str(u["Id"]) for u in emu.store.all("User") if not u["IsActive"])
    task = _ids(emu, "Task")[1]
    before = record(emu, "Task", task)["OwnerId"]
    body = {
        "allOrNone": False,
        "records": [{"attributes": {"type": "Task"}, "id": task, "OwnerId": gone}],
    }
    (result,) = collections_patch(sf, body, NO_AUTO_ASSIGN)
    assert result["errors"][0]["statusCode"] == "INACTIVE_OWNER_OR_USER"
    assert record(emu, "Task", task)["OwnerId"] == before


def test_bulk2_owner_update_on_contacts_and_opportunities(
    emu: SalesforceEmulator, sf: Salesforce
) -> None:
    owner = _active(emu)[-2]
    for sobject in ("Contact", "Opportunity", "Task"):
        ids = _ids(emu, sobject)[10:40]
        (summary,) = bulk2(sf, sobject).update(
            records=[{"Id": i, "OwnerId": owner} for i in ids], wait=0
        )
        assert summary["numberRecordsProcessed"] == 30 and summary["numberRecordsFailed"] == 0
        assert {record(emu, sobject, i)["OwnerId"] for i in ids} == {owner}


def test_task_creation_returns_ids_in_request_order(
    emu: SalesforceEmulator, sf: Salesforce
) -> None:
    account, owner = _ids(emu, "Account")[0], _active(emu)[0]
    before = emu.store.count("Task")
    results = _post(sf, [_task(account, owner, "run1:acc0:new"), _task(account, owner, None)])
    assert [r["success"] for r in results] == [True, True]
    created = record(emu, "Task", results[0]["id"])
    assert created["WhatId"] == created["AccountId"] == account and created["OwnerId"] == owner
    assert created["ActivityDate"] == date(2026, 7, 14) and created["IsClosed"] is False
    assert created["Priority"] == "Normal"  # the org default of a required picklist
    assert emu.store.count("Task") == before + 2
    assert emu.counters["collections_create"] >= 1


def test_a_repeated_task_marker_fails_with_duplicate_value(
    emu: SalesforceEmulator, sf: Salesforce
) -> None:
    account, owner = _ids(emu, "Account")[1], _active(emu)[0]
    (first,) = _post(sf, [_task(account, owner, "run1:acc1:new")])
    before = emu.store.count("Task")
    # A retry of the same create, and a request repeating a marker twice.
    again = _post(sf, [_task(account, owner, "run1:acc1:new"), _task(account, owner, "k2"),
                       _task(account, owner, "k2")])  # fmt: skip
    assert [r["success"] for r in again] == [False, True, False]
    (error,) = again[0]["errors"]
    assert error == {
        "statusCode": "DUPLICATE_VALUE",
        "message": "duplicate value found: RoleSync_Key__c duplicates value on record with id: "
        + first["id"],
        "fields": [],
    }
    assert again[1]["id"] in again[2]["errors"][0]["message"]
    assert emu.store.count("Task") == before + 1
    found = sf.query_all("SELECT Id FROM Task WHERE RoleSync_Key__c = 'run1:acc1:new'")
    assert [r["Id"] for r in found["records"]] == [first["id"]]


def test_task_creation_refusals(emu: SalesforceEmulator, sf: Salesforce) -> None:
    account, owner = _ids(emu, "Account")[2], _active(emu)[0]
    gone = next(str(u["Id"]) for u in emu.store.all("User") if not u["IsActive"])
    before = emu.store.count("Task")
    with pytest.raises(SalesforceMalformedRequest) as too_many:
        _post(sf, [_task(account, owner, f"many-{n}") for n in range(201)])
    assert error_code(too_many.value) == "EXCEEDED_ID_LIMIT"
    with_id = _task(account, owner, None) | {"Id": _ids(emu, "Task")[0]}
    results = _post(
        sf, [with_id, _task(account, gone, None), _task("001EM0000000zzzAAA", owner, None)]
    )
    assert [r["errors"][0]["statusCode"] for r in results] == [
        "INVALID_FIELD", "INACTIVE_OWNER_OR_USER", "INVALID_CROSS_REFERENCE_KEY"
    ]  # fmt: skip
    rolled = _post(sf, [_task(account, owner, None), _task(account, gone, None)], all_or_none=True)
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert emu.store.count("Task") == before


def test_upsert_by_external_id_creates_once(emu: SalesforceEmulator, sf: Salesforce) -> None:
    account, owner = _ids(emu, "Account")[3], _active(emu)[0]
    fields = {k: v for k, v in _task(account, owner, None).items() if k != "attributes"}
    before = emu.store.count("Task")
    url = f"{emu.url}/services/data/v62.0/sobjects/Task/RoleSync_Key__c/run1:acc3:new"
    headers = {"Authorization": f"Bearer {emu.config.access_token}", **NO_AUTO_ASSIGN}
    session = tls_session(emu)
    created = session.patch(url, json=fields, headers=headers)
    assert created.status_code == 201 and created.json()["created"] is True
    again = session.patch(url, json=fields | {"Subject": "Say hello again"}, headers=headers)
    assert again.status_code == 200 and again.json() == {
        "id": created.json()["id"], "success": True, "errors": [], "created": False
    }  # fmt: skip
    assert emu.store.count("Task") == before + 1
    assert record(emu, "Task", created.json()["id"])["Subject"] == "Say hello again"
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("sobjects/Task/Subject/x", method="PATCH", json={})
    assert emu.counters["sobject_upsert"] == 3


def test_a_lost_create_answer_is_told_apart_by_the_marker() -> None:
    with SalesforceEmulator() as emu:
        emu.seed(users=3, accounts=2, opportunities=0, inactive_share=0.0)
        sf = connect(emu)
        account, owner = _ids(emu, "Account")[0], _active(emu)[0]
        emu.set_faults(SalesforceFaults(drop_every=1, drop_after_processing=True))
        with pytest.raises(requests.exceptions.ConnectionError):
            _post(sf, [_task(account, owner, "run9:acc:new")])
        emu.set_faults(SalesforceFaults())
        (retry,) = _post(sf, [_task(account, owner, "run9:acc:new")])
        assert retry["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
        assert emu.store.count("Task") == 1
        assert emu.counters["collections_create"] == 2 and emu.counters["fault_drop"] == 1
