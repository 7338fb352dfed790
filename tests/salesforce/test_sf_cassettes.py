"""Response parsing on recorded answers (vcrpy cassettes, replay only), and a scan that
no cassette holds a token, a secret or an Authorization header.

Re-record with `python tests/salesforce/record_cassettes.py` (emulator) or `--org`
(a sandbox org): see docs/salesforce.md. The assertions hold for either source.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from record_cassettes import (
    API_VERSION,
    CASSETTE_INSTANCE,
    CASSETTES,
    INPUTS,
    NO_SUCH_FIELD,
    QUERY_SOQL,
    recorder,
)

from cassette_scan import cassette_files, leaks, secret_patterns
from roleSync.adapters.resilience import RetryingSession, RetryPolicy, decide_salesforce
from roleSync.adapters.rounds import Outcome
from roleSync.adapters.salesforce.auth import OAuthFlow
from roleSync.adapters.salesforce.client import SalesforceClient, SalesforceRequestError
from roleSync.adapters.salesforce.rounds import record_result
from roleSync.profile import SalesforceSection

ENV = {"SF_ACCESS_TOKEN": "replay-token"}


@pytest.fixture
def inputs() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(INPUTS.read_text())
    return data


@pytest.fixture
def client() -> SalesforceClient:
    section = SalesforceSection.model_validate(
        {"instance_url": CASSETTE_INSTANCE, "api_version": API_VERSION}
    )
    policy = RetryPolicy(sleep=lambda seconds: None)
    return SalesforceClient(section, env=ENV, policy=policy, bulk_poll_seconds=0.0)


def replay(name: str) -> Any:
    return recorder().use_cassette(name, record_mode="none", allow_playback_repeats=False)


def test_query_pages_are_followed_and_the_budget_read(client: SalesforceClient) -> None:
    with replay("sf_query_pages.yaml") as cassette:
        records = list(client.query(QUERY_SOQL))
    assert len(records) == 12
    assert len(cassette.requests) >= 2  # more than one page
    assert all(set(r) >= {"Id", "Name", "OwnerId"} for r in records)
    assert len({r["Id"] for r in records}) == 12
    assert client.budget.known and client.budget.remaining is not None


def test_collections_results_map_by_position(
    client: SalesforceClient, inputs: dict[str, Any]
) -> None:
    records = inputs["collections"]
    with replay("sf_collections.yaml"):
        answers = client.update_collection(records)
    outcomes = [record_result(a) for a in answers]
    assert len(outcomes) == len(records)
    # The last record is an Id that does not exist: a per-record error, not an exception.
    assert outcomes[-1].outcome is Outcome.FAILED and outcomes[-1].reason
    assert any(o.outcome is Outcome.APPLIED for o in outcomes)
    for record, answer in zip(records, answers, strict=True):
        if answer["success"]:
            assert answer["id"] == record["id"]


def test_retrieve_maps_records_by_position_and_null_is_absent(
    client: SalesforceClient, inputs: dict[str, Any]
) -> None:
    ids, fields = inputs["retrieve"]["ids"], inputs["retrieve"]["fields"]
    with replay("sf_retrieve.yaml") as cassette:
        found = client.retrieve("Account", ids, fields)
        # The last id does not exist: answered null, so absent, not an error.
        assert sorted(found) == sorted(ids[:-1])
        for record_id, record in found.items():
            assert record["Id"][:15] == record_id[:15]
            assert record["attributes"]["type"] == "Account"
            assert {"OwnerId", "Name"} <= set(record)
        # A field that does not exist refuses the whole request (HTTP 400).
        with pytest.raises(SalesforceRequestError) as refused:
            client.retrieve("Account", ids[:1], ["Id", NO_SUCH_FIELD])
        assert refused.value.status == 400 and refused.value.code
        assert cassette.all_played


def test_bulk_results_map_by_record_id(client: SalesforceClient, inputs: dict[str, Any]) -> None:
    rows = inputs["bulk"]
    with replay("sf_bulk.yaml"):
        outcome = client.bulk_update("Account", rows)
    ids = {r["Id"] for r in rows}
    assert outcome.succeeded | set(outcome.failed) | outcome.unprocessed == ids
    assert rows[-1]["Id"] in outcome.failed
    assert all(error.count(":") >= 1 for error in outcome.failed.values())


def test_limits_set_the_budget(client: SalesforceClient) -> None:
    with replay("sf_limits.yaml"):
        client.ensure_budget_known()
    assert client.budget.ceiling is not None and client.budget.ceiling > 0


def test_token_response_is_parsed(inputs: dict[str, Any]) -> None:
    session = RetryingSession(decide_salesforce)
    flow = OAuthFlow(session, inputs["token_url"], lambda: {"grant_type": "refresh_token"})
    with replay("sf_oauth_refresh.yaml"):
        grant = flow.grant()
    assert grant.access_token == "REDACTED"
    assert grant.instance_url == CASSETTE_INSTANCE


# -- no secrets on tape --------------------------------------------------------------

FORBIDDEN = secret_patterns(
    ("access_token", "refresh_token", "client_secret", "assertion"),
    r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]{20,}",  # a Salesforce session id
)


def test_there_are_cassettes() -> None:
    names = {p.name for p in cassette_files(CASSETTES)}
    assert {
        "sf_query_pages.yaml",
        "sf_collections.yaml",
        "sf_bulk.yaml",
        "sf_limits.yaml",
        "sf_oauth_refresh.yaml",
        "sf_retrieve.yaml",
    } <= names


@pytest.mark.parametrize("path", cassette_files(CASSETTES), ids=lambda p: p.name)
def test_no_cassette_holds_a_token(path: Path) -> None:
    assert leaks(path.read_text(encoding="utf-8"), FORBIDDEN) == [], path.name


def test_the_scan_catches_what_it_should() -> None:
    samples = [
        "    Authorization:\n    - Bearer abc",
        "Bearer 00DEM0000000001!abcdefghijklmnopqrstuvwxyz",
        '{"access_token":"00DEM0000000001!abcdefghijklmnopqrstuvwxyz"}',
        "grant_type=refresh_token&refresh_token=5Aep861TSESvWeug_abc",
    ]
    for leak in samples:
        assert leaks(leak, FORBIDDEN), leak
