"""HubSpot emulator wire fidelity against HubSpot's published spec and documentation, read
as raw JSON and headers (the SDK would coerce types and hide missing fields)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hs_emu_support import relaxed, running

from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotEmulatorConfig, HubSpotFaults

DAILY = ("X-HubSpot-RateLimit-Daily", "X-HubSpot-RateLimit-Daily-Remaining")
BURST = (
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
)


@pytest.fixture(scope="module")
def emu() -> Iterator[HubSpotEmulator]:
    with running(relaxed(), owners=10, companies=20, deals=30) as started:
        yield started


def _call(
    emu: HubSpotEmulator, method: str, path: str, token: str | None = None, **kwargs: Any
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or emu.config.access_token}"}
    return requests.request(method, f"{emu.url}{path}", headers=headers, timeout=10, **kwargs)


def _token_answer(emu: HubSpotEmulator, **override: str) -> requests.Response:
    config = emu.config
    form = {
        "grant_type": "refresh_token",
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "refresh_token": config.refresh_token,
        **override,
    }
    return requests.post(f"{emu.url}/oauth/v1/token", data=form, timeout=10)


def test_v4_to_object_id_is_a_string(emu: HubSpotEmulator) -> None:
    company = next(c for c in emu.store.all("companies") if emu.store.associated(
        "companies", str(c["hs_object_id"]), "deals"))  # fmt: skip
    body = {"inputs": [{"id": str(company["hs_object_id"])}]}
    answer = _call(emu, "POST", "/crm/v4/associations/companies/deals/batch/read", json=body)
    assert answer.status_code == 200
    targets = answer.json()["results"][0]["to"]
    assert targets and all(isinstance(t["toObjectId"], str) for t in targets)
    expected = emu.store.associated("companies", str(company["hs_object_id"]), "deals")
    assert [t["toObjectId"] for t in targets] == expected


def test_archived_owners_user_id_integer_by_default_null_on_request(
    emu: HubSpotEmulator,
) -> None:
    listed = _call(emu, "GET", "/crm/v3/owners/", params={"archived": "true"}).json()["results"]
    assert listed and all(isinstance(o["userId"], int) for o in listed)
    assert all(o["userId"] == o["userIdIncludingInactive"] for o in listed)
    emu.config.archived_owner_user_id_null = True
    try:
        gone = _call(emu, "GET", "/crm/v3/owners/", params={"archived": "true"}).json()
        assert all(o["userId"] is None for o in gone["results"])
        assert all(isinstance(o["userIdIncludingInactive"], int) for o in gone["results"])
        active = _call(emu, "GET", "/crm/v3/owners/").json()["results"]
        assert active and all(isinstance(o["userId"], int) for o in active)
    finally:
        emu.config.archived_owner_user_id_null = False


def test_token_answer_has_token_use_and_every_required_field(emu: HubSpotEmulator) -> None:
    answer = _token_answer(emu)
    assert answer.status_code == 200
    token = answer.json()
    # The spec's oneOf branch for a refresh-token grant.
    assert token["token_use"] == "access_token"
    assert {"access_token", "refresh_token", "expires_in", "token_type"} <= set(token)
    assert token["expires_in"] == 1800 and token["token_type"] == "bearer"


def test_token_refusal_carries_a_category(emu: HubSpotEmulator) -> None:
    refused = _token_answer(emu, refresh_token="wrong")
    assert refused.status_code == 400
    body = refused.json()
    assert (body["status"], body["category"]) == ("BAD_REFRESH_TOKEN", "VALIDATION_ERROR")
    assert body["correlationId"] and body["message"]


def test_error_bodies_carry_their_category(emu: HubSpotEmulator) -> None:
    missing = _call(emu, "GET", "/crm/v3/objects/companies/1")
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"
    bad = _call(emu, "GET", "/crm/v3/objects/companies", params={"limit": "x"})
    assert bad.status_code == 400 and bad.json()["category"] == "VALIDATION_ERROR"
    unknown = _call(emu, "GET", "/crm/v3/objects/companies", token="nope")
    assert unknown.status_code == 401 and unknown.json()["category"] == "INVALID_AUTHENTICATION"


def test_daily_headers_only_on_private_app_answers(emu: HubSpotEmulator) -> None:
    private = _call(emu, "GET", "/crm/v3/objects/companies")
    assert private.status_code == 200
    assert all(name in private.headers for name in (*BURST, *DAILY))
    oauth_token = _token_answer(emu).json()["access_token"]
    oauth = _call(emu, "GET", "/crm/v3/objects/companies", token=oauth_token)
    assert oauth.status_code == 200
    assert all(name in oauth.headers for name in BURST)
    assert not any(name in oauth.headers for name in DAILY)


def test_oauth_429_has_no_daily_headers_and_a_rate_limits_category() -> None:
    config = HubSpotEmulatorConfig(faults=HubSpotFaults(rate_limit_every=1))
    with running(config, owners=2, companies=2, deals=0) as emu:
        oauth_token = _token_answer(emu).json()["access_token"]
        refused = _call(emu, "GET", "/crm/v3/objects/companies", token=oauth_token)
        assert refused.status_code == 429
        assert refused.json()["category"] == "RATE_LIMITS"
        assert refused.json()["policyName"] == "TEN_SECONDLY_ROLLING"
        assert not any(name in refused.headers for name in DAILY)
        private = _call(emu, "GET", "/crm/v3/objects/companies")
        assert private.status_code == 429 and all(name in private.headers for name in DAILY)


def test_search_without_filter_groups_is_refused_with_them_answered(
    emu: HubSpotEmulator,
) -> None:
    body: dict[str, Any] = {"sorts": [], "properties": ["name"], "limit": 5, "after": "0"}
    refused = _call(emu, "POST", "/crm/v3/objects/companies/search", json=body)
    assert refused.status_code == 400
    assert refused.json()["category"] == "VALIDATION_ERROR"
    assert refused.json()["message"].endswith("[filterGroups]")
    answered = _call(
        emu, "POST", "/crm/v3/objects/companies/search", json={**body, "filterGroups": []}
    )
    assert answered.status_code == 200 and answered.json()["total"] == 20


def test_batch_read_without_properties_with_history_is_refused(emu: HubSpotEmulator) -> None:
    ids = [str(c["hs_object_id"]) for c in emu.store.all("companies")[:2]]
    body: dict[str, Any] = {"inputs": [{"id": i} for i in ids], "properties": ["name"]}
    refused = _call(emu, "POST", "/crm/v3/objects/companies/batch/read", json=body)
    assert refused.status_code == 400
    assert refused.json()["message"].endswith("[propertiesWithHistory]")
    answered = _call(
        emu,
        "POST",
        "/crm/v3/objects/companies/batch/read",
        json={**body, "propertiesWithHistory": []},
    )
    assert answered.status_code == 200
    assert sorted(r["id"] for r in answered.json()["results"]) == sorted(ids)
