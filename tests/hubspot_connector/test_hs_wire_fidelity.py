"""HubSpot wire fidelity, adapter side: the requests follow HubSpot's published spec (the
emulator refuses what the spec refuses), the answers are read in both the spec's and the
live API's forms, and the association batching is linear."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import requests
from hs_adapter_support import adapter_for, env_for, fast_policy, portal, profile_for

from roleSync.adapters.hubspot.client import HubSpotClient
from roleSync.adapters.hubspot.links import InputQueue, company_links, object_id
from roleSync.adapters.hubspot.records import owner_row
from roleSync.adapters.hubspot.search import newest_body
from roleSync.adapters.resilience import Action, decide_hubspot
from roleSync.emulators.hubspot import HubSpotEmulator

# -- requests ------------------------------------------------------------------------


def _client(emu: HubSpotEmulator, folder: Path) -> HubSpotClient:
    section = profile_for(emu, folder).hubspot
    assert section is not None
    return HubSpotClient(section, env=env_for(emu), policy=fast_policy())


def _post(emu: HubSpotEmulator, path: str, body: Mapping[str, Any]) -> requests.Response:
    headers = {"Authorization": f"Bearer {emu.config.access_token}"}
    return requests.post(f"{emu.url}{path}", json=dict(body), headers=headers, timeout=10)


def test_every_search_body_carries_the_five_required_fields() -> None:
    body = newest_body()
    assert set(body) == {"filterGroups", "sorts", "properties", "limit", "after"}
    assert body["filterGroups"] == []


def test_the_emulator_refuses_what_the_spec_refuses_and_the_adapter_passes(
    tmp_path: Path,
) -> None:
    with portal(owners=4, companies=30, deals=40) as emu:
        # Without the required field: 400 VALIDATION_ERROR naming it.
        bare = {k: v for k, v in newest_body().items() if k != "filterGroups"}
        refused = _post(emu, "/crm/v3/objects/companies/search", bare)
        assert refused.status_code == 400
        assert refused.json()["category"] == "VALIDATION_ERROR"
        assert "[filterGroups]" in refused.json()["message"]
        ids = [str(c["hs_object_id"]) for c in emu.store.all("companies")[:3]]
        read = {"inputs": [{"id": i} for i in ids], "properties": ["name"]}
        refused = _post(emu, "/crm/v3/objects/companies/batch/read", read)
        assert refused.status_code == 400 and "[propertiesWithHistory]" in refused.json()["message"]
        # The adapter's own requests pass.
        client = _client(emu, tmp_path)
        newest = client.search("companies", newest_body())
        assert newest["total"] == 30 and len(newest["results"]) == 1
        answer = client.batch_read("companies", ids, ["name"])
        assert sorted(r["id"] for r in answer["results"]) == sorted(ids)
        client.close()


# -- answers: toObjectId as string or number -------------------------------------------


class FakeReader:
    """v4 batch reads answered from a table, ids in the form asked for; every `paged`th
    company has a second page of deals (read again with `after`)."""

    def __init__(self, deals_of: Mapping[str, list[str]], *, numbers: bool, paged: int = 0):
        self.deals_of = deals_of
        self.numbers = numbers
        self.paged = paged
        self.requests = 0

    def associations(
        self, from_type: str, to_type: str, inputs: Sequence[Mapping[str, str]]
    ) -> dict[str, Any]:
        self.requests += 1
        assert len(inputs) <= 100
        results = []
        for item in inputs:
            deals = self.deals_of[item["id"]]
            second = "after" in item
            half = deals[1:] if second else deals[:1]
            result: dict[str, Any] = {
                "from": {"id": item["id"]},
                "to": [
                    {
                        "toObjectId": int(d) if self.numbers else d,
                        "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 342}],
                    }
                    for d in (half if self._paged(item["id"]) else deals)
                ],
            }
            if self._paged(item["id"]) and not second:
                result["paging"] = {"next": {"after": "1"}}
            results.append(result)
        return {"status": "COMPLETE", "results": results}

    def _paged(self, company: str) -> bool:
        return self.paged > 0 and int(company) % self.paged == 0


def _portal_table(companies: int) -> dict[str, list[str]]:
    # Company c has deals 10c and 10c + 1.
    return {str(c): [str(10 * c), str(10 * c + 1)] for c in range(1, companies + 1)}


@pytest.mark.parametrize("numbers", [False, True])
def test_to_object_id_as_string_or_number_gives_the_same_links(numbers: bool) -> None:
    table = _portal_table(250)
    reader = FakeReader(table, numbers=numbers, paged=7)
    links = company_links(reader, "companies", "deals", list(table), 100)
    expected = {deal: company for company, deals in table.items() for deal in deals}
    assert links == expected
    # 250 companies, 35 of them (every 7th) with a second page, asked again after the
    # ids already waiting: 100 (14 second pages queued), 100 (14 more), the last 50 ids
    # with those 28 (7 more), then those 7: four requests.
    assert reader.requests == 4


def test_object_ids_in_either_form() -> None:
    assert object_id("12675602284") == object_id(12675602284) == "12675602284"
    assert object_id(None) is None and object_id(True) is None and object_id(1.5) is None


# -- linear batching ---------------------------------------------------------------------


def _moves(companies: int) -> tuple[int, int]:
    table = _portal_table(companies)
    reader = FakeReader(table, numbers=True, paged=10)
    queue = InputQueue()
    links = company_links(reader, "companies", "deals", list(table), 100, queue=queue)
    assert len(links) == 2 * companies
    return queue.moves, reader.requests


def test_association_batching_does_linear_work() -> None:
    """Each input is put in the queue once and taken out once, whatever the queue's
    length; re-slicing the whole queue per batch (the old way) made that quadratic."""
    small, small_requests = _moves(1_000)
    large, large_requests = _moves(10_000)
    # 1,000 ids + 100 second pages, each in and out: 2 * 1,100.
    assert small == 2 * (1_000 + 100) and large == 2 * (10_000 + 1_000)
    assert large / small == 10
    assert (small_requests, large_requests) == (11, 110)


# -- answers: archived owners' userId as integer or null -------------------------------


@pytest.mark.parametrize("user_id", [None, 9100028, "9100028"])
def test_an_archived_owner_is_inactive_whatever_its_user_id(user_id: object) -> None:
    owner = {"id": "41", "email": "a@example.com", "archived": True, "userId": user_id}
    assert owner_row(owner, "", {}).active is False


@pytest.mark.parametrize("user_id", [9100028, "9100028"])
def test_an_active_owner_with_a_user_is_active(user_id: object) -> None:
    owner = {"id": "41", "email": "a@example.com", "archived": False, "userId": user_id}
    assert owner_row(owner, "", {}).active is True


@pytest.mark.parametrize("null_user", [False, True])
def test_a_full_pull_reads_archived_owners_in_either_form(tmp_path: Path, null_user: bool) -> None:
    with portal(owners=10, companies=30, deals=40) as emu:
        emu.config.archived_owner_user_id_null = null_user
        book = adapter_for(emu, tmp_path).pull()
        archived = {o.id for o in emu.store.owners(archived=True)}
        active = {o.id for o in emu.store.owners(archived=False)}
        assert archived and active
        assert {o.id for o in book.owners.values() if not o.active} == archived
        assert {o.id for o in book.owners.values() if o.active} == active


# -- error bodies with their category ----------------------------------------------------


def test_rate_limit_answers_with_a_category_are_still_read_by_policy() -> None:
    body = '{"status":"error","message":"m","category":"RATE_LIMITS","errorType":"RATE_LIMIT",'
    burst = decide_hubspot(429, {}, body + '"policyName":"TEN_SECONDLY_ROLLING"}')
    assert burst.action is Action.RATE_LIMITED and burst.code == "TEN_SECONDLY_ROLLING"
    daily = decide_hubspot(429, {}, body + '"policyName":"DAILY"}')
    assert daily.action is Action.STOP_RUN and daily.code == "DAILY"


def test_an_oauth_refusal_names_both_its_category_and_its_problem() -> None:
    body = '{"status":"BAD_REFRESH_TOKEN","message":"missing","category":"VALIDATION_ERROR"}'
    refused = decide_hubspot(400, {}, body)
    assert refused.action is Action.FAIL and refused.code == "VALIDATION_ERROR"
    assert refused.reason == "HTTP 400 VALIDATION_ERROR BAD_REFRESH_TOKEN: missing"
