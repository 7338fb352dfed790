"""The issue's figures, counted by the emulator: 10,000 ownership changes in at most 101
write requests; 25,000 companies modified since the last cursor all pulled
incrementally, none lost at the 10,000-result search cap."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from hs_adapter_support import accounted, adapter_for, changes_for, portal


def test_10000_changes_in_at_most_101_write_requests(tmp_path: Path) -> None:
    with portal(owners=20, companies=10_600, deals=0, seed=5) as emu:
        adapter = adapter_for(emu, tmp_path)
        changes = changes_for(adapter.pull(), 10_000)
        emu.reset_counters()
        result = adapter.apply(changes, [])
        figures = accounted(emu, changes, result, Counter())
        assert figures["applied"] == 10_000
        assert emu.counters["write_requests"] <= 101
        assert emu.counters["companies_batch_update"] == 100
        # A compare-and-set read right before each write, and the owners refreshed first.
        assert emu.counters["companies_batch_read"] == 100
        print(f"\n10,000 changes: {emu.counters['write_requests']} write requests, "
              f"{emu.counters['api_requests']} requests in all")  # fmt: skip


def test_25000_modified_companies_are_all_pulled_incrementally(tmp_path: Path) -> None:
    with portal(owners=20, companies=25_000, deals=0, seed=6) as emu:
        adapter_for(emu, tmp_path).pull()
        store = emu.store
        ids = [str(c["hs_object_id"]) for c in store.all("companies")]
        for n, company in enumerate(ids):
            store.update("companies", company, {"industry": f"IND-{n}"})
        emu.reset_counters()
        adapter = adapter_for(emu, tmp_path)
        book = adapter.pull()
        report = adapter.last_pull
        assert report is not None and not report.objects[0].full
        stats = report.search["companies"]
        # Every company with its latest value, checked against the emulator's records.
        expected = {str(c["hs_object_id"]): c["industry"] for c in store.all("companies")}
        found = {a.id: a.fields["industry"] for a in book.accounts.values()}
        assert found == expected
        assert report.objects[0].upserted == 25_000
        assert stats.restarts_at_cap >= 2  # the cap was met, and the query restarted
        assert emu.counters["companies_search"] == stats.requests
        # 25,000 / 199 new records a page, plus the restarts' re-reads: about 130.
        assert stats.requests <= 140
        print(f"\n25,000 companies: {stats.requests} search requests, {stats.queries} "
              f"queries ({stats.restarts_at_cap} restarts at the cap), "
              f"{len(found)} found of {len(expected)}")  # fmt: skip
