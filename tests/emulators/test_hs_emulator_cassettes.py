"""vcrpy records the SDK's traffic with the emulator token-free, and replays it offline.

This is the recipe adapter tests can use for response-parsing cassettes: vcrpy patches
urllib3 (the SDK's transport), the Authorization header is filtered out, and OAuth
secrets in form bodies and token answers are replaced before anything is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import vcr
from hs_emu_support import running, sdk

SECRET_FIELDS = ("access_token", "refresh_token", "client_secret", "client_id")


def _scrub_request(request: Any) -> Any:
    if request.body and b"client_secret" in request.body:
        form = dict(parse_qsl(request.body.decode()))
        form.update({k: "REDACTED" for k in SECRET_FIELDS if k in form})
        request.body = urlencode(form).encode()
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    body = response["body"]["string"]
    if b"access_token" in body:
        document = json.loads(body)
        document.update({k: "REDACTED" for k in SECRET_FIELDS if k in document})
        response["body"]["string"] = json.dumps(document).encode()
    return response


def _recorder() -> Any:
    return vcr.VCR(
        filter_headers=["authorization"],
        before_record_request=_scrub_request,
        before_record_response=_scrub_response,
        match_on=["method", "path", "query", "body"],
    )


def test_record_token_free_then_replay_offline(tmp_path: Path) -> None:
    cassette = tmp_path / "companies.yaml"
    with running() as emu, _recorder().use_cassette(str(cassette), record_mode="once"):
        url, config = emu.url, emu.config
        api = sdk(url, config.access_token)
        recorded = api.crm.companies.basic_api.get_page(limit=3, properties=["name"])
        api.oauth.tokens_api.create(
            grant_type="refresh_token", client_id=config.client_id,
            client_secret=config.client_secret, refresh_token=config.refresh_token,
        )  # fmt: skip
    text = cassette.read_text()
    for secret in (config.access_token, config.client_secret, config.refresh_token):
        assert secret not in text
    assert "X-HubSpot-RateLimit-Remaining" in text and "REDACTED" in text
    # The emulator is gone: the answer comes from the cassette, with any token.
    with _recorder().use_cassette(str(cassette), record_mode="none"):
        replayed = sdk(url, "any-token").crm.companies.basic_api.get_page(
            limit=3, properties=["name"]
        )
    assert replayed.to_dict() == recorded.to_dict()
