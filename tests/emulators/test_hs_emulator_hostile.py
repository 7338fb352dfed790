"""The HubSpot emulator against hostile clients: slow senders and bodies nested too
deep. None of them may starve other clients or end in a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hs_emu_support import relaxed, running
from slow_clients import SlowClients, dribble_until_answered, start_request
from slow_clients import connect as raw_connect

from roleSync.emulators.http import MAX_JSON_DEPTH
from roleSync.emulators.hubspot import HubSpotEmulator

TOO_DEEP = b"[" * 100_000


@pytest.fixture
def emu() -> Iterator[HubSpotEmulator]:
    with running(owners=3, companies=5, deals=5) as started:
        yield started


def _auth(emu: HubSpotEmulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.config.access_token}"}


def test_a_dribbling_client_is_answered_408_at_its_deadline() -> None:
    with running(relaxed(request_deadline_seconds=0.5), owners=1, companies=1, deals=0) as emu:
        sock = raw_connect(emu.url)
        with sock:
            start_request(sock, "/crm/v3/owners/")
            answer = dribble_until_answered(sock, interval=0.1, most=100)
        assert emu.counters["requests"] == 0  # never dispatched
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"Connection: close" in head
    error: dict[str, Any] = json.loads(body)
    assert error["status"] == "error"
    assert error["category"] == "REQUEST_TIMEOUT"
    assert error["message"] == "The request was not received within 0.5 seconds"


def test_slow_clients_do_not_lock_out_a_well_behaved_one() -> None:
    # A deadline far beyond the test: the slow clients stay connected throughout.
    config = relaxed(request_deadline_seconds=120)
    with running(config, owners=1, companies=1, deals=0) as emu:
        slow = SlowClients(emu.url, "/crm/v3/owners/", 64, ca_path=None, interval=0.5)
        with slow:
            answer = requests.get(f"{emu.url}/crm/v3/owners/", headers=_auth(emu), timeout=10)
            assert answer.status_code == 200
            assert slow.still_connected() >= 63


def test_an_unknown_method_is_answered_in_hubspot_shape(emu: HubSpotEmulator) -> None:
    answer = requests.request("BREW", f"{emu.url}/crm/v3/owners/", timeout=10)
    assert answer.status_code == 501
    error = answer.json()
    assert (error["status"], error["category"]) == ("error", "NOT_IMPLEMENTED")
    assert error["message"] == "Unsupported method ('BREW')"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/crm/v3/objects/companies/search"),
        ("POST", "/crm/v3/objects/companies/batch/read"),
        ("POST", "/crm/v3/objects/companies/batch/update"),
        ("PATCH", "/crm/v3/objects/companies/{company}"),
        ("POST", "/crm/v3/properties/companies"),
        ("POST", "/crm/v4/associations/companies/deals/batch/read"),
    ],
)
def test_a_body_nested_too_deep_is_a_validation_error(
    emu: HubSpotEmulator, method: str, path: str
) -> None:
    company = str(emu.store.all("companies")[0]["hs_object_id"])
    writes_before = sum(emu.store.api_writes.values())
    for body in (TOO_DEEP, b'{"inputs": ' + TOO_DEEP):
        answer = requests.request(
            method,
            emu.url + path.format(company=company),
            data=body,
            headers={**_auth(emu), "Content-Type": "application/json"},
            timeout=30,
        )
        assert answer.status_code == 400
        error = answer.json()
        assert error["status"] == "error"
        assert error["category"] == "VALIDATION_ERROR"
        assert error["message"] == f"Invalid input JSON: nested deeper than {MAX_JSON_DEPTH} levels"
    assert sum(emu.store.api_writes.values()) == writes_before  # nothing written


def test_a_body_at_the_depth_limit_is_read(emu: HubSpotEmulator) -> None:
    padding = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    answer = requests.post(
        f"{emu.url}/crm/v3/objects/companies/batch/read",
        data=f'{{"inputs": {padding}, "note": "{"{" * 1000}"}}',
        headers=_auth(emu),
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json()["message"] == "Invalid input JSON: each input needs an `id`"
