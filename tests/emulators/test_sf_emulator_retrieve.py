"""sObject Collections retrieve (`POST composite/sobjects/{sObject}`) through the real
SDK: the documented wire format, null for what cannot be read, the 2,000-id limit,
refused fields, and the counters, faults and limits every route shares."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sf_emu_support import API_VERSION, connect, error_body, error_code, record, tls_session
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceFaults
from roleSync.emulators.salesforce.retrieve import MAX_RETRIEVE_IDS

MISSING = "001000000000000AAA"  # well-formed, no such account


@pytest.fixture
def emu() -> Iterator[SalesforceEmulator]:
    with SalesforceEmulator() as running:
        running.seed(users=6, accounts=50, opportunities=0)
        yield running
        assert not running.internal_errors, running.internal_errors[0]


@pytest.fixture
def sf(emu: SalesforceEmulator) -> Salesforce:
    return connect(emu)


def _accounts(emu: SalesforceEmulator) -> list[str]:
    return [str(a["Id"]) for a in emu.store.all("Account")]


def retrieve(
    sf: Salesforce, sobject: str, ids: list[str], fields: list[str]
) -> list[dict[str, Any] | None]:
    answer = sf.restful(
        f"composite/sobjects/{sobject}", method="POST", json={"ids": ids, "fields": fields}
    )
    assert isinstance(answer, list)
    return answer


def test_records_in_request_order_with_attributes_and_api_spellings(
    emu: SalesforceEmulator, sf: Salesforce
) -> None:
    first, second, third = _accounts(emu)[:3]
    emu.store.update("Account", second, {"Do_Not_Route__c": True})
    answer = retrieve(sf, "Account", [third, first, second], ["id", "ownerid", "do_not_route__c"])
    assert [r["Id"] if r else None for r in answer] == [third, first, second]
    stored = record(emu, "Account", first)
    assert answer[1] == {
        "attributes": {
            "type": "Account",
            "url": f"/services/data/v{API_VERSION}/sobjects/Account/{first}",
        },
        "Id": first,
        "OwnerId": stored["OwnerId"],
        "Do_Not_Route__c": stored["Do_Not_Route__c"],
    }
    assert answer[2] is not None and answer[2]["Do_Not_Route__c"] is True
    # Only the fields asked for; datetimes in Salesforce's JSON spelling.
    (stamped,) = retrieve(sf, "Account", [first], ["SystemModstamp"])
    assert stamped is not None and set(stamped) == {"attributes", "SystemModstamp"}
    assert str(stamped["SystemModstamp"]).endswith("+0000")


def test_null_for_every_id_that_cannot_be_read(emu: SalesforceEmulator, sf: Salesforce) -> None:
    live, deleted = _accounts(emu)[:2]
    emu.store.delete("Account", deleted)
    user = str(emu.store.all("User")[0]["Id"])
    ids = [live, deleted, MISSING, "not-an-id", user, live[:15], live]
    answer = retrieve(sf, "Account", ids, ["Id", "Name"])
    assert len(answer) == len(ids)
    # Deleted (recycle bin), never existed, malformed, another object's Id: null.
    assert answer[1:5] == [None, None, None, None]
    # A 15-character Id is read as its 18-character form; repeats are answered each time.
    assert answer[0] == answer[5] == answer[6]
    assert answer[5] is not None and answer[5]["Id"] == live


def test_counted_as_a_read_with_the_usage_header(emu: SalesforceEmulator) -> None:
    session = tls_session(emu)
    answer = session.post(
        f"{emu.url}/services/data/v{API_VERSION}/composite/sobjects/Account",
        json={"ids": _accounts(emu)[:5], "fields": ["OwnerId"]},
        headers={"Authorization": f"Bearer {emu.config.access_token}"},
        timeout=5,
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.headers["Sforce-Limit-Info"] == f"api-usage=1/{emu.config.daily_limit}"
    assert emu.counters["collections_retrieve"] == 1
    assert emu.counters["api_requests"] == 1 and emu.api_used == 1
    assert emu.counters["write_requests"] == 0
    assert emu.log[-1].kind == "collections_retrieve" and emu.log[-1].soql is None


def test_the_get_form_reads_the_same(emu: SalesforceEmulator, sf: Salesforce) -> None:
    ids = [*_accounts(emu)[:3], MISSING]
    posted = retrieve(sf, "Account", ids, ["Id", "OwnerId"])
    got = sf.restful(
        "composite/sobjects/Account", params={"ids": ",".join(ids), "fields": "Id,OwnerId"}
    )
    assert got == posted
    assert emu.counters["collections_retrieve"] == 2 and emu.counters["write_requests"] == 0


def test_up_to_2000_ids_and_a_400_beyond(emu: SalesforceEmulator, sf: Salesforce) -> None:
    accounts = _accounts(emu)
    most = [accounts[n % len(accounts)] for n in range(MAX_RETRIEVE_IDS)]
    assert len(retrieve(sf, "Account", most, ["Id"])) == MAX_RETRIEVE_IDS
    with pytest.raises(SalesforceMalformedRequest) as caught:
        retrieve(sf, "Account", [*most, accounts[0]], ["Id"])
    assert caught.value.status == 400
    assert error_code(caught.value) == "EXCEEDED_ID_LIMIT"
    assert "2000" in error_body(caught.value)[0]["message"]


def test_an_unknown_field_refuses_the_whole_request(
    emu: SalesforceEmulator, sf: Salesforce
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        retrieve(sf, "Account", _accounts(emu)[:3], ["Id", "No_Such_Field__c"])
    assert caught.value.status == 400
    assert error_body(caught.value) == [
        {
            "message": "No such column 'No_Such_Field__c' on sobject of type Account",
            "errorCode": "INVALID_FIELD",
            "fields": ["No_Such_Field__c"],
        }
    ]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"fields": ["Id"]}, "MISSING_ARGUMENT"),
        ({"ids": [], "fields": ["Id"]}, "MISSING_ARGUMENT"),
        ({"ids": ["001EM0000000001YAA"]}, "MISSING_ARGUMENT"),
        ({"ids": "001EM0000000001YAA", "fields": ["Id"]}, "JSON_PARSER_ERROR"),
        ({"ids": [1, 2], "fields": ["Id"]}, "JSON_PARSER_ERROR"),
        (["001EM0000000001YAA"], "JSON_PARSER_ERROR"),
    ],
)
def test_malformed_bodies_are_400s(sf: Salesforce, body: Any, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/sobjects/Account", method="POST", json=body)
    assert error_code(caught.value) == code


def test_unknown_sobject_and_bad_json(emu: SalesforceEmulator, sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as missing:
        retrieve(sf, "Nope", _accounts(emu)[:1], ["Id"])
    assert error_code(missing.value) == "NOT_FOUND"
    answer = tls_session(emu).post(
        f"{emu.url}/services/data/v{API_VERSION}/composite/sobjects/Account",
        data=b"{not json",
        headers={"Authorization": f"Bearer {emu.config.access_token}"},
        timeout=5,
    )
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_auth_faults_and_the_daily_limit_apply(emu: SalesforceEmulator) -> None:
    ids = _accounts(emu)[:2]
    with pytest.raises(SalesforceExpiredSession):
        retrieve(connect(emu, "not-a-valid-token"), "Account", ids, ["Id"])
    sf = connect(emu)
    emu.set_faults(SalesforceFaults(unavailable_every=2))
    retrieve(sf, "Account", ids, ["Id"])
    with pytest.raises(SalesforceGeneralError) as unavailable:
        retrieve(sf, "Account", ids, ["Id"])
    assert unavailable.value.status == 503
    assert error_code(unavailable.value) == "SERVER_UNAVAILABLE"
    # Refused requests use none of the day's allowance: one read so far.
    assert emu.api_used == 1
    emu.set_faults(SalesforceFaults(request_limit_after=2))
    retrieve(sf, "Account", ids, ["Id"])
    with pytest.raises(SalesforceRefusedRequest) as limited:
        retrieve(sf, "Account", ids, ["Id"])
    assert error_code(limited.value) == "REQUEST_LIMIT_EXCEEDED"
    assert emu.counters["fault_unavailable"] == 1 and emu.counters["fault_request_limit"] == 1
    assert emu.counters["collections_retrieve"] == 5 and emu.counters["write_requests"] == 0


def test_a_dropped_connection_drops_the_read(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.set_faults(SalesforceFaults(drop_every=1))
    with pytest.raises(requests.exceptions.ConnectionError):
        retrieve(sf, "Account", _accounts(emu)[:2], ["Id"])
    assert emu.log[-1].fault == "drop" and emu.log[-1].status is None
