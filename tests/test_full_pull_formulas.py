"""benchmarks/full_pull.py at a tiny size: the request formulas benchmarks/README.md
extrapolates to 1M / 4M equal what the emulators count, both ways build the same Book.

Counts only, never time. Every request goes to 127.0.0.1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import full_pull
import pull_formulas


def _check(result: dict[str, Any], lists: int, bulk: int) -> None:
    assert (result["list"]["requests"], result["bulk"]["requests"]) == (lists, bulk)
    assert (result["formula_list"], result["formula_bulk"]) == (lists, bulk)
    assert result["list"]["digest"] == result["bulk"]["digest"]
    assert result["list"]["plan"] == result["bulk"]["plan"]  # the same plan bytes
    assert (result["bulk"]["accounts"], result["bulk"]["deals"]) == (300, 1200)


def test_salesforce_formulas_match_the_emulators_count() -> None:
    # Bulk at 100 records, pages of 500: the 50 users stay REST (1 query); accounts
    # 1 first page + 1 describe + 1 create + 4 job reads (3 InProgress) + 1 page = 8;
    # opportunities the same with ceil(1200 / 500) = 3 pages: 10. REST: one page each.
    result = full_pull.salesforce(300, 1200, threshold=100, page_size=500)
    _check(result, 3, 1 + 8 + 10)
    assert result["bulk"]["kinds"]["query_job_create"] == 2


def test_hubspot_formulas_match_the_emulators_count() -> None:
    # Lists: 2 newest-record searches + 3 owner/user pages + 3 company pages + 12 deal
    # pages + 3 association reads = 23. Exports: the same 5, then per object 1 start +
    # 3 status calls (PENDING, PROCESSING, COMPLETE) + 1 download = 15.
    result = full_pull.hubspot(300, 1200)
    _check(result, 23, 15)
    assert result["bulk"]["kinds"]["exports_start"] == 2


def test_hubspot_owner_pages_match_the_emulators_count() -> None:
    # 250 owners (25 archived): 3 active pages + 1 archived + 3 users pages = 7, so lists
    # 2 + 7 + 3 + 12 + 3 = 27 and exports 2 + 7 + 2 x 5 = 19.
    result = full_pull.hubspot(300, 1200, owners=250)
    _check(result, 27, 19)
    assert result["bulk"]["kinds"]["owners_list"] == 4


def test_the_1m_4m_figures_follow_from_the_formulas() -> None:
    # Hand-computed: Salesforce REST 1 + 500 + 2000 pages; bulk at pages of 50,000 and
    # 3 polls: 1 (users) + (7 + 20) + (7 + 80); at 100,000: 1 + (7 + 10) + (7 + 40).
    # HubSpot lists 5 + 2 * 10,000 + 40,000.
    assert pull_formulas.salesforce_rest(50, 1_000_000, 4_000_000) == 2501
    assert pull_formulas.salesforce_bulk(50, 1_000_000, 4_000_000, 50_000, 3, 10_000) == 115
    # The defaults: pages of 100,000 (or none named: the server's 100,000), threshold
    # 50,000; 2,000 owners are one REST page. Issue 17 asks for at most 100.
    for page in (100_000, 0):
        assert pull_formulas.salesforce_bulk(2000, 1_000_000, 4_000_000, page, 3, 50_000) == 65
    assert pull_formulas.salesforce_rest(2000, 1_000_000, 4_000_000) == 2501
    assert pull_formulas.hubspot_lists(1_000_000, 4_000_000) == 60_005
    assert pull_formulas.hubspot_exports(2) == 15
    # The portal has 2,000 owners (200 archived): 18 + 2 + 20 owner pages.
    assert pull_formulas.hubspot_owner_requests(2_000) == 40
    assert pull_formulas.hubspot_lists(1_000_000, 4_000_000, 2_000) == 60_042
    assert pull_formulas.hubspot_exports(2, owners=2_000) == 52 <= 100
