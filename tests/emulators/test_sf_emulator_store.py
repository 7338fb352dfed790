"""The emulated org's store, clock and seeded data, without the HTTP layer."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from roleSync.emulators.salesforce import (
    USER_METRIC_FIELDS,
    Clock,
    FieldType,
    RecordError,
    SalesforceStore,
)
from roleSync.emulators.salesforce.schema import STAGES, id_suffix, normalize_id
from roleSync.emulators.salesforce.seed import seed_org
from roleSync.metrics import METRIC_NAMES

AS_OF = date(2026, 6, 30)


def _seeded(seed: int = 1) -> SalesforceStore:
    store = SalesforceStore(Clock(datetime(2026, 7, 1, 9, 0, tzinfo=UTC)))
    seed_org(store, users=30, accounts=600, opportunities=1500, seed=seed, as_of=AS_OF)
    return store


def test_clock_stamps_strictly_increase_by_milliseconds() -> None:
    clock = Clock()
    stamps = [clock.now() for _ in range(2000)]
    assert all(b > a for a, b in itertools.pairwise(stamps))
    assert all(s.microsecond % 1000 == 0 for s in stamps)


def test_clock_freeze_makes_ties_and_set_moves_time() -> None:
    clock = Clock()
    moment = datetime(2030, 5, 5, 5, 5, 5, 123456, tzinfo=UTC)
    with clock.frozen(moment) as frozen:
        assert clock.now() == clock.now() == frozen == moment.replace(microsecond=123000)
    assert clock.now() > frozen
    clock.set(datetime(2020, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2020, 1, 1, tzinfo=UTC)
    clock.advance(timedelta(days=1))
    assert clock.peek() >= datetime(2020, 1, 2, tzinfo=UTC)


def test_ids_are_18_characters_with_a_valid_suffix() -> None:
    store = _seeded()
    for sobject, prefix in (("User", "005"), ("Account", "001"), ("Opportunity", "006")):
        for row in store.all(sobject)[:50]:
            record_id = str(row["Id"])
            assert len(record_id) == 18 and record_id.startswith(prefix)
            assert id_suffix(record_id[:15]) == record_id[15:]
            assert normalize_id(record_id[:15]) == record_id


def test_seed_is_deterministic() -> None:
    assert _seeded(1).all("Opportunity") == _seeded(1).all("Opportunity")
    assert _seeded(1).all("Account") != _seeded(2).all("Account")


def test_seeded_org_is_realistic() -> None:
    store = _seeded()
    users = store.all("User")
    accounts = store.all("Account")
    deals = store.all("Opportunity")
    assert any(not u["IsActive"] for u in users) and sum(bool(u["IsActive"]) for u in users) > 20
    assert all(u[name] is None for u in users for name, _ in USER_METRIC_FIELDS)
    assert {a["Type"] for a in accounts} == {"Prospect", "Customer - Direct", "Customer - Channel"}
    assert {a["Region__c"] for a in accounts} == {"NA", "EMEA", "APAC", "LATAM"}
    assert any(a["Do_Not_Route__c"] for a in accounts)
    assert any("'" in str(a["Name"]) for a in accounts)
    kinds = {d["Type"] for d in deals}
    assert None in kinds and "New Customer" in kinds and "Existing Customer - Upgrade" in kinds
    assert kinds <= {
        None,
        "New Customer",
        "Existing Customer - Upgrade",
        "Existing Customer - Replacement",
        "Existing Customer - Downgrade",
    }
    for deal in deals:
        assert (deal["IsClosed"], deal["IsWon"]) == STAGES[str(deal["StageName"])]
        created = deal["CreatedDate"]
        assert isinstance(created, datetime) and created.date() <= AS_OF
    prospects = {a["Id"] for a in accounts if a["Type"] == "Prospect"}
    assert not [d for d in deals if d["IsWon"] and d["AccountId"] in prospects]


def test_update_validates_like_the_api() -> None:
    store = _seeded()
    account = str(store.all("Account")[0]["Id"])
    inactive = next(str(u["Id"]) for u in store.all("User") if not u["IsActive"])
    with pytest.raises(RecordError) as caught:
        store.update("Account", account, {"OwnerId": inactive})
    assert caught.value.code == "INACTIVE_OWNER_OR_USER"
    with pytest.raises(RecordError) as unknown:
        store.update("Account", account, {"Nope__c": 1})
    assert unknown.value.code == "INVALID_FIELD"
    with pytest.raises(RecordError) as typed:
        store.update("Account", account, {"AnnualRevenue": "lots"})
    assert typed.value.code == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    store.delete("Account", account)
    assert store.count("Account") == 599 and store.count("Account", include_deleted=True) == 600
    with pytest.raises(RecordError) as deleted:
        store.update("Account", account, {"Name": "x"})
    assert deleted.value.code == "ENTITY_IS_DELETED"


def test_stage_changes_derive_closed_and_won() -> None:
    store = _seeded()
    deal = next(str(d["Id"]) for d in store.all("Opportunity") if not d["IsClosed"])
    store.update("Opportunity", deal, {"StageName": "Closed Won"})
    row = store.get("Opportunity", deal)
    assert row is not None and row["IsClosed"] is True and row["IsWon"] is True


def test_custom_fields_and_inserts() -> None:
    store = SalesforceStore()
    store.define_field("Account", "Health_Score__c", FieldType.DOUBLE)
    record_id = store.insert(
        "Account",
        {"Name": "Initech", "Health_Score__c": "42", "CreatedDate": "2024-01-02T03:04:05Z"},
    )
    row = store.get("Account", record_id)
    assert row is not None and row["Health_Score__c"] == 42.0
    assert row["CreatedDate"] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert row["SystemModstamp"] == row["CreatedDate"]
    with pytest.raises(KeyError):
        store.insert("Account", {"Nope": 1})


def test_every_role_metric_has_a_user_field_named_after_it() -> None:
    names = {name for name, _ in USER_METRIC_FIELDS}
    expected = {"_".join(w.capitalize() for w in m.split("_")) + "__c" for m in METRIC_NAMES}
    assert expected <= names, expected - names
    assert len(names) == len(METRIC_NAMES) + 2  # the role and the as-of day besides
