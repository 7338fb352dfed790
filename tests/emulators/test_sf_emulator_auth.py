"""Authentication: bearer tokens, the OAuth token endpoint's flows, TLS and loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sf_emu_support import connect, error_body, tls_session
from simple_salesforce.exceptions import SalesforceExpiredSession

from roleSync.emulators.salesforce import (
    NotLoopbackError,
    SalesforceEmulator,
    SalesforceEmulatorConfig,
)

COUNT = "SELECT COUNT() FROM Account"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = (
    KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


@pytest.fixture
def emu() -> Iterator[SalesforceEmulator]:
    with SalesforceEmulator() as running:
        yield running
        assert not running.internal_errors, running.internal_errors[0]


def _token_call(emu: SalesforceEmulator, form: dict[str, str]) -> requests.Response:
    return tls_session(emu).post(f"{emu.url}/services/oauth2/token", data=form, timeout=5)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _assertion(claims: dict[str, Any], key: rsa.RSAPrivateKey = KEY) -> str:
    head = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{_b64(signature)}"


def _claims(emu: SalesforceEmulator, **changes: Any) -> dict[str, Any]:
    claims = {
        "iss": emu.config.client_id,
        "sub": "integration@example.com",
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 120,
    }
    claims.update(changes)
    return claims


def test_requests_need_a_valid_bearer_token(emu: SalesforceEmulator) -> None:
    session = tls_session(emu)
    bare = session.get(f"{emu.url}/services/data/v62.0/limits/", timeout=5)
    assert bare.status_code == 401
    assert bare.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    with pytest.raises(SalesforceExpiredSession) as caught:
        connect(emu, "00DEM0000000001!not-a-token").query(COUNT)
    assert error_body(caught.value)[0]["errorCode"] == "INVALID_SESSION_ID"
    oauth_scheme = session.get(
        f"{emu.url}/services/data/v62.0/limits/",
        headers={"Authorization": f"OAuth {emu.config.access_token}"},
        timeout=5,
    )
    assert oauth_scheme.status_code == 200


def test_refresh_token_flow(emu: SalesforceEmulator) -> None:
    answer = _token_call(
        emu,
        {
            "grant_type": "refresh_token",
            "client_id": emu.config.client_id,
            "client_secret": emu.config.client_secret,
            "refresh_token": emu.config.refresh_token,
        },
    )
    assert answer.status_code == 200
    body = answer.json()
    assert {"access_token", "instance_url", "token_type", "issued_at", "signature", "id"} <= set(
        body
    )
    assert body["token_type"] == "Bearer" and body["instance_url"] == emu.url
    expected = hmac.new(
        emu.config.client_secret.encode(),
        (body["id"] + body["issued_at"]).encode(),
        hashlib.sha256,
    ).digest()
    assert base64.b64decode(body["signature"]) == expected
    assert connect(emu, body["access_token"]).query(COUNT)["totalSize"] == 0
    assert emu.tokens_issued == 1 and emu.counters["oauth_token"] == 1


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"refresh_token": "stale"}, "invalid_grant"),
        ({"client_id": "someone-else"}, "invalid_client_id"),
        ({"client_secret": "wrong"}, "invalid_client"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
    ],
)
def test_refresh_token_errors(emu: SalesforceEmulator, change: dict[str, str], error: str) -> None:
    form = {
        "grant_type": "refresh_token",
        "client_id": emu.config.client_id,
        "client_secret": emu.config.client_secret,
        "refresh_token": emu.config.refresh_token,
        **change,
    }
    answer = _token_call(emu, form)
    assert answer.status_code == 400
    assert answer.json()["error"] == error and answer.json()["error_description"]


def test_jwt_bearer_with_a_configured_key() -> None:
    config = SalesforceEmulatorConfig(jwt_public_key_pem=PUBLIC_PEM)
    with SalesforceEmulator(config) as emu:
        grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
        good = _token_call(emu, {"grant_type": grant, "assertion": _assertion(_claims(emu))})
        assert good.status_code == 200
        assert connect(emu, good.json()["access_token"]).query(COUNT)["totalSize"] == 0
        other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = _token_call(
            emu, {"grant_type": grant, "assertion": _assertion(_claims(emu), other_key)}
        )
        assert forged.status_code == 400 and forged.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"iss": "another-app"}, "invalid_client_id"),
        ({"aud": "https://evil.example.com"}, "invalid_grant"),
        ({"exp": 1_000_000_000}, "invalid_grant"),
        ({"sub": ""}, "invalid_grant"),
    ],
)
def test_jwt_bearer_claims_are_checked(
    emu: SalesforceEmulator, claims: dict[str, Any], error: str
) -> None:
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    answer = _token_call(
        emu, {"grant_type": grant, "assertion": _assertion(_claims(emu, **claims))}
    )
    assert answer.status_code == 400 and answer.json()["error"] == error


def test_jwt_bearer_without_a_key_accepts_well_formed_assertions(emu: SalesforceEmulator) -> None:
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = _claims(emu, aud=emu.url)
    answer = _token_call(emu, {"grant_type": grant, "assertion": _assertion(claims, other_key)})
    assert answer.status_code == 200
    garbage = _token_call(emu, {"grant_type": grant, "assertion": "not.a.jwt"})
    assert garbage.status_code == 400


def test_tls_needs_the_emulator_ca(emu: SalesforceEmulator) -> None:
    session = requests.Session()
    session.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        session.get(f"{emu.url}/services/data/", timeout=5)
    assert tls_session(emu).get(f"{emu.url}/services/data/", timeout=5).json()[0]["version"] == (
        "62.0"
    )


def test_newer_api_versions_and_other_methods(emu: SalesforceEmulator) -> None:
    session = tls_session(emu)
    headers = {"Authorization": f"Bearer {emu.config.access_token}"}
    newer = session.get(f"{emu.url}/services/data/v99.0/limits/", headers=headers, timeout=5)
    assert newer.status_code == 404 and newer.json()[0]["errorCode"] == "NOT_FOUND"
    wrong = session.delete(f"{emu.url}/services/data/v62.0/limits/", headers=headers, timeout=5)
    assert wrong.status_code == 405 and wrong.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


def test_request_log_never_holds_tokens(emu: SalesforceEmulator) -> None:
    connect(emu).query(COUNT)
    _token_call(
        emu,
        {"grant_type": "client_credentials", "client_id": emu.config.client_id,
         "client_secret": emu.config.client_secret},
    )  # fmt: skip
    text = repr(emu.log)
    assert emu.config.access_token not in text and emu.config.client_secret not in text
    assert "authorization" not in text.lower()
    assert emu.log[0].soql == COUNT


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com", "::"])
def test_refuses_non_loopback_hosts(host: str) -> None:
    emu = SalesforceEmulator()
    with pytest.raises(NotLoopbackError):
        emu.start(host)


def test_ipv6_loopback() -> None:
    emu = SalesforceEmulator()
    try:
        emu.start("::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with emu:
        assert emu.url.startswith("https://[::1]:")
        # simple-salesforce drops the brackets of an IPv6 host, so plain requests here.
        answer = tls_session(emu).get(
            f"{emu.url}/services/data/v62.0/limits/",
            headers={"Authorization": f"Bearer {emu.config.access_token}"},
            timeout=5,
        )
        assert answer.status_code == 200
