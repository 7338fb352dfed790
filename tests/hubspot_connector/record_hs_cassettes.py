"""Record the vcrpy cassettes the HubSpot response-parsing tests replay.

    python tests/hubspot_connector/record_hs_cassettes.py            # against a fresh emulator
    python tests/hubspot_connector/record_hs_cassettes.py --portal   # against a real (test) portal

With --portal the portal comes from the environment: HUBSPOT_ACCESS_TOKEN (a private
app with the scopes of docs/hubspot.md), optionally HUBSPOT_HOST (default
https://api.hubapi.com), and for the token cassette HUBSPOT_CLIENT_ID,
HUBSPOT_CLIENT_SECRET, HUBSPOT_REFRESH_TOKEN. The writes it records are harmless: a
few companies get the owner they already have, plus one write to an id that does not
exist, so that a per-record error is on tape. Use a developer test portal.

Whatever the source, the cassettes are made safe before they are written: the
Authorization header is dropped, tokens and secrets are removed from form bodies and
JSON answers, and the portal's host is replaced by CASSETTE_HOST. The replay test
(test_hs_adapter_cassettes.py) scans every file here and fails if anything slipped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import vcr

HERE = Path(__file__).resolve().parent
CASSETTES = HERE / "cassettes"
INPUTS = CASSETTES / "inputs.json"
# The host every cassette is rewritten to (nothing listens there: replay only).
CASSETTE_HOST = "http://127.0.0.1:18080"
SECRET_FIELDS = ("access_token", "refresh_token", "client_secret", "client_id", "hapikey")
COMPANY_PROPERTIES = ["name", "hubspot_owner_id", "lifecyclestage", "hs_lastmodifieddate"]
MISSING_ID = "1"  # well-formed, but no such record
_TOKENISH = re.compile(r'("(?:' + "|".join(SECRET_FIELDS) + r')"\s*:\s*)"[^"]*"')


def _scrub_text(text: str, origin: str) -> str:
    text = _TOKENISH.sub(r'\1"REDACTED"', text)
    return text.replace(origin, CASSETTE_HOST) if origin else text


def recorder(origin: str = "") -> vcr.VCR:
    """A VCR that strips secrets and replaces `origin` (the portal's scheme://host:port)."""

    def before_request(request: Any) -> Any:
        if origin and request.uri.startswith(origin):
            request.uri = CASSETTE_HOST + request.uri[len(origin) :]
        body = request.body
        if isinstance(body, str):
            body = body.encode()
        if isinstance(body, bytes) and b"client_secret" in body:
            form = dict(parse_qsl(body.decode()))
            form.update({k: "REDACTED" for k in SECRET_FIELDS if k in form})
            request.body = urlencode(form).encode()
        elif isinstance(body, bytes) and body.startswith(b"{"):
            request.body = _scrub_text(body.decode(), origin).encode()
        return request

    def before_response(response: dict[str, Any]) -> dict[str, Any]:
        body = response.get("body", {}).get("string")
        if isinstance(body, bytes):
            response["body"]["string"] = _scrub_text(
                body.decode("utf-8", "replace"), origin
            ).encode()
        response["headers"] = {
            k: v for k, v in response.get("headers", {}).items() if k.lower() != "set-cookie"
        }
        return response

    return vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        filter_headers=["authorization", "cookie"],
        filter_query_parameters=list(SECRET_FIELDS),
        before_record_request=before_request,
        before_record_response=before_response,
        decode_compressed_response=True,
        match_on=["method", "path", "query", "body"],
    )


def client_for(host: str, env: Mapping[str, str], method: str = "private_app") -> Any:
    from roleSync.adapters.hubspot.client import HubSpotClient
    from roleSync.adapters.resilience import RetryPolicy
    from roleSync.profile import HubSpotSection

    section = HubSpotSection.model_validate(
        {"host": host, "auth": {"method": method}, "rate_limit": {"search_per_second": 100}}
    )
    return HubSpotClient(section, env=env, policy=RetryPolicy(sleep=lambda s: None))


