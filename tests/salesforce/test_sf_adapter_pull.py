"""Pulling an emulated org through the real SDK over TLS: full, incremental, ties,
deletions, and what an incremental pull with nothing new costs."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from pathlib import Path

from sf_helpers import METRIC_FIELDS, adapter_for

from roleSync.emulators.salesforce import SalesforceEmulator
from roleSync.model import DealKind


def _text(value: object) -> str:
    return "" if value is None else str(value)


def test_full_pull_is_the_org_mapped_through_the_profile(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    adapter = adapter_for(small_org, tmp_path)
    book = adapter.pull()
    profile = adapter.profile

    users = small_org.store.all("User")
    assert {u["Id"] for u in users} == set(book.owners)
    assert any(not u["IsActive"] for u in users)  # inactive users are pulled too
    for user in users:
        owner = book.owners[str(user["Id"])]
        assert (owner.name, owner.email, owner.title, owner.active) == (
            _text(user["Name"]),
            _text(user["Email"]),
            _text(user["Title"]),
            bool(user["IsActive"]),
        )
        assert dict(owner.recorded) == {f: user[f] for f in METRIC_FIELDS.values()}

    accounts = small_org.store.all("Account")
    assert {a["Id"] for a in accounts} == set(book.accounts)
    for record in accounts:
        account = book.accounts[str(record["Id"])]
        assert account.name == record["Name"]
        assert account.owner_id == record["OwnerId"]
        assert account.lifecycle == profile.lifecycle_of(_text(record["Type"]))
        assert (account.segment, account.region, account.tier) == (
            _text(record["Segment__c"]),
            _text(record["Region__c"]),
            _text(record["Tier__c"]),
        )
        assert account.locked is bool(record["Do_Not_Route__c"])
        assert dict(account.fields) == {"industry": record["Industry"]}
        assert account.created == record["CreatedDate"]
        assert account.updated == record["LastModifiedDate"]
    assert any(a.locked for a in book.accounts.values())
    assert {a.lifecycle for a in book.accounts.values()} >= {"customer", "prospect"}

    opportunities = small_org.store.all("Opportunity")
    by_id = {d.id: d for d in book.deals}
    assert set(by_id) == {o["Id"] for o in opportunities}
    for record in opportunities:
        deal = by_id[str(record["Id"])]
        assert (deal.account_id, deal.owner_id, deal.stage) == (
            record["AccountId"],
            record["OwnerId"],
            record["StageName"],
        )
        assert (deal.closed, deal.won) == (record["IsClosed"], record["IsWon"])
        assert deal.amount == record["Amount"]
        created = record["CreatedDate"]
        assert isinstance(created, datetime)
        assert deal.created == created.date()
        assert deal.close_date == record["CloseDate"]
        mapped = profile.deal_kind(_text(record["Type"]) or None)
        if mapped is not None:
            assert deal.kind is mapped
    assert {d.kind for d in book.deals} == set(DealKind) - {None}


def test_incremental_pull_sees_edits_ties_and_deletions(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    adapter = adapter_for(small_org, tmp_path)
    book = adapter.pull()
    accounts = sorted(book.accounts)
    users = [o for o in book.owners.values() if o.active]
    store = small_org.store

    # Several records share one SystemModstamp; a later edit at that same instant
    # must still be pulled, and the ones already seen are not counted again.
    with store.clock.frozen():
        for account_id in accounts[:3]:
            store.update("Account", account_id, {"OwnerId": users[0].id})
        first = adapter.pull()
        assert adapter.last_pull is not None
        assert [o.upserted for o in adapter.last_pull.objects] == [0, 3, 0]
        store.update("Account", accounts[3], {"Segment__c": "Enterprise"})
        second = adapter.pull()
        assert [o.upserted for o in adapter.last_pull.objects] == [0, 1, 0]
    assert all(first.accounts[a].owner_id == users[0].id for a in accounts[:3])
    assert second.accounts[accounts[3]].segment == "Enterprise"

    deal = book.deals[0]
    store.delete("Account", accounts[4])
    store.delete("Opportunity", deal.id)
    store.update("User", users[1].id, {"IsActive": False, "Title": "Left"})
    third = adapter.pull()
    assert accounts[4] not in third.accounts
    assert deal.id not in {d.id for d in third.deals}
    assert third.owners[users[1].id].active is False
    assert [(o.upserted, o.deleted) for o in adapter.last_pull.objects] == [
        (1, 0),
        (0, 1),
        (0, 1),
    ]


def test_incremental_pull_with_nothing_changed_is_three_requests(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    adapter_for(small_org, tmp_path).pull()
    small_org.reset_counters()
    again = adapter_for(small_org, tmp_path)  # a new run: state comes from the mirror
    book = again.pull()
    assert small_org.counters["api_requests"] == 3
    assert small_org.counters["limits"] == 0  # the budget came from Sforce-Limit-Info
    assert len(book.accounts) == 300
    assert again.client.budget.known


def test_full_flag_and_a_changed_mapping_pull_everything_again(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    adapter_for(small_org, tmp_path).pull()
    forced = adapter_for(small_org, tmp_path)
    forced.full = True
    forced.pull()
    assert forced.last_pull is not None
    assert all(o.full for o in forced.last_pull.objects)

    remapped = adapter_for(small_org, tmp_path, fields={"extra": {"country": "BillingCountry"}})
    book = remapped.pull()
    assert remapped.last_pull is not None
    assert all(o.full for o in remapped.last_pull.objects)
    assert all(set(a.fields) == {"country"} for a in book.accounts.values())


def test_mirror_is_a_local_book_with_cursors(small_org: SalesforceEmulator, tmp_path: Path) -> None:
    adapter = adapter_for(small_org, tmp_path)
    adapter.pull()
    adapter.close()
    mirror = tmp_path / ".rolesync" / "mirror.db"
    with sqlite3.connect(mirror) as conn:
        cursors = dict(conn.execute("SELECT object, stamp FROM cursors"))
        assert set(cursors) == {"User", "Account", "Opportunity"}
        assert conn.execute("SELECT count(*) FROM accounts").fetchone()[0] == 300
    stamps = [r["SystemModstamp"] for r in small_org.store.all("Account")]
    latest = max(s for s in stamps if isinstance(s, datetime))
    assert cursors["Account"].startswith(latest.strftime("%Y-%m-%dT%H:%M:%S"))
    assert date.fromisoformat(cursors["User"][:10]) <= date.today()
