"""CRM search through the real SDK: filters, one sort, paging, the 10,000 cap, the lag."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hs_emu_support import AS_OF, PublicObjectSearchRequest, body_of, client, relaxed, running

from roleSync.emulators.hubspot import HubSpotEmulator
from roleSync.emulators.hubspot.wire import parse_time


@pytest.fixture(scope="module")
def portal() -> Iterator[HubSpotEmulator]:
    with running(companies=300, deals=700) as emu:
        yield emu


@pytest.fixture
def emu() -> Iterator[HubSpotEmulator]:
    with running() as fresh:
        yield fresh


def _search(emu: HubSpotEmulator, kind: str = "companies", **request: Any) -> Any:
    request.setdefault("filter_groups", [])  # required by the spec (and the emulator)
    return client(emu).crm.objects.search_api.do_search(kind, PublicObjectSearchRequest(**request))


def _filter(name: str, operator: str, value: Any = None, **more: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"propertyName": name, "operator": operator, **more}
    if value is not None:
        spec["value"] = value
    return spec


def _ids(emu: HubSpotEmulator, kind: str, test: Any) -> list[str]:
    return [str(r["hs_object_id"]) for r in emu.store.all(kind) if test(r)]


def _all_pages(emu: HubSpotEmulator, kind: str = "companies", **request: Any) -> list[Any]:
    found: list[Any] = []
    after = None
    while True:
        page = _search(emu, kind, limit=200, after=after, **request)
        found.extend(page.results)
        if page.paging is None:
            return found
        after = page.paging.next.after


def test_incremental_cursor_query_pages_in_order(portal: HubSpotEmulator) -> None:
    cursor = AS_OF - timedelta(days=200)
    cursor_ms = parse_time(cursor.isoformat())
    assert cursor_ms is not None
    found = _all_pages(
        portal,
        filter_groups=[{"filters": [_filter("hs_lastmodifieddate", "GTE", str(cursor_ms))]}],
        sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        properties=["hubspot_owner_id"],
    )
    expected = _ids(
        portal, "companies", lambda r: (parse_time(r["hs_lastmodifieddate"]) or 0) >= cursor_ms
    )
    assert sorted(r.id for r in found) == sorted(expected) and len(expected) > 50
    stamps = [(r.properties["hs_lastmodifieddate"], int(r.id)) for r in found]
    assert stamps == sorted(stamps)  # ties in id order
    assert set(found[0].properties) == {
        "hubspot_owner_id", "createdate", "hs_lastmodifieddate", "hs_object_id",
    }  # fmt: skip
    first = _search(
        portal,
        limit=10,
        filter_groups=[{"filters": [_filter("hs_lastmodifieddate", "GTE", str(cursor_ms))]}],
    )
    assert first.total == len(expected) and first.paging.next.after == "10"


@pytest.mark.parametrize(
    ("spec", "test"),
    [
        (_filter("region", "EQ", "emea"), lambda r: r["region"] == "EMEA"),
        (_filter("segment", "NEQ", "SMB"), lambda r: r["segment"] != "SMB"),
        (_filter("region", "IN", values=["NA", "APAC"]), lambda r: r["region"] in {"NA", "APAC"}),
        (_filter("tier", "NOT_IN", values=["Tier 3"]), lambda r: r["tier"] != "Tier 3"),
        (_filter("hubspot_owner_id", "HAS_PROPERTY"), lambda r: r["hubspot_owner_id"] is not None),
        (_filter("segment", "NOT_HAS_PROPERTY"), lambda r: r["segment"] is None),
        (_filter("annualrevenue", "LT", "1000000"), lambda r: float(r["annualrevenue"]) < 1e6),
        (_filter("annualrevenue", "GTE", "1000000"), lambda r: float(r["annualrevenue"]) >= 1e6),
        (
            _filter("annualrevenue", "BETWEEN", "500000", highValue="2000000"),
            lambda r: 5e5 <= float(r["annualrevenue"]) <= 2e6,
        ),
        (_filter("do_not_route", "EQ", "true"), lambda r: r["do_not_route"] == "true"),
        (_filter("name", "CONTAINS_TOKEN", "acme"), lambda r: "acme" in r["name"].lower()),
    ],
)
def test_filter_operators(portal: HubSpotEmulator, spec: dict[str, Any], test: Any) -> None:
    found = _all_pages(portal, filter_groups=[{"filters": [spec]}])
    assert sorted(r.id for r in found) == sorted(_ids(portal, "companies", test))


def test_groups_are_ored_and_filters_anded(portal: HubSpotEmulator) -> None:
    groups = [
        {"filters": [_filter("region", "EQ", "LATAM"), _filter("tier", "EQ", "Tier 1")]},
        {"filters": [_filter("segment", "EQ", "Enterprise")]},
    ]
    found = _all_pages(portal, filter_groups=groups)

    def wanted(r: dict[str, Any]) -> bool:
        return (
            bool(r["region"] == "LATAM" and r["tier"] == "Tier 1") or r["segment"] == "Enterprise"
        )

    assert sorted(r.id for r in found) == sorted(_ids(portal, "companies", wanted))


def test_deal_filters_on_numbers_and_booleans(portal: HubSpotEmulator) -> None:
    groups = [
        {"filters": [_filter("hs_is_closed_won", "EQ", "true"), _filter("amount", "GT", "50000")]}
    ]
    found = _all_pages(portal, "deals", filter_groups=groups, sorts=["-amount"])
    expected = _ids(
        portal, "deals",
        lambda r: r["hs_is_closed_won"] == "true" and r["amount"] and float(r["amount"]) > 50000,
    )  # fmt: skip
    assert sorted(r.id for r in found) == sorted(expected)
    amounts = [float(r.properties["amount"]) for r in found]
    assert amounts == sorted(amounts, reverse=True)


def test_descending_sort_keeps_ties_in_id_order(emu: HubSpotEmulator) -> None:
    ids = [str(c["hs_object_id"]) for c in emu.store.all("companies")[:6]]
    emu.store.set_clock(AS_OF + timedelta(days=1), freeze=True)
    for i in reversed(ids[:4]):
        emu.store.update("companies", i, {"tier": "Tier 2"})
    emu.store.release_clock()
    emu.store.set_clock(AS_OF + timedelta(days=2))
    emu.store.update("companies", ids[4], {"tier": "Tier 1"})
    found = _search(
        emu, limit=5, sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}]
    )
    assert [r.id for r in found.results] == [ids[4], *ids[:4]]
    assert len({r.properties["hs_lastmodifieddate"] for r in found.results[1:]}) == 1


def _invalid(emu: HubSpotEmulator, **request: Any) -> dict[str, Any]:
    with pytest.raises(Exception) as caught:
        _search(emu, **request)
    assert getattr(caught.value, "status", None) == 400
    body = body_of(caught.value)
    assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR"
    assert body["correlationId"]
    return body


def test_invalid_searches_answer_400(portal: HubSpotEmulator) -> None:
    _invalid(portal, limit=201)
    _invalid(portal, sorts=["name", "domain"])
    _invalid(portal, filter_groups=[{"filters": [_filter("nope", "EQ", "x")]}])
    _invalid(portal, filter_groups=[{"filters": [_filter("name", "LIKE", "x")]}])
    _invalid(portal, filter_groups=[{"filters": [_filter("name", "EQ", "x")]}] * 6)


def test_the_10000_result_cap(emu: HubSpotEmulator) -> None:
    emu.seed(owners=0, companies=10_050, deals=0, seed=2, as_of=AS_OF)
    near = _search(emu, limit=200, after="9800")
    assert near.total == 10_110 and len(near.results) == 200
    # HubSpot still offers the next page: following it is the trap.
    assert near.paging.next.after == "10000"
    body = _invalid(emu, limit=200, after="10000")
    assert "10000" in body["message"]
    _invalid(emu, limit=200, after="9900")
    assert _search(emu, limit=100, after="9900").results


def test_search_lag_hides_recent_writes(emu: HubSpotEmulator) -> None:
    emu.store.search_lag_seconds = 0.3
    company = str(emu.store.all("companies")[0]["hs_object_id"])
    emu.store.update("companies", company, {"tier": "Tier 1", "name": "Lagging Ltd"})
    query: dict[str, Any] = {"filter_groups": [{"filters": [_filter("name", "EQ", "Lagging Ltd")]}]}
    assert _search(emu, **query).total == 0
    assert (
        client(emu)
        .crm.companies.basic_api.get_by_id(company, properties=["name"])
        .properties["name"]
        == "Lagging Ltd"
    )  # reads are not lagged: only search is
    time.sleep(0.35)
    assert [r.id for r in _search(emu, **query).results] == [company]


def test_search_lag_from_config() -> None:
    with running(relaxed(search_lag_seconds=5)) as emu:
        assert emu.store.search_lag_seconds == 5
        total = _search(emu).total
        company = str(emu.store.all("companies")[0]["hs_object_id"])
        emu.store.update("companies", company, {"tier": "Tier 1"})
        assert _search(emu).total == total - 1  # the edited record is out of the index
