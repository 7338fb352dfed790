"""Writes through the real SDK: sObject PATCH, sObject Collections, Bulk API 2.0."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

import pytest
from sf_emu_support import (
    bulk2,
    collections_patch,
    connect,
    error_code,
    record,
    sobject_type,
    tls_session,
)
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceEmulatorConfig

NO_AUTO_ASSIGN = {"Sforce-Auto-Assign": "FALSE"}


@pytest.fixture
def emu() -> Iterator[SalesforceEmulator]:
    with SalesforceEmulator() as running:
        running.seed(users=12, accounts=400, opportunities=0)
        yield running
        assert not running.internal_errors, running.internal_errors[0]


@pytest.fixture
def sf(emu: SalesforceEmulator) -> Salesforce:
    return connect(emu)


def _ids(emu: SalesforceEmulator, sobject: str, **match: Any) -> list[str]:
    rows = emu.store.all(sobject)
    return [str(r["Id"]) for r in rows if all(r[k] == v for k, v in match.items())]


def _collection(ids: list[str], owner: str) -> dict[str, Any]:
    records = [{"attributes": {"type": "Account"}, "id": i, "OwnerId": owner} for i in ids]
    return {"allOrNone": False, "records": records}


def test_single_update_answers_204_and_bumps_stamps(
    emu: SalesforceEmulator, sf: Salesforce
) -> None:
    account = _ids(emu, "Account")[0]
    owner = _ids(emu, "User", IsActive=True)[1]
    before = record(emu, "Account", account)
    assert (
        sobject_type(sf, "Account").update(account, {"OwnerId": owner}, headers=NO_AUTO_ASSIGN)
        == 204
    )
    after = record(emu, "Account", account)
    assert after["OwnerId"] == owner
    assert str(after["SystemModstamp"]) > str(before["SystemModstamp"])
    assert after["LastModifiedDate"] == after["SystemModstamp"]
    assert emu.counters["sobject_patch"] == 1 and emu.counters["write_requests"] == 1
    assert emu.counters["auto_assign_false"] == 1
    assert emu.log[-1].headers["sforce-auto-assign"] == "FALSE"


def test_single_update_errors(emu: SalesforceEmulator, sf: Salesforce) -> None:
    account = _ids(emu, "Account")[0]
    emu.store.delete("Account", account)
    with pytest.raises(SalesforceResourceNotFound) as deleted:
        sobject_type(sf, "Account").update(account, {"Name": "x"})
    assert error_code(deleted.value) == "ENTITY_IS_DELETED"
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sobject_type(sf, "Account").update("001EM0000000zzzAAA", {"Name": "x"})
    assert error_code(missing.value) == "NOT_FOUND"
    with pytest.raises(SalesforceMalformedRequest) as readonly:
        sobject_type(sf, "Account").update(
            _ids(emu, "Account")[1], {"SystemModstamp": "2024-01-01T00:00:00Z"}
        )
    assert error_code(readonly.value) == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_collections_mixed_results_in_request_order(
    emu: SalesforceEmulator, sf: Salesforce
) -> None:
    accounts = _ids(emu, "Account")[:5]
    active = _ids(emu, "User", IsActive=True)[1]
    inactive = _ids(emu, "User", IsActive=False)[0]
    emu.store.delete("Account", accounts[1])
    before = {a: record(emu, "Account", a)["OwnerId"] for a in accounts}
    body = _collection(accounts, active)
    body["records"][3]["OwnerId"] = "005EM00000000zzAAA"  # no such user
    body["records"][4]["OwnerId"] = inactive
    results = collections_patch(sf, body, NO_AUTO_ASSIGN)
    assert [r["success"] for r in results] == [True, False, True, False, False]
    assert results[0] == {"id": accounts[0], "success": True, "errors": []}
    assert "id" not in results[1]
    codes = [r["errors"][0]["statusCode"] if r["errors"] else None for r in results]
    assert codes == [
        None,
        "ENTITY_IS_DELETED",
        None,
        "INVALID_CROSS_REFERENCE_KEY",
        "INACTIVE_OWNER_OR_USER",
    ]
    assert results[3]["errors"][0]["fields"] == ["OwnerId"]
    after = {a: record(emu, "Account", a)["OwnerId"] for a in accounts}
    assert after[accounts[0]] == after[accounts[2]] == active
    assert [after[a] for a in accounts[3:]] == [before[a] for a in accounts[3:]]
    assert emu.counters["collections_patch"] == 1 and emu.counters["auto_assign_false"] == 1


def test_collections_all_or_none_rolls_back(emu: SalesforceEmulator, sf: Salesforce) -> None:
    accounts = _ids(emu, "Account")[:2]
    body = _collection(accounts, _ids(emu, "User", IsActive=True)[1])
    body["allOrNone"] = True
    body["records"][1]["OwnerId"] = "005EM00000000zzAAA"
    results = collections_patch(sf, body)
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert emu.counters["auto_assign_missing"] == 1


def test_collections_refuse_more_than_200(emu: SalesforceEmulator, sf: Salesforce) -> None:
    body = _collection(_ids(emu, "Account")[:201], _ids(emu, "User", IsActive=True)[0])
    with pytest.raises(SalesforceMalformedRequest) as caught:
        collections_patch(sf, body)
    assert error_code(caught.value) == "EXCEEDED_ID_LIMIT"


def test_metric_fields_on_users(emu: SalesforceEmulator, sf: Salesforce) -> None:
    user = _ids(emu, "User")[0]
    body = {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "User"},
                "id": user,
                "Sales_Role__c": "hunter",
                "New_Business_Share__c": 0.75,
                "Won_Deals__c": 12,
                "Role_Metrics_As_Of__c": "2026-06-30",
            }
        ],
    }
    assert collections_patch(sf, body)[0]["success"] is True
    row = sf.query(f"SELECT Sales_Role__c, Won_Deals__c FROM User WHERE Id = '{user}'")
    assert row["records"][0]["Sales_Role__c"] == "hunter"
    assert row["records"][0]["Won_Deals__c"] == 12


def test_assignment_rules_run_without_the_header() -> None:
    with SalesforceEmulator(SalesforceEmulatorConfig()) as emu:
        emu.seed(users=8, accounts=3, opportunities=0)
        rule_owner, wanted = _ids(emu, "User", IsActive=True)[:2]
        emu.config.auto_assign_owner_id = rule_owner
        sf = connect(emu)
        first, second = _ids(emu, "Account")[:2]
        sobject_type(sf, "Account").update(first, {"OwnerId": wanted})
        sobject_type(sf, "Account").update(second, {"OwnerId": wanted}, headers=NO_AUTO_ASSIGN)
        owners = [record(emu, "Account", a)["OwnerId"] for a in (first, second)]
        assert owners == [rule_owner, wanted]


def test_bulk2_update_with_results(emu: SalesforceEmulator, sf: Salesforce) -> None:
    accounts = _ids(emu, "Account")[:300]
    owner = _ids(emu, "User", IsActive=True)[1]
    emu.store.delete("Account", accounts[7])
    records = [{"Id": a, "OwnerId": owner} for a in accounts]
    emu.reset_counters()
    (summary,) = bulk2(sf, "Account").update(records=records, wait=0)
    assert summary["numberRecordsProcessed"] == 300 and summary["numberRecordsFailed"] == 1
    kinds = [entry.kind for entry in emu.log]
    assert kinds == ["bulk_create", "bulk_upload", "bulk_close", "bulk_poll", "bulk_poll"]
    assert [entry.status for entry in emu.log][:3] == [200, 201, 200]
    job = str(summary["job_id"])
    ok = list(csv.DictReader(bulk2(sf, "Account").get_successful_records(job).splitlines()))
    failed = list(csv.DictReader(bulk2(sf, "Account").get_failed_records(job).splitlines()))
    assert len(ok) == 299 and ok[0]["sf__Created"] == "false" and ok[0]["OwnerId"] == owner
    assert {row["sf__Id"] for row in ok} == set(accounts) - {accounts[7]}
    assert failed == [
        {
            "sf__Id": accounts[7],
            "sf__Error": "ENTITY_IS_DELETED:entity is deleted:--",
            "Id": accounts[7],
            "OwnerId": owner,
        }
    ]
    assert emu.counters["write_requests"] == 7  # create, upload, close, 2 polls, 2 results
    assert {record(emu, "Account", a)["OwnerId"] for a in accounts if a != accounts[7]} == {owner}


def test_bulk2_polls_until_complete() -> None:
    with SalesforceEmulator(SalesforceEmulatorConfig(bulk_polls_before_complete=2)) as emu:
        emu.seed(users=3, accounts=5, opportunities=0)
        sf = connect(emu)
        owner = _ids(emu, "User", IsActive=True)[0]
        records = [{"Id": a, "OwnerId": owner} for a in _ids(emu, "Account")]
        bulk2(sf, "Account").update(records=records, wait=0)
        states = [e.status for e in emu.log if e.kind == "bulk_poll"]
        assert len(states) == 4  # InProgress twice, JobComplete, then the final get_job


def test_bulk_upload_answers_exactly_201(emu: SalesforceEmulator) -> None:
    session = tls_session(emu)
    headers = {"Authorization": f"Bearer {emu.config.access_token}"}
    base = f"{emu.url}/services/data/v62.0/jobs/ingest"
    job = session.post(
        base,
        json={"object": "Account", "operation": "update", "contentType": "CSV", "lineEnding": "LF"},
        headers=headers,
    ).json()
    assert job["state"] == "Open" and job["id"].startswith("750")
    csv_headers = {**headers, "Content-Type": "text/csv"}
    account = _ids(emu, "Account")[0]
    put = session.put(
        f"{base}/{job['id']}/batches", data=f"Id,Name\n{account},Renamed\n", headers=csv_headers
    )
    assert put.status_code == 201 and put.content == b""
    again = session.put(f"{base}/{job['id']}/batches", data="Id\n", headers=csv_headers)
    assert again.status_code == 409 and again.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    closed = session.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}, headers=headers)
    assert closed.json()["state"] == "UploadComplete"
    assert session.get(f"{base}/{job['id']}", headers=headers).json()["state"] == "JobComplete"
    assert record(emu, "Account", account)["Name"] == "Renamed"
    unknown = session.post(base, json={"object": "Nope", "operation": "update"}, headers=headers)
    assert unknown.status_code == 400 and unknown.json()[0]["errorCode"] == "INVALIDJOB"


def test_bulk_null_marker_and_blank_cells(emu: SalesforceEmulator, sf: Salesforce) -> None:
    account = next(a for a in emu.store.all("Account") if a["Industry"] and a["Region__c"])
    record_id = str(account["Id"])
    bulk2(sf, "Account").update(
        records=[{"Id": record_id, "Industry": "#N/A", "Region__c": ""}], wait=0
    )
    after = record(emu, "Account", record_id)
    assert after["Industry"] is None
    assert after["Region__c"] == account["Region__c"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "composite/sobjects", b"{not json"),
        ("PATCH", "composite/sobjects", b"[1, 2]"),
        ("PATCH", "composite/sobjects", b'{"records": [1, {"attributes": 5}, {"id": 3}]}'),
        ("PATCH", "composite/sobjects", b'{"records": [{"attributes": {"type": "Account"}}]}'),
        ("PATCH", "sobjects/Account/001EM0000000001YAA", b'"text"'),
        ("PATCH", "sobjects/Account/001EM0000000001YAA", b'{"AnnualRevenue": [1]}'),
        ("PATCH", "sobjects/Account/001EM0000000001YAA", b'{"OwnerId": 5}'),
        ("PATCH", "sobjects/Account/not-an-id", b"{}"),
        ("POST", "jobs/ingest", b"[]"),
        ("POST", "jobs/ingest", b'{"object": "Account", "operation": "update", "lineEnding": 3}'),
        ("PATCH", "jobs/ingest/750EM0000000001YAA", b'{"state": "UploadComplete"}'),
        ("GET", "jobs/ingest/750EM0000000001YAA/failedResults", b""),
        ("GET", "query/?q=", b""),
        ("GET", "query/abc", b""),
        ("GET", "sobjects/Nope/describe", b""),
    ],
)
def test_garbage_gets_salesforce_errors_not_crashes(
    emu: SalesforceEmulator, method: str, path: str, body: bytes
) -> None:
    answer = tls_session(emu).request(
        method,
        f"{emu.url}/services/data/v62.0/{path}",
        data=body,
        headers={
            "Authorization": f"Bearer {emu.config.access_token}",
            "Content-Type": "application/json",
        },
        timeout=5,
    )
    assert 200 <= answer.status_code < 500
    if answer.status_code >= 400:
        assert answer.json()[0]["errorCode"]
    else:
        results = answer.json()
        assert all(r["success"] is False for r in results)
