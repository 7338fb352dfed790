"""Record the vcrpy cassettes the response-parsing tests replay.

    python tests/salesforce/record_cassettes.py          # against a fresh emulator
    python tests/salesforce/record_cassettes.py --org    # against a real sandbox org

With --org the org comes from the environment: SF_INSTANCE_URL, SF_ACCESS_TOKEN, and
for the token cassette SF_TOKEN_URL, SF_CLIENT_ID, SF_REFRESH_TOKEN (and optionally
SF_CLIENT_SECRET), plus SF_CA_BUNDLE if needed. The writes it records are harmless:
each account gets the owner it already has, plus one write to an Id that does not
exist, so that a per-record error is on tape. The compare-and-set read (sObject
Collections retrieve) is recorded for a few accounts and that Id (answered null), then
once with a field that does not exist (refused). See docs/salesforce.md.

Whatever the source, the cassettes are made safe before they are written: the
Authorization header is dropped, tokens and secrets are removed from query strings,
form bodies and JSON answers, and the org's host is replaced by CASSETTE_INSTANCE.
test_sf_cassettes.py scans every file here and fails if anything slipped through.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import vcr

HERE = Path(__file__).resolve().parent
CASSETTES = HERE / "cassettes"
INPUTS = CASSETTES / "inputs.json"
# The host every cassette is rewritten to (nothing listens there: replay only).
CASSETTE_INSTANCE = "https://127.0.0.1:18443"
API_VERSION = "62.0"
SECRET_FIELDS = ("access_token", "refresh_token", "assertion", "client_secret", "signature")
QUERY_SOQL = "SELECT Id, Name, OwnerId FROM Account ORDER BY Id LIMIT 12"
RETRIEVE_FIELDS = ["Id", "OwnerId", "Name"]
NO_SUCH_FIELD = "RoleSync_No_Such_Field__c"
_TOKENISH = re.compile(r'("(?:' + "|".join(SECRET_FIELDS) + r')"\s*:\s*)"[^"]*"')


def _scrub_text(text: str, origin: str) -> str:
    text = _TOKENISH.sub(r'\1"REDACTED"', text)
    return text.replace(origin, CASSETTE_INSTANCE) if origin else text


def recorder(origin: str = "") -> vcr.VCR:
    """A VCR that strips secrets and replaces `origin` (the org's https://host:port)."""

    def before_request(request: Any) -> Any:
        if origin and request.uri.startswith(origin):
            request.uri = CASSETTE_INSTANCE + request.uri[len(origin) :]
        if isinstance(request.body, bytes) and b"{" in request.body:
            request.body = _scrub_text(request.body.decode(), origin).encode()
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
        filter_post_data_parameters=list(SECRET_FIELDS),
        before_record_request=before_request,
        before_record_response=before_response,
        decode_compressed_response=True,
    )


def _client(instance: str, env: Mapping[str, str], ca_bundle: str | None) -> Any:
    from roleSync.adapters.salesforce.client import SalesforceClient
    from roleSync.profile import SalesforceSection

    section = SalesforceSection.model_validate(
        {"instance_url": instance, "api_version": API_VERSION, "auth": {"method": "access_token"}}
    )
    return SalesforceClient(
        section,
        ca_bundle=Path(ca_bundle) if ca_bundle else None,
        env=env,
        bulk_poll_seconds=0.05,
    )


