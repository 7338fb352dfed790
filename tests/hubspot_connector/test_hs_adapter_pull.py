"""Full and incremental pulls through the real SDK against the emulator: the Book equals
the portal's records, and incremental pulls catch edits, ties, archived owners and
records, and writes that search only shows after its lag."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from hs_adapter_support import adapter_for, portal, profile_for

from hs_portal import AS_OF, relaxed
from roleSync.adapters.mirror import AccountRow
from roleSync.emulators.hubspot import HubSpotEmulator
from roleSync.emulators.hubspot.wire import iso_ms, to_ms
from roleSync.model import Book
from roleSync.profile import Profile

Rows = set[tuple[object, ...]]


def _expected(emu: HubSpotEmulator, profile: Profile) -> tuple[Rows, Rows, Rows]:
    """The emulator's records as the Book should hold them."""
    store = emu.store
    owners: Rows = {
        (o.id, o.email, not o.archived)
        for o in [*store.owners(archived=False), *store.owners(archived=True)]
    }
    accounts: Rows = {
        (
            c["hs_object_id"],
            c.get("hubspot_owner_id"),
            profile.lifecycle_of(c.get("lifecyclestage")),
            c.get("segment") or "",
            c.get("region") or "",
            c.get("tier") or "",
            c.get("do_not_route") == "true",
            c.get("industry"),
        )
        for c in store.all("companies")
    }
    deals: Rows = set()
    for d in store.all("deals"):
        deal_id = str(d["hs_object_id"])
        amount = d.get("amount")
        deals.add(
            (
                deal_id,
                store.company_of(deal_id) or f"(no account) {deal_id}",
                d.get("hubspot_owner_id"),
                d.get("dealstage"),
                d.get("dealstage") in {"closedwon", "closedlost"},
                d.get("dealstage") == "closedwon",
                float(amount) if amount else None,
                (d.get("closedate") or "")[:10] or None,
                profile.deal_kind(d.get("dealtype")),
            )
        )
    return owners, accounts, deals


def _actual(book: Book) -> tuple[Rows, Rows, Rows]:
    owners: Rows = {(o.id, o.email, o.active) for o in book.owners.values()}
    accounts: Rows = {
        (
            a.id,
            a.owner_id,
            a.lifecycle,
            a.segment,
            a.region,
            a.tier,
            a.locked,
            a.fields.get("industry"),
        )
        for a in book.accounts.values()
    }
    deals: Rows = set()
    for d in book.deals:
        deals.add(
            (
                d.id,
                d.account_id,
                d.owner_id,
                d.stage,
                d.closed,
                d.won,
                d.amount,
                d.close_date.isoformat() if d.close_date else None,
                d.kind,
            )
        )
    return owners, accounts, deals


def _same(emu: HubSpotEmulator, book: Book, profile: Profile) -> None:
    owners, accounts, deals = _expected(emu, profile)
    got_owners, got_accounts, got_deals = _actual(book)
    assert got_owners == owners
    assert got_accounts == accounts
    # Blank deal types are inferred by the Book: compare those deals without the kind.
    blank = {d[0] for d in deals if d[-1] is None}
    assert {d for d in got_deals if d[0] not in blank} == {d for d in deals if d[0] not in blank}
    assert {d[:-1] for d in got_deals} == {d[:-1] for d in deals}


def test_full_pull_equals_the_portal(tmp_path: Path) -> None:
    with portal(owners=15, companies=400, deals=900) as emu:
        adapter = adapter_for(emu, tmp_path)
        book = adapter.pull()
        _same(emu, book, adapter.profile)
        archived = {o.id for o in emu.store.owners(archived=True)}
        assert archived and all(not book.owners[o].active for o in archived)
        report = adapter.last_pull
        assert report is not None and all(o.full for o in report.objects)
        # 400 companies, 900 deals, 100 a page; associations from the smaller side
        # (companies, 4 requests); 2 probes; 2 owner lists; 1 users list.
        assert emu.counters["companies_list"] == 4 and emu.counters["deals_list"] == 9
        assert emu.counters["assoc_batch_read"] == 4
        assert report.requests == emu.counters["api_requests"] == 4 + 9 + 4 + 2 + 2 + 1
        adapter.close()


def test_nothing_changed_costs_a_few_requests(tmp_path: Path) -> None:
    with portal() as emu:
        adapter_for(emu, tmp_path).pull()
        emu.reset_counters()
        adapter = adapter_for(emu, tmp_path)
        adapter.pull()
        # Search and the archived list per object; the overlap re-reads at least the
        # newest deal, whose company is read again (v4); two owner lists; users.
        assert emu.counters["api_requests"] == 2 + 3 + 2 + 1
        assert emu.counters["companies_list"] == 1  # the archived list only
        report = adapter.last_pull
        assert report is not None and not any(o.full for o in report.objects[:2])


