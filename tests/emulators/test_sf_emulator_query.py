"""Queries through the real simple-salesforce SDK over TLS: paging, queryAll, errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sf_emu_support import connect, error_body, error_code, sobject_type
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound
from simple_salesforce.format import format_soql

from roleSync.emulators.salesforce import SalesforceEmulator


@pytest.fixture
def emu() -> Iterator[SalesforceEmulator]:
    with SalesforceEmulator() as running:
        yield running
        assert not running.internal_errors, running.internal_errors[0]


@pytest.fixture
def sf(emu: SalesforceEmulator) -> Salesforce:
    return connect(emu)


def test_paging_follows_next_records_url(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.seed(users=5, accounts=4500, opportunities=0)
    first = sf.query("SELECT Id FROM Account")
    assert first["totalSize"] == 4500 and first["done"] is False
    assert len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-2000")
    emu.reset_counters()
    ids = [r["Id"] for r in sf.query_all_iter("SELECT Id, Name FROM Account ORDER BY Id")]
    assert len(ids) == len(set(ids)) == 4500
    assert ids == sorted(ids)
    assert emu.counters["query"] == 1 and emu.counters["query_more"] == 2
    assert emu.counters["api_requests"] == 3
    assert emu.connections_accepted == 1  # keep-alive: one TLS connection for every page
    last = sf.query_more(
        first["nextRecordsUrl"].rsplit("-", 1)[0] + "-4000", identifier_is_url=True
    )
    assert last["done"] is True and "nextRecordsUrl" not in last and len(last["records"]) == 500


def test_records_carry_attributes_and_salesforce_spellings(
    emu: SalesforceEmulator, sf: Salesforce
) -> None:
    emu.seed(users=3, accounts=5, opportunities=5)
    record = sf.query("SELECT Id, CloseDate, CreatedDate, IsWon, Amount FROM Opportunity LIMIT 1")[
        "records"
    ][0]
    assert record["attributes"] == {
        "type": "Opportunity",
        "url": f"/services/data/v62.0/sobjects/Opportunity/{record['Id']}",
    }
    assert list(record) == ["attributes", "Id", "CloseDate", "CreatedDate", "IsWon", "Amount"]
    assert len(record["Id"]) == 18 and record["Id"].startswith("006")
    datetime.strptime(record["CreatedDate"], "%Y-%m-%dT%H:%M:%S.%f%z")
    datetime.strptime(record["CloseDate"], "%Y-%m-%d")


def test_batch_size_header_shrinks_pages(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.seed(users=2, accounts=450, opportunities=0)
    page = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=200"})
    assert len(page["records"]) == 200 and page["nextRecordsUrl"].endswith("-200")


def test_query_all_sees_deleted_records(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.seed(users=2, accounts=10, opportunities=0)
    gone = emu.store.all("Account")[3]["Id"]
    assert isinstance(gone, str)
    emu.store.delete("Account", gone)
    live = {r["Id"] for r in sf.query_all_iter("SELECT Id FROM Account")}
    everything = sf.query_all("SELECT Id, IsDeleted FROM Account", include_deleted=True)
    assert gone not in live and len(live) == 9
    assert everything["totalSize"] == 10
    deleted = [r for r in everything["records"] if r["IsDeleted"]]
    assert [r["Id"] for r in deleted] == [gone]
    assert emu.counters["query_all"] == 1


def test_incremental_pull_with_ties_and_cursor(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.seed(users=3, accounts=20, opportunities=0)
    moment = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    ids = [str(r["Id"]) for r in emu.store.all("Account")[:4]]
    with emu.store.clock.frozen(moment):
        for record_id in ids[:3]:
            emu.store.update("Account", record_id, {"Name": f"tie {record_id}"})
    emu.store.clock.set(moment + timedelta(seconds=1))
    emu.store.update("Account", ids[3], {"Name": "after"})
    soql = format_soql(
        "SELECT Id, Name, SystemModstamp FROM Account WHERE SystemModstamp >= {} "
        "ORDER BY SystemModstamp, Id",
        moment,
    )
    rows = sf.query(soql)["records"]
    assert [r["Id"] for r in rows] == [*sorted(ids[:3]), ids[3]]
    assert {r["SystemModstamp"] for r in rows[:3]} == {"2030-01-01T12:00:00.000+0000"}
    assert rows[3]["SystemModstamp"] == "2030-01-01T12:00:01.000+0000"


def test_where_operators_through_the_sdk(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.seed(users=10, accounts=300, opportunities=600)
    accounts = emu.store.all("Account")
    prospects = {r["Id"] for r in accounts if r["Type"] == "Prospect"}
    got = {
        r["Id"]
        for r in sf.query_all_iter(
            format_soql("SELECT Id FROM Account WHERE Type IN {}", ["Prospect"])
        )
    }
    assert got == prospects
    not_prospects = sf.query(
        format_soql("SELECT COUNT() FROM Account WHERE Type != {}", "Prospect")
    )
    assert not_prospects["totalSize"] == len(accounts) - len(prospects)
    won = sf.query(
        "SELECT Id, Amount FROM Opportunity WHERE IsWon = true AND Amount >= 1000 "
        "ORDER BY Amount DESC, Id LIMIT 10"
    )["records"]
    amounts = [r["Amount"] for r in won]
    assert amounts == sorted(amounts, reverse=True) and len(amounts) == 10
    quoted = [r for r in accounts if "'" in str(r["Name"])]
    assert quoted, "the seeded org has names with apostrophes"
    name = str(quoted[0]["Name"])
    found = sf.query(format_soql("SELECT Id, Name FROM Account WHERE Name = {}", name))
    assert [r["Name"] for r in found["records"]] == [name]
    like = format_soql("SELECT Id FROM Account WHERE Name LIKE '{:like}%'", name.split()[0])
    assert sf.query(like)["totalSize"] >= 1


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", "MALFORMED_QUERY"),
        ("SELECT Nope__c FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE CreatedDate > '2024-01-01'", "INVALID_FIELD"),
        ("SELECT Id FROM Nope__c", "INVALID_TYPE"),
    ],
)
def test_bad_queries_raise_malformed_request(sf: Salesforce, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query(soql)
    assert caught.value.status == 400
    assert error_code(caught.value) == code
    assert set(error_body(caught.value)[0]) == {"message", "errorCode"}


def test_unknown_locator_and_routes(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more("/services/data/v62.0/query/01gEM0000000099AAA-2000", identifier_is_url=True)
    assert error_code(caught.value) == "INVALID_QUERY_LOCATOR"
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.restful("no/such/thing")
    assert error_body(missing.value) == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]


def test_cursor_is_a_snapshot(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.seed(users=2, accounts=2500, opportunities=0)
    first = sf.query("SELECT Id, Name FROM Account ORDER BY Id")
    last_id = emu.store.all("Account")[-1]["Id"]
    assert isinstance(last_id, str)
    emu.store.update("Account", last_id, {"Name": "renamed later"})
    rest = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert rest["records"][-1]["Name"] != "renamed later"


def test_single_record_and_describe(emu: SalesforceEmulator, sf: Salesforce) -> None:
    emu.seed(users=2, accounts=3, opportunities=0)
    account = str(emu.store.all("Account")[0]["Id"])
    accounts = sobject_type(sf, "Account")
    row = accounts.get(account)
    assert row["Id"] == account and row["attributes"]["type"] == "Account"
    assert accounts.get(account[:15])["Id"] == account
    fields = {f["name"]: f for f in accounts.describe()["fields"]}
    assert fields["OwnerId"]["referenceTo"] == ["User"] and fields["Segment__c"]["custom"]
    assert fields["SystemModstamp"]["updateable"] is False
    emu.store.delete("Account", account)
    with pytest.raises(SalesforceResourceNotFound) as caught:
        accounts.get(account)
    assert error_code(caught.value) == "ENTITY_IS_DELETED"
