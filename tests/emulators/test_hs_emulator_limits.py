"""Rate limits through the real SDK: headers, 429 bodies of each policy, Retry-After."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
from hs_emu_support import PublicObjectSearchRequest, body_of, client, relaxed, running

from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotFaults

INTERVAL_MS = 300


@pytest.fixture
def emu() -> Iterator[HubSpotEmulator]:
    config = relaxed(burst_limit=5, interval_ms=INTERVAL_MS, daily_limit=1000)
    with running(config) as running_emu:
        yield running_emu


def _list(emu: HubSpotEmulator, **kwargs: Any) -> Any:
    return client(emu, **kwargs).crm.companies.basic_api.get_page_with_http_info(limit=1)


def _rate_limited(call: Any) -> Any:
    with pytest.raises(Exception) as caught:
        call()
    assert type(caught.value).__name__ == "ApiException"  # 429 has no subclass in the SDK
    assert getattr(caught.value, "status", None) == 429
    return caught.value


def test_headers_on_every_answer(emu: HubSpotEmulator) -> None:
    remaining = []
    for _ in range(3):
        _, status, headers = _list(emu)
        assert status == 200
        assert headers["X-HubSpot-RateLimit-Max"] == "5"
        assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == str(INTERVAL_MS)
        assert headers["X-HubSpot-RateLimit-Daily"] == "1000"
        remaining.append(
            (
                headers["X-HubSpot-RateLimit-Remaining"],
                headers["X-HubSpot-RateLimit-Daily-Remaining"],
            )
        )
    assert remaining == [("4", "999"), ("3", "998"), ("2", "997")]
    search = client(emu).crm.companies.search_api.do_search_with_http_info(
        PublicObjectSearchRequest(limit=1, filter_groups=[])
    )
    assert search[2]["X-HubSpot-RateLimit-Remaining"] == "1"


def test_burst_limit_answers_429_ten_secondly_rolling(emu: HubSpotEmulator) -> None:
    for _ in range(5):
        _list(emu)
    refused = _rate_limited(lambda: _list(emu))
    body = body_of(refused)
    assert set(body) == {
        "status",
        "message",
        "category",
        "errorType",
        "correlationId",
        "policyName",
    }
    assert body["category"] == "RATE_LIMITS"
    assert body["status"] == "error" and body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    # A refused request uses no quota: the window frees up one interval after the burst.
    time.sleep(INTERVAL_MS / 1000)
    assert _list(emu)[1] == 200
    assert emu.counters["rate_limited"] == 1 and emu.counters["companies_list"] == 7


def test_retry_after_can_be_left_out(emu: HubSpotEmulator) -> None:
    emu.set_faults(HubSpotFaults(retry_after=False))
    for _ in range(5):
        _list(emu)
    refused = _rate_limited(lambda: _list(emu))
    assert "Retry-After" not in refused.headers


def test_post_429_is_an_api_exception_too(emu: HubSpotEmulator) -> None:
    for _ in range(5):
        _list(emu)
    api = client(emu).crm.companies.search_api
    refused = _rate_limited(
        lambda: api.do_search(PublicObjectSearchRequest(limit=1, filter_groups=[]))
    )
    assert body_of(refused)["policyName"] == "TEN_SECONDLY_ROLLING"


def test_search_has_its_own_lower_limit() -> None:
    config = relaxed(search_rate_limit=2, search_interval_ms=INTERVAL_MS)
    with running(config) as emu:
        api = client(emu).crm.companies.search_api
        for _ in range(2):
            api.do_search(PublicObjectSearchRequest(limit=1, filter_groups=[]))
        refused = _rate_limited(
            lambda: api.do_search(PublicObjectSearchRequest(limit=1, filter_groups=[]))
        )
        assert body_of(refused)["policyName"] == "SECONDLY"
        assert body_of(refused)["message"] == "You have reached your secondly limit."
        assert _list(emu)[1] == 200  # other endpoints are not held back
        time.sleep(INTERVAL_MS / 1000)
        assert api.do_search(PublicObjectSearchRequest(limit=1, filter_groups=[])).total == 60


def test_daily_limit_answers_429_daily_until_reset() -> None:
    with running(relaxed(daily_limit=3)) as emu:
        for _ in range(3):
            _list(emu)
        refused = _rate_limited(lambda: _list(emu))
        body = body_of(refused)
        assert body["policyName"] == "DAILY" and body["errorType"] == "RATE_LIMIT"
        assert body["message"] == "You have reached your daily limit."
        assert refused.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
        assert int(refused.headers["Retry-After"]) >= 1
        emu.reset_daily()
        assert _list(emu)[1] == 200


def test_daily_limit_fault(emu: HubSpotEmulator) -> None:
    emu.set_faults(HubSpotFaults(daily_limit_after=2))
    _list(emu)
    _list(emu)
    refused = _rate_limited(lambda: _list(emu))
    assert body_of(refused)["policyName"] == "DAILY"
    assert emu.counters["fault_daily_limit"] == 1


def test_injected_ten_secondly_429(emu: HubSpotEmulator) -> None:
    emu.set_faults(HubSpotFaults(rate_limit_every=2, retry_after=False))
    assert _list(emu)[1] == 200
    refused = _rate_limited(lambda: _list(emu))
    assert body_of(refused)["policyName"] == "TEN_SECONDLY_ROLLING"
    assert "Retry-After" not in refused.headers
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "4"  # quota untouched
    assert emu.counters["fault_rate_limit"] == 1 and emu.counters["rate_limited"] == 1


def test_oauth_tokens_share_the_apps_bucket_not_the_private_apps(emu: HubSpotEmulator) -> None:
    for _ in range(5):
        _list(emu)
    _rate_limited(lambda: _list(emu))
    first, second = emu.issue_token(), emu.issue_token()
    for _ in range(5):
        _list(emu, token=first)
    _rate_limited(lambda: _list(emu, token=second))


def test_the_sdks_own_retry_sleeps_on_get_429_but_not_on_post(emu: HubSpotEmulator) -> None:
    """Why adapters must turn urllib3's retries off: they act behind the adapter's back.

    urllib3's Retry honours Retry-After on 429 for GET only (POST is not an allowed
    method); the default Retry (total=3) would sleep three times before giving up.
    """
    emu.set_faults(HubSpotFaults(rate_limit_every=1))
    started = time.monotonic()
    _rate_limited(lambda: _list(emu, retry=urllib3.util.Retry(total=1)))
    assert emu.counters["companies_list"] == 2 and time.monotonic() - started >= 1.0
    api = client(emu, retry=urllib3.util.Retry(total=1)).crm.companies.search_api
    _rate_limited(lambda: api.do_search(PublicObjectSearchRequest(limit=1, filter_groups=[])))
    assert emu.counters["companies_search"] == 1
