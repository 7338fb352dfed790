"""Requests of a full pull, as formulas of the book's size (benchmarks/full_pull.py).

Each formula is what the emulators count; tests/test_full_pull_formulas.py checks them
against the emulators' counters at a small size, so the figures benchmarks/README.md
extrapolates to 1M / 4M cannot drift from what the adapters really send.

Salesforce (bulk_query_pull.py holds the per-object terms): REST pages of 2,000 records
per object; above `bulk_query_threshold` one object costs 1 first REST page (its
totalSize decides) + 1 describe + 1 job create + (polls + 1) job reads + ceil(N / page
size) result pages (100,000 by default). Users (up to 2,000) stay on REST: 1 page. At
1M accounts, 4M opportunities and 2,000 owners, 3 polls a job: 1 + (7 + 10) + (7 + 40)
= 65 requests.

HubSpot: list endpoints cost ceil(C / 100) company pages + ceil(D / 100) deal pages +
ceil(C / 100) v4 association reads (company -> deals); exports cost per object 1 start +
(polls + 1) status calls + 1 download (one zip, however many CSVs it is split into) +
ceil(M / 100) v4 reads for the M deals the file links to several companies (0 in the
seeded portals). Both ways also read the newest record of each object by search (2, the
cursor) and the owners: pages of 100 of active owners, archived owners (the seeded
portals archive every tenth) and users (one per owner): 3 requests up to 100 owners, 40
at 2,000.
"""

from __future__ import annotations

import math

import bulk_query_pull

HS_PAGE = 100
# Records a Bulk query results page holds when the request names no maxRecords (the
# emulator's default; Salesforce's own is not documented).
SF_SERVER_PAGE = 100_000
HS_OWNER_REQUESTS = 3  # active owners, archived owners, users: one page each (<= 100)
HS_ARCHIVED_EVERY = 10  # the emulator's seed: every tenth owner left (archived)
HS_NEWEST_SEARCHES = 2  # companies and deals: the newest record, for the cursor


def salesforce_rest(users: int, accounts: int, opportunities: int) -> int:
    return sum(
        max(1, math.ceil(n / bulk_query_pull.REST_PAGE)) for n in (users, accounts, opportunities)
    )


def salesforce_bulk(
    users: int, accounts: int, opportunities: int, page_size: int, polls: int, threshold: int
) -> int:
    """Objects of `threshold` records or more go bulk, the others REST. `page_size` 0:
    no maxRecords sent, pages of the emulator's default (SF_SERVER_PAGE)."""
    page_size = page_size or SF_SERVER_PAGE
    return sum(
        bulk_query_pull.bulk_requests(n, page_size, polls)
        if n >= threshold
        else max(1, math.ceil(n / bulk_query_pull.REST_PAGE))
        for n in (users, accounts, opportunities)
    )


def hubspot_owner_requests(owners: int) -> int:
    """Pages of active owners, archived owners and users (at least one page each)."""
    archived = owners // HS_ARCHIVED_EVERY
    return sum(max(1, math.ceil(n / HS_PAGE)) for n in (owners - archived, archived, owners))


def hubspot_lists(companies: int, deals: int, owners: int = 50) -> int:
    pages = 2 * math.ceil(companies / HS_PAGE) + math.ceil(deals / HS_PAGE)
    return HS_NEWEST_SEARCHES + hubspot_owner_requests(owners) + pages


def hubspot_exports(polls: int, several: int = 0, owners: int = 50) -> int:
    """Both objects exported; `polls` PENDING/PROCESSING answers before COMPLETE;
    `several` deals linked to more than one company (read through v4)."""
    per_object = 1 + (polls + 1) + 1
    fixed = HS_NEWEST_SEARCHES + hubspot_owner_requests(owners)
    return fixed + 2 * per_object + math.ceil(several / HS_PAGE)
