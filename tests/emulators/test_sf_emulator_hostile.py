"""The Salesforce emulator against hostile clients: slow senders, bodies and queries
nested too deep. None of them may starve other clients or end in a 500."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
import requests
from sf_emu_support import connect, error_body, error_code, record, tls_session
from simple_salesforce.exceptions import SalesforceMalformedRequest
from slow_clients import (
    SlowClients,
    dribble_until_answered,
    read_all,
    silent_connection,
    start_request,
)
from slow_clients import connect as raw_connect

from roleSync.emulators.http import MAX_JSON_DEPTH
from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceEmulatorConfig
from roleSync.emulators.salesforce.soql import MAX_CONDITION_DEPTH

V = "/services/data/v62.0"
TOO_DEEP = b"[" * 100_000


def _started(config: SalesforceEmulatorConfig) -> Iterator[SalesforceEmulator]:
    with SalesforceEmulator(config) as running:
        running.seed(users=4, accounts=20, opportunities=10)
        yield running
        assert not running.internal_errors, running.internal_errors[0]


@pytest.fixture
def emu() -> Iterator[SalesforceEmulator]:
    yield from _started(SalesforceEmulatorConfig())


@pytest.fixture
def quick() -> Iterator[SalesforceEmulator]:
    """An emulator that gives each request half a second to arrive."""
    yield from _started(SalesforceEmulatorConfig(request_deadline_seconds=0.5))


def _auth(emu: SalesforceEmulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.config.access_token}"}


def _split(answer: bytes) -> tuple[bytes, object]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, json.loads(body)


# --- slow clients ----------------------------------------------------------------------


def test_a_dribbling_client_is_answered_408_at_its_deadline(quick: SalesforceEmulator) -> None:
    sock = raw_connect(quick.url, quick.ca_path)
    with sock:
        start_request(sock, f"{V}/limits/")
        # One header line every 0.1 s: each read is quick, the request never ends.
        answer = dribble_until_answered(sock, interval=0.1, most=100)
    head, body = _split(answer)
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"Connection: close" in head
    message = "The request was not received within 0.5 seconds"
    assert body == [{"message": message, "errorCode": "REQUEST_TIMEOUT"}]
    assert quick.counters["requests"] == 0  # never dispatched


def test_a_client_that_never_says_hello_is_closed_at_the_deadline(
    quick: SalesforceEmulator,
) -> None:
    with silent_connection(quick.url) as sock:
        sock.settimeout(10)
        assert sock.recv(1024) == b""  # closed, with no TLS handshake ever started


def test_a_request_sent_in_parts_within_the_deadline_is_served(
    quick: SalesforceEmulator,
) -> None:
    sock = raw_connect(quick.url, quick.ca_path)
    with sock:
        start_request(sock, f"{V}/limits/")
        sock.sendall(f"Authorization: Bearer {quick.config.access_token}\r\n".encode())
        sock.sendall(b"Connection: close\r\n\r\n")
        head, body = _split(read_all(sock))
    assert head.startswith(b"HTTP/1.1 200 ")
    assert isinstance(body, dict) and "DailyApiRequests" in body


def test_slow_clients_do_not_lock_out_a_well_behaved_one() -> None:
    # A deadline far beyond the test: the slow clients stay connected throughout, so
    # only the server's handling of connections can let the good request in.
    config = SalesforceEmulatorConfig(request_deadline_seconds=120)
    for emu in _started(config):
        slow = SlowClients(emu.url, f"{V}/limits/", 64, ca_path=emu.ca_path, interval=0.5)
        with slow:
            answer = tls_session(emu).get(f"{emu.url}{V}/limits/", headers=_auth(emu), timeout=10)
            assert answer.status_code == 200
            # Answered while the slow clients were still there: only the one waiting
            # longest gave its place up.
            assert slow.still_connected() >= 63


def test_a_request_line_too_long_is_answered_in_salesforce_shape(emu: SalesforceEmulator) -> None:
    answer = tls_session(emu).get(f"{emu.url}{V}/query/?q={'x' * 70_000}", timeout=10)
    assert answer.status_code == 414
    assert answer.json() == [
        {"message": "Request-URI Too Long", "errorCode": "REQUEST_URI_TOO_LONG"}
    ]


# --- bodies nested too deep ----------------------------------------------------------------


def _first_account(emu: SalesforceEmulator) -> str:
    return str(emu.store.all("Account")[0]["Id"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/composite/sobjects"),
        ("PATCH", "/sobjects/Account/{account}"),
        ("POST", "/composite/sobjects/Account"),
        ("POST", "/jobs/ingest"),
    ],
)
def test_a_body_nested_too_deep_is_a_json_parser_error(
    emu: SalesforceEmulator, method: str, path: str
) -> None:
    account = _first_account(emu)
    before = record(emu, "Account", account)
    answer = tls_session(emu).request(
        method,
        emu.url + V + path.format(account=account),
        data=TOO_DEEP,
        headers={**_auth(emu), "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 400
    assert [{**e} for e in answer.json()] == [
        {
            "message": f"The request body is nested deeper than {MAX_JSON_DEPTH} levels",
            "errorCode": "JSON_PARSER_ERROR",
        }
    ]
    assert record(emu, "Account", account) == before  # nothing written
    assert emu.jobs.by_id == {}


def test_a_body_at_the_depth_limit_is_read(emu: SalesforceEmulator) -> None:
    account = _first_account(emu)
    owner = next(str(u["Id"]) for u in emu.store.all("User") if u["IsActive"])
    padding = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    body = f'{{"OwnerId": "{owner}", "Name": "{"[" * 200}"}}'
    session = tls_session(emu)
    url = f"{emu.url}{V}/sobjects/Account/{account}"
    assert session.patch(url, data=body, headers=_auth(emu), timeout=10).status_code == 204
    assert record(emu, "Account", account)["OwnerId"] == owner
    assert record(emu, "Account", account)["Name"] == "[" * 200  # brackets in strings
    deepest = f'{{"Name": {padding}}}'
    answer = session.patch(url, data=deepest, headers=_auth(emu), timeout=10)
    assert answer.json()[0]["errorCode"] != "JSON_PARSER_ERROR"  # read, then judged


def test_a_jwt_nested_too_deep_is_an_invalid_grant(emu: SalesforceEmulator) -> None:
    def part(text: bytes) -> str:
        return base64.urlsafe_b64encode(text).decode().rstrip("=")

    assertion = f"{part(TOO_DEEP)}.{part(b'{}')}.{part(b'sig')}"
    answer = requests.post(
        f"{emu.url}/services/oauth2/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        verify=str(emu.ca_path),
        timeout=30,
    )
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


# --- SOQL nested too deep ------------------------------------------------------------------


def _where(condition: str) -> str:
    return f"SELECT Id FROM Account WHERE {condition}"


@pytest.mark.parametrize(
    "soql",
    [
        _where("(" * 5000 + "Name = 'a'" + ")" * 5000),
        _where("NOT " * 5000 + "Name = 'a'"),
        _where("(NOT " * 2500 + "Name = 'a'" + ")" * 2500),
        _where("(" * (MAX_CONDITION_DEPTH + 1) + "Name = 'a'" + ")" * (MAX_CONDITION_DEPTH + 1)),
    ],
    ids=["parentheses", "nots", "mixed", "one-too-many"],
)
def test_soql_nested_too_deep_is_a_malformed_query(emu: SalesforceEmulator, soql: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        connect(emu).query(soql)
    assert error_code(caught.value) == "MALFORMED_QUERY"
    message = str(error_body(caught.value)[0]["message"])
    assert message.endswith(f"conditions nested deeper than {MAX_CONDITION_DEPTH} levels")
    assert "ERROR at Row:1:Column:" in message


def test_soql_subqueries_nested_deep_are_a_malformed_query(emu: SalesforceEmulator) -> None:
    nested = "Id IN (SELECT AccountId FROM Opportunity WHERE " * 500
    with pytest.raises(SalesforceMalformedRequest) as caught:
        connect(emu).query(_where(nested + "Name = 'a'" + ")" * 500))
    assert error_code(caught.value) == "MALFORMED_QUERY"


def test_soql_at_the_depth_limit_is_answered(emu: SalesforceEmulator) -> None:
    depth = MAX_CONDITION_DEPTH
    found = connect(emu).query(_where("(" * depth + "Name != null" + ")" * depth))
    assert found["totalSize"] == 20