def record(instance: str, env: Mapping[str, str], ca_bundle: str | None, token_url: str) -> None:
    """Record every cassette against the org at `instance`."""
    from roleSync.adapters.resilience import RetryingSession, decide_salesforce
    from roleSync.adapters.salesforce.auth import OAuthFlow
    from roleSync.adapters.salesforce.client import SalesforceRequestError

    CASSETTES.mkdir(exist_ok=True)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(instance))
    tape = recorder(origin)
    client = _client(instance, env, ca_bundle)
    client.budget.share = 1.0
    inputs: dict[str, Any] = {"query": QUERY_SOQL}

    with tape.use_cassette("sf_query_pages.yaml", record_mode="all"):
        records = list(client.query(QUERY_SOQL))
    accounts = [(str(r["Id"]), str(r["OwnerId"])) for r in records]
    missing = "001000000000000AAA"  # well-formed, but no such account
    # Collections: six accounts written their own owner, then the missing one.
    collection = [
        {"attributes": {"type": "Account"}, "id": a, "OwnerId": o} for a, o in accounts[:6]
    ]
    collection.append({"attributes": {"type": "Account"}, "id": missing, "OwnerId": accounts[0][1]})
    inputs["collections"] = collection
    with tape.use_cassette("sf_collections.yaml", record_mode="all"):
        client.update_collection(collection)
    bulk_rows = [{"Id": a, "OwnerId": o} for a, o in accounts[6:12]] + [
        {"Id": missing, "OwnerId": accounts[0][1]}
    ]
    inputs["bulk"] = bulk_rows
    with tape.use_cassette("sf_bulk.yaml", record_mode="all"):
        try:
            client.bulk_update("Account", bulk_rows)
        except Exception as exc:  # a real org may fail the whole row set differently
            print(f"bulk: {exc}", file=sys.stderr)
    with tape.use_cassette("sf_limits.yaml", record_mode="all"):
        client.budget.ceiling = None
        client.ensure_budget_known()
    # Recorded last, so the cassettes before it see the same requests as without it.
    retrieve_ids = [a for a, _ in accounts[:4]] + [missing]
    inputs["retrieve"] = {"ids": retrieve_ids, "fields": RETRIEVE_FIELDS}
    with tape.use_cassette("sf_retrieve.yaml", record_mode="all"):
        client.retrieve("Account", retrieve_ids, RETRIEVE_FIELDS)
        try:
            client.retrieve("Account", retrieve_ids[:1], ["Id", NO_SUCH_FIELD])
        except SalesforceRequestError as exc:
            print(f"retrieve with {NO_SUCH_FIELD}: {exc}", file=sys.stderr)
    session = RetryingSession(decide_salesforce, verify=ca_bundle or True)

    def form() -> dict[str, str]:
        fields = {
            "grant_type": "refresh_token",
            "refresh_token": env["SF_REFRESH_TOKEN"],
            "client_id": env["SF_CLIENT_ID"],
        }
        if env.get("SF_CLIENT_SECRET"):
            fields["client_secret"] = env["SF_CLIENT_SECRET"]
        return fields

    inputs["token_url"] = CASSETTE_INSTANCE + urlsplit(token_url).path
    with recorder("{0.scheme}://{0.netloc}".format(urlsplit(token_url))).use_cassette(
        "sf_oauth_refresh.yaml", record_mode="all"
    ):
        OAuthFlow(session, token_url, form).refresh()
    INPUTS.write_text(json.dumps(inputs, indent=2, sort_keys=True) + "\n")


def record_against_emulator() -> None:
    from roleSync.emulators.salesforce import (
        SalesforceEmulator,
        SalesforceEmulatorConfig,
        SalesforceFaults,
    )

    # Pages of 5 records keep the query cassette small and still show paging; every
    # other record locks once, so collections and bulk results carry errors.
    emu = SalesforceEmulator(
        SalesforceEmulatorConfig(
            page_size=5, faults=SalesforceFaults(lock_row_rate=0.3, lock_row_attempts=1, seed=2)
        )
    )
    emu.seed(users=4, accounts=12, opportunities=0, seed=11)
    with emu:
        env = {
            "SF_ACCESS_TOKEN": emu.config.access_token,
            "SF_REFRESH_TOKEN": emu.config.refresh_token,
            "SF_CLIENT_ID": emu.config.client_id,
            "SF_CLIENT_SECRET": emu.config.client_secret,
        }
        record(emu.url, env, str(emu.ca_path), f"{emu.url}/services/oauth2/token")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--org", action="store_true", help="record against a real (sandbox) org")
    args = parser.parse_args(argv)
    if not args.org:
        record_against_emulator()
        return 0
    need: Callable[[str], str] = lambda name: os.environ.get(name) or sys.exit(f"set {name}")  # noqa: E731
    record(
        need("SF_INSTANCE_URL"),
        os.environ,
        os.environ.get("SF_CA_BUNDLE"),
        need("SF_TOKEN_URL"),
    )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1] / "src"))
    raise SystemExit(main())