def test_incremental_pull_picks_up_edits_new_records_and_archived_ones(tmp_path: Path) -> None:
    with portal() as emu:
        first = adapter_for(emu, tmp_path)
        first.pull()
        store = emu.store
        companies = [str(c["hs_object_id"]) for c in store.all("companies")]
        deals = [str(d["hs_object_id"]) for d in store.all("deals")]
        owner = store.owners()[0].id
        store.update("companies", companies[0], {"hubspot_owner_id": owner, "tier": "Tier 1"})
        store.update("deals", deals[0], {"dealstage": "closedwon", "amount": "1234.5"})
        new_company = store.insert("companies", {"name": "Fresh Co", "hubspot_owner_id": owner})
        fresh = {"dealstage": "closedwon", "amount": "10", "closedate": iso_ms(to_ms(AS_OF))}
        new_deal = store.insert("deals", fresh)
        store.associate(new_company, new_deal)
        store.archive("companies", companies[1])
        store.archive("deals", deals[1])
        leaving = store.owners()[1].id
        store.archive_owner(leaving)

        adapter = adapter_for(emu, tmp_path)
        book = adapter.pull()
        _same(emu, book, adapter.profile)
        assert book.accounts[companies[0]].owner_id == owner
        assert book.accounts[companies[0]].tier == "Tier 1"
        assert companies[1] not in book.accounts
        assert book.accounts[new_company].name == "Fresh Co"
        deal = next(d for d in book.deals if d.id == new_deal)
        assert deal.account_id == new_company and deal.won
        assert not book.owners[leaving].active
        report = adapter.last_pull
        assert report is not None and [o.full for o in report.objects] == [False, False, True]


def test_ties_across_pages_and_cap_are_all_pulled(tmp_path: Path) -> None:
    """One batch write gives its records one stamp: 450 companies on one instant, more
    than two search pages, with a tiny cap so the watermark restart meets the tie."""
    with portal(companies=600, deals=0) as emu:
        adapter_for(emu, tmp_path).pull()
        store = emu.store
        ids = [str(c["hs_object_id"]) for c in store.all("companies")][:450]
        store.set_clock(AS_OF + timedelta(days=30), freeze=True)
        for company in ids:
            store.update("companies", company, {"industry": "RETAIL"})
        store.release_clock()
        adapter = adapter_for(emu, tmp_path)
        book = adapter.pull()
        assert all(book.accounts[i].fields["industry"] == "RETAIL" for i in ids)
        stats = adapter.last_pull.search["companies"]  # type: ignore[union-attr]
        assert stats.requests >= 3  # 450 records on one stamp: three pages of 200


def _lagging_edit(emu: HubSpotEmulator) -> str:
    """A company edited now (searchable only after the lag), and a record written two
    seconds later that is searchable at once (an import): the next pull's cursor moves
    past the first one without having seen it."""
    store = emu.store
    company = str(store.all("companies")[0]["hs_object_id"])
    store.update("companies", company, {"industry": "LAGGED"})
    store.insert("companies", {"name": "Imported"}, updated_ms=int(time.time() * 1000) + 2000)
    return company


def test_search_lag_is_covered_by_the_overlap(tmp_path: Path) -> None:
    with portal(relaxed(search_lag_seconds=0.6)) as emu:
        adapter_for(emu, tmp_path).pull()
        company = _lagging_edit(emu)
        assert adapter_for(emu, tmp_path).pull().accounts[company].fields["industry"] != "LAGGED"
        time.sleep(0.7)
        # The default overlap (300 s) re-reads from before the cursor: caught.
        assert adapter_for(emu, tmp_path).pull().accounts[company].fields["industry"] == "LAGGED"


def test_without_the_overlap_the_lagging_record_is_lost(tmp_path: Path) -> None:
    """The same scenario with no overlap window: the reason it exists."""
    with portal(relaxed(search_lag_seconds=0.6)) as emu:
        adapter_for(emu, tmp_path, search_overlap_seconds=0).pull()
        company = _lagging_edit(emu)
        adapter_for(emu, tmp_path, search_overlap_seconds=0).pull()
        time.sleep(0.7)
        book = adapter_for(emu, tmp_path, search_overlap_seconds=0).pull()
        assert book.accounts[company].fields["industry"] != "LAGGED"


def test_a_full_pull_every_few_days_drops_records_deleted_for_good(tmp_path: Path) -> None:
    """A record purged from HubSpot (after 90 days archived, or a GDPR delete) is in
    neither search nor the archived list: only a full pull, which replaces the tables,
    drops it. The mirror row below stands for one."""
    with portal() as emu:
        first = adapter_for(emu, tmp_path)
        first.pull()
        ghost = AccountRow("1", "Purged", None, "", "", "", "", False, {}, None, None)
        first.mirror.store("companies", "accounts", [ghost], cursor=None, replace=False)
        first.close()
        assert "1" in adapter_for(emu, tmp_path).pull().accounts  # incremental: still there
        adapter = adapter_for(emu, tmp_path, full_pull_every_days=0.000001)
        time.sleep(0.2)
        assert "1" not in adapter.pull().accounts
        assert adapter.last_pull is not None and adapter.last_pull.objects[0].full


def test_changing_the_selected_properties_makes_the_next_pull_full(tmp_path: Path) -> None:
    with portal() as emu:
        adapter_for(emu, tmp_path).pull()
        adapter = adapter_for(emu, tmp_path, properties={"extra": {"country": "country"}})
        book = adapter.pull()
        assert adapter.last_pull is not None and adapter.last_pull.objects[0].full
        assert all("country" in a.fields for a in book.accounts.values())


def test_profile_points_at_the_emulator(tmp_path: Path) -> None:
    with portal() as emu:
        profile = profile_for(emu, tmp_path)
        assert profile.hubspot is not None and profile.hubspot.host == emu.url
        assert profile.mirror_path == tmp_path / ".rolesync" / "mirror.db"
