"""Response parsing on recorded answers (vcrpy cassettes, replay only, through the real
SDK and the adapter's client), and a scan that no cassette holds a token, a secret or
an Authorization header.

Re-record with `python tests/hubspot_connector/record_hs_cassettes.py` (emulator) or `--portal`
(a real test portal): see docs/hubspot.md. The assertions hold for either source.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from record_hs_cassettes import CASSETTE_HOST, CASSETTES, INPUTS, client_for, recorder

from cassette_scan import cassette_files, leaks, secret_patterns
from roleSync.adapters.hubspot.client import HubSpotClient
from roleSync.adapters.hubspot.links import company_links
from roleSync.adapters.hubspot.records import (
    DELETED,
    batch_answer,
    owner_row,
    write_results,
)
from roleSync.adapters.hubspot.search import ChangedSince, record_stamp
from roleSync.adapters.rounds import Outcome

# Replays match on method, path, query and body; the token never reaches the tape.
ENV = {
    "HUBSPOT_ACCESS_TOKEN": "replay-token",
    "HUBSPOT_CLIENT_ID": "REDACTED",
    "HUBSPOT_CLIENT_SECRET": "REDACTED",
    "HUBSPOT_REFRESH_TOKEN": "REDACTED",
}


@pytest.fixture
def inputs() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(INPUTS.read_text())
    return data


@pytest.fixture
def client() -> HubSpotClient:
    made: HubSpotClient = client_for(CASSETTE_HOST, ENV)
    return made


def replay(name: str) -> Any:
    return recorder().use_cassette(name, record_mode="none", allow_playback_repeats=False)


def test_list_pages_are_followed(client: HubSpotClient, inputs: dict[str, Any]) -> None:
    with replay("hs_list_companies.yaml") as cassette:
        pages = list(client.list_all("companies", inputs["company_properties"]))
    assert len(pages) == len(cassette.requests) >= 2
    records = [r for page in pages for r in page]
    assert len({r["id"] for r in records}) == len(records)
    assert all(record_stamp(r) > 0 for r in records)


def test_search_walks_every_page(client: HubSpotClient, inputs: dict[str, Any]) -> None:
    with replay("hs_search.yaml"):
        walk = ChangedSince(lambda b: client.search("companies", b), ["name"], 0)
        found = {r["id"] for r in walk}
    assert len(found) == inputs["search_found"]


def test_batch_read_207_names_the_missing_record(
    client: HubSpotClient, inputs: dict[str, Any]
) -> None:
    ids = [*inputs["companies"], inputs["missing_id"]]
    with replay("hs_batch_read.yaml"):
        answer = batch_answer(client.batch_read("companies", ids, ["hubspot_owner_id"]))
    assert set(answer.records) == set(inputs["companies"])
    assert answer.errors[inputs["missing_id"]].reason == DELETED


def test_batch_update_207_maps_back_to_each_record(
    client: HubSpotClient, inputs: dict[str, Any]
) -> None:
    updates = inputs["updates"]
    ids = [u["id"] for u in updates]
    with replay("hs_batch_update.yaml"):
        results = write_results(client.batch_update("companies", updates), ids)
    assert results[inputs["missing_id"]].outcome is Outcome.FAILED
    assert any(r.outcome is Outcome.APPLIED for r in results.values())
    # Every record sent is answered one way or another; none silently dropped.
    assert set(results) == set(ids)


def test_associations_207_reads_as_no_associations(
    client: HubSpotClient, inputs: dict[str, Any]
) -> None:
    ids = [*inputs["companies"], inputs["missing_id"]]
    with replay("hs_associations.yaml"):
        links = company_links(client, "companies", "deals", ids, 100)
    assert links and set(links.values()) <= set(inputs["companies"])


def test_owners_archived_ones_are_inactive(client: HubSpotClient, inputs: dict[str, Any]) -> None:
    with replay("hs_owners.yaml"):
        active = [owner_row(o, "", {}) for o in client.owners(archived=False)]
        archived = [owner_row(o, "", {}) for o in client.owners(archived=True)]
    assert len(active) == inputs["owners_active"] and all(o.active for o in active)
    assert len(archived) == inputs["owners_archived"] and not any(o.active for o in archived)


def test_token_answer_is_parsed() -> None:
    oauth = client_for(CASSETTE_HOST, ENV, method="oauth")
    with replay("hs_oauth_refresh.yaml"):
        oauth.connect()
        assert oauth._tokens is not None
        assert oauth._tokens.access_token == "REDACTED"


# -- no secrets on tape --------------------------------------------------------------

FORBIDDEN = secret_patterns(
    ("access_token", "refresh_token", "client_secret", "client_id", "hapikey"),
    r"pat-(na|eu)\d-[0-9a-f-]{20,}",  # a private app token
    r"\bCN[A-Za-z0-9_-]{30,}",  # an OAuth access token (the emulator's shape)
)


def test_there_are_cassettes() -> None:
    names = {p.name for p in cassette_files(CASSETTES)}
    assert {
        "hs_list_companies.yaml",
        "hs_search.yaml",
        "hs_batch_read.yaml",
        "hs_batch_update.yaml",
        "hs_associations.yaml",
        "hs_owners.yaml",
        "hs_oauth_refresh.yaml",
    } <= names


@pytest.mark.parametrize("path", cassette_files(CASSETTES), ids=lambda p: p.name)
def test_no_cassette_holds_a_token(path: Path) -> None:
    assert leaks(path.read_text(encoding="utf-8"), FORBIDDEN) == [], path.name


def test_the_scan_catches_what_it_should() -> None:
    samples = [
        "    Authorization:\n    - Bearer abc",
        "Bearer pat-na1-11111111-2222-3333-4444-555555555555",
        '{"access_token":"CNabcdefghijklmnopqrstuvwxyz0123456789"}',
        "grant_type=refresh_token&refresh_token=na1-0123456789abcdef",
        "client_secret=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    ]
    for leak in samples:
        assert leaks(leak, FORBIDDEN), leak
