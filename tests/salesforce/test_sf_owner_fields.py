"""Extra owner fields from Salesforce User fields (`salesforce.owner_fields`): pulled with
the users, a multi-select picklist arriving as its `;` text, kept by incremental pulls,
and read by a territory route."""

from __future__ import annotations

from pathlib import Path

from sf_helpers import adapter_for

from builders import inputs, routing
from roleSync.emulators.salesforce import SalesforceEmulator
from roleSync.plan import build_plan

OWNER_FIELDS = {"regions": "Sales_Regions__c", "region": "Sales_Region__c"}


def test_owner_fields_are_pulled_from_user_fields(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    store = small_org.store
    users = sorted(str(u["Id"]) for u in store.all("User"))
    store.update("User", users[1], {"Sales_Regions__c": "EMEA;APAC", "Sales_Region__c": "EMEA"})
    store.update("User", users[2], {"Sales_Regions__c": "AMER"})
    adapter = adapter_for(small_org, tmp_path, owner_fields=OWNER_FIELDS)
    book = adapter.pull()
    assert dict(book.owners[users[1]].fields) == {"regions": "EMEA;APAC", "region": "EMEA"}
    assert dict(book.owners[users[2]].fields) == {"regions": "AMER", "region": None}
    # everyone else has the fields, empty: a seeded org leaves them to the admin
    assert dict(book.owners[users[3]].fields) == {"regions": None, "region": None}

    # an edit of a user's regions is seen by the next, incremental, pull
    store.update("User", users[2], {"Sales_Regions__c": "AMER;LATAM"})
    again = adapter.pull()
    assert adapter.last_pull is not None
    assert [o.full for o in adapter.last_pull.objects] == [False, False, False]
    assert again.owners[users[2]].fields["regions"] == "AMER;LATAM"


def test_without_owner_fields_the_users_query_is_unchanged(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    book = adapter_for(small_org, tmp_path).pull()
    assert all(dict(o.fields) == {} for o in book.owners.values())
    # mapping owner fields later changes what the mirror holds: the next pull is full
    mapped = adapter_for(small_org, tmp_path, owner_fields=OWNER_FIELDS)
    mapped.pull()
    assert mapped.last_pull is not None
    assert all(o.full for o in mapped.last_pull.objects)


def test_a_territory_route_reads_the_pulled_regions(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    store = small_org.store
    active = sorted(str(u["Id"]) for u in store.all("User") if u["IsActive"])
    # every active user covers one region, in turn: NA, EMEA, APAC, LATAM (the seed's)
    regions = ["NA", "EMEA", "APAC", "LATAM"]
    for n, user_id in enumerate(active):
        store.update("User", user_id, {"Sales_Regions__c": regions[n % 4]})
    book = adapter_for(small_org, tmp_path, owner_fields=OWNER_FIELDS).pull()
    match = {"account": "account.region", "owner": "owner.fields.regions", "op": "in"}
    route = {"id": "regional", "assign": {"pool": active, "match": [match]}}
    plan = build_plan(book, inputs(routing(route, max_age_days=3650)))
    assert plan.changes
    for change in plan.changes:
        region = book.accounts[change.account_id].region
        assert book.owners[change.to_owner_id].fields["regions"] == region