def record(host: str, env: Mapping[str, str]) -> None:
    """Record every cassette against the portal at `host`."""
    from roleSync.adapters.hubspot.search import ChangedSince

    CASSETTES.mkdir(exist_ok=True)
    parts = urlsplit(host)
    tape = recorder(f"{parts.scheme}://{parts.netloc}")
    client = client_for(host, env)
    inputs: dict[str, Any] = {"company_properties": COMPANY_PROPERTIES, "missing_id": MISSING_ID}

    with tape.use_cassette("hs_list_companies.yaml", record_mode="all"):
        pages = client.list_all("companies", COMPANY_PROPERTIES)
        first = next(pages)
        second: list[dict[str, Any]] = next(pages, [])
    companies = [r for r in [*first, *second] if r["properties"].get("hubspot_owner_id")][:6]
    inputs["companies"] = [r["id"] for r in companies]
    with tape.use_cassette("hs_search.yaml", record_mode="all"):
        inputs["search_since"] = 0
        found = list(ChangedSince(lambda b: client.search("companies", b), ["name"], 0))
        inputs["search_found"] = len({r["id"] for r in found})
    ids = [*inputs["companies"], MISSING_ID]
    with tape.use_cassette("hs_batch_read.yaml", record_mode="all"):
        client.batch_read("companies", ids, ["hubspot_owner_id"])
    updates = [
        {"id": r["id"], "properties": {"hubspot_owner_id": r["properties"]["hubspot_owner_id"]}}
        for r in companies
    ] + [
        {
            "id": MISSING_ID,
            "properties": {"hubspot_owner_id": companies[0]["properties"]["hubspot_owner_id"]},
        }
    ]
    inputs["updates"] = updates
    with tape.use_cassette("hs_batch_update.yaml", record_mode="all"):
        client.batch_update("companies", updates)
    with tape.use_cassette("hs_associations.yaml", record_mode="all"):
        client.associations("companies", "deals", [{"id": i} for i in ids])
    with tape.use_cassette("hs_owners.yaml", record_mode="all"):
        inputs["owners_active"] = len(list(client.owners(archived=False)))
        inputs["owners_archived"] = len(list(client.owners(archived=True)))
    if env.get("HUBSPOT_REFRESH_TOKEN"):
        oauth = client_for(host, env, method="oauth")
        with tape.use_cassette("hs_oauth_refresh.yaml", record_mode="all"):
            oauth.connect()
            assert oauth._tokens is not None
            oauth._tokens.refresh()
    INPUTS.write_text(json.dumps(inputs, indent=2, sort_keys=True) + "\n")


def record_against_emulator() -> None:
    from datetime import UTC, datetime

    from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotEmulatorConfig, HubSpotFaults

    # 150 companies: two list pages; every third record write fails once (CONFLICT).
    config = HubSpotEmulatorConfig(
        faults=HubSpotFaults(record_error_rate=0.3, record_error_attempts=1, seed=2)
    )
    with HubSpotEmulator(config) as emu:
        emu.seed(
            owners=12, companies=150, deals=200, seed=11, as_of=datetime(2026, 6, 30, tzinfo=UTC)
        )
        record(
            emu.url,
            {
                "HUBSPOT_ACCESS_TOKEN": emu.config.access_token,
                "HUBSPOT_CLIENT_ID": emu.config.client_id,
                "HUBSPOT_CLIENT_SECRET": emu.config.client_secret,
                "HUBSPOT_REFRESH_TOKEN": emu.config.refresh_token,
            },
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--portal", action="store_true", help="record against a real portal")
    args = parser.parse_args(argv)
    if not args.portal:
        record_against_emulator()
        return 0
    if not os.environ.get("HUBSPOT_ACCESS_TOKEN"):
        sys.exit("set HUBSPOT_ACCESS_TOKEN")
    record(os.environ.get("HUBSPOT_HOST", "https://api.hubapi.com"), os.environ)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1] / "src"))
    raise SystemExit(main())
