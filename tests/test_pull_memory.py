"""A full pull's memory does not grow with the deals (issue 17, Deliver 3).

Each pull runs in a child process (benchmarks/pull_memory.py), the emulator in this
one: the emulator holds every record (and a query's whole result), which must not be
counted. The child measures the peak of Python allocations during the pull alone
(tracemalloc), no clock. Held in lists before one store (as before), the rows cost
about 870 B a deal (Salesforce) at these sizes, measured: 4x the deals about doubled the
peak. Streamed, a pull holds a page of records and a page of rows (a Bulk API 2.0 results
page streams: a 64 KiB chunk and a row). HubSpot, measured with these settings (2,000 and
8,000 deals, 500 companies) with the code before streaming and after: list pulls 162 B a
deal before (the deal-to-company links in a dict), 4.9 after (staged in a TEMP table,
resolved in SQL); export pulls 1,503 B a deal before (the whole file's records held), 3.9
after (the file read a row at a time into the mirror).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import pull_memory

from hs_portal import relaxed
from roleSync.emulators.hubspot import HubSpotEmulator
from roleSync.emulators.hubspot.exports import ExportSettings
from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceEmulatorConfig

ACCOUNTS = 500
FEW, MANY = 2_000, 8_000


def _salesforce_peak(deals: int) -> int:
    # Pages of 500 records: both sizes span several pages, so the pages held at once
    # are the same in both, and only what grows with the deals differs.
    emu = SalesforceEmulator(SalesforceEmulatorConfig(page_size=500))
    emu.seed(users=10, accounts=ACCOUNTS, opportunities=deals, seed=1)
    with emu:
        return int(pull_memory.measure(pull_memory.salesforce_spec(emu, trace=True))["traced"])


def _salesforce_bulk_peak(deals: int) -> int:
    # Every object through a query job, results pages of the default 100,000 records:
    # each object is one page at both sizes, so a page read whole grows with the deals
    # (before, measured with main's code: 6.5 MB at 2,000 deals, 17.8 MB at 8,000, about
    # 1,900 B a deal); streamed, a page holds a chunk and a row (about 1 B a deal).
    emu = SalesforceEmulator(SalesforceEmulatorConfig())
    emu.seed(users=10, accounts=ACCOUNTS, opportunities=deals, seed=1)
    with emu:
        spec = pull_memory.salesforce_spec(emu, trace=True, bulk=1)
        figures = pull_memory.measure(spec)
        assert emu.counters["query_job_results"] == 3  # users, accounts, deals: a page each
        return int(figures["traced"])


def _hubspot_peak(deals: int, *, export: int = 0) -> int:
    # Association reads of 10 companies, 4 deals a company a result (the rest through
    # `paging.next`): an answer then holds at most 40 links at both sizes. (HubSpot:
    # 100 companies and 500 links each: an answer grows with the deals a company has up
    # to that bound, which would be the peak here, not anything the pull holds.)
    exports = ExportSettings(polls_to_complete=0)
    config = relaxed(exports=exports, associations_page=4)
    with HubSpotEmulator(config) as emu:
        emu.seed(owners=10, companies=ACCOUNTS, deals=deals, seed=1)
        spec = pull_memory.hubspot_spec(emu, trace=True, batch=10, export=export)
        figures = pull_memory.measure(spec)
        # The export way really went through exports (and the list way did not).
        assert emu.counters["exports_download"] == (2 if export else 0)
        return int(figures["traced"])


def _per_deal(few: int, many: int) -> float:
    return (many - few) / (MANY - FEW)


def test_salesforce_full_pull_peak_does_not_grow_with_deals() -> None:
    few, many = _salesforce_peak(FEW), _salesforce_peak(MANY)
    print(f"\nSalesforce full pull peak: {few} B at {FEW} deals, {many} B at {MANY}")
    assert many < few * 1.2, (few, many)
    # Nothing kept per deal (the cursor keeps the ids at the newest stamp only).
    assert _per_deal(few, many) < 50, (few, many)


def test_salesforce_bulk_full_pull_peak_does_not_grow_with_deals() -> None:
    few, many = _salesforce_bulk_peak(FEW), _salesforce_bulk_peak(MANY)
    print(f"\nSalesforce bulk full pull peak: {few} B at {FEW} deals, {many} B at {MANY}")
    assert many < few * 1.2, (few, many)
    assert _per_deal(few, many) < 50, (few, many)


def test_hubspot_full_list_pull_peak_does_not_grow_with_deals() -> None:
    few, many = _hubspot_peak(FEW), _hubspot_peak(MANY)
    print(f"\nHubSpot list pull peak: {few} B at {FEW} deals, {many} B at {MANY}")
    assert many < few * 1.2, (few, many)
    # The deals' companies are staged in SQL, not held: nothing kept per deal.
    assert _per_deal(few, many) < 50, (few, many)


def test_hubspot_full_export_pull_peak_does_not_grow_with_deals() -> None:
    few, many = _hubspot_peak(FEW, export=1), _hubspot_peak(MANY, export=1)
    print(f"\nHubSpot export pull peak: {few} B at {FEW} deals, {many} B at {MANY}")
    assert many < few * 1.2, (few, many)
    # The files are streamed to disk and read a row at a time: nothing kept per deal.
    assert _per_deal(few, many) < 50, (few, many)
