"""Auth against the emulator's token endpoint: refresh token, JWT bearer, failures, and
no token in any message or log line."""

from __future__ import annotations

import logging
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sf_helpers import adapter_for, env_for, new_emulator

from roleSync.adapters.resilience import AuthenticationError, RequestError
from roleSync.adapters.salesforce.auth import SalesforceConfigError, jwt_assertion
from roleSync.emulators.salesforce import SalesforceEmulator, SalesforceFaults

SUBJECT = "integration@example.com"


def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def test_jwt_assertion_claims() -> None:
    private, public = _key_pair()
    token = jwt_assertion("cid", SUBJECT, "https://login.salesforce.com", private, 1_000)
    claims = jwt.decode(
        token, public, algorithms=["RS256"], audience="https://login.salesforce.com",
        options={"verify_exp": False},
    )  # fmt: skip
    assert claims == {
        "iss": "cid",
        "sub": SUBJECT,
        "aud": "https://login.salesforce.com",
        "exp": 1_170,
    }


def test_refresh_token_flow_takes_the_instance_from_the_token_response(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    adapter = adapter_for(small_org, tmp_path, method="refresh_token", instance_url=None)
    assert len(adapter.pull().accounts) == 300
    assert small_org.tokens_issued == 1
    assert small_org.counters["oauth_token"] == 1


def test_jwt_bearer_flow_with_a_verified_signature(tmp_path: Path) -> None:
    private, public = _key_pair()
    key_file = tmp_path / "server.key"
    key_file.write_text(private)
    emu = new_emulator(jwt_public_key_pem=public, jwt_subject=SUBJECT)
    emu.seed(users=5, accounts=20, opportunities=10, seed=2)
    with emu:
        env = {
            "SF_CLIENT_ID": emu.config.client_id,
            "SF_USERNAME": SUBJECT,
            "SF_PRIVATE_KEY_FILE": str(key_file),
        }
        emu.set_faults(SalesforceFaults(invalid_session_after=2))
        adapter = adapter_for(emu, tmp_path, env=env, method="jwt")
        assert len(adapter.pull().accounts) == 20  # 3 queries: one refresh on the way
        assert emu.tokens_issued == 2

        _, other_public = _key_pair()
        emu.config.jwt_public_key_pem = other_public
        with pytest.raises(AuthenticationError, match=r"token endpoint .* refused"):
            adapter_for(emu, tmp_path / "other", env=env, method="jwt").pull()


def test_a_refused_refresh_token_is_a_clear_error_without_secrets(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    env = {**env_for(small_org), "SF_REFRESH_TOKEN": "not-the-right-one"}
    with pytest.raises(AuthenticationError) as caught:
        adapter_for(small_org, tmp_path, env=env, method="refresh_token").pull()
    message = str(caught.value)
    assert "invalid_grant" in message
    assert "not-the-right-one" not in message
    assert small_org.config.client_secret not in message


def test_missing_environment_variable_is_named(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    with pytest.raises(SalesforceConfigError, match="SF_REFRESH_TOKEN is not set"):
        adapter_for(small_org, tmp_path, env={"SF_CLIENT_ID": "x"}, method="refresh_token").pull()


def test_no_token_in_logs_or_errors(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    emu = new_emulator(SalesforceFaults(unavailable_every=3, drop_every=5, invalid_session_after=4))
    emu.seed(users=5, accounts=50, opportunities=20, seed=2)
    caplog.set_level(logging.DEBUG)
    with emu:
        adapter = adapter_for(emu, tmp_path, method="refresh_token")
        adapter.pull()
        issued = emu.tokens_issued
        assert issued >= 1
        text = caplog.text + repr(adapter.client.sf().session.tokens)  # type: ignore[attr-defined]
    for secret in (
        emu.config.access_token,
        emu.config.refresh_token,
        emu.config.client_secret,
        "Bearer ",
        "00DEM0000000001!",  # the shape of every token the emulator issues
    ):
        assert secret not in text


def test_an_untrusted_certificate_fails_at_once_with_a_hint(
    small_org: SalesforceEmulator, tmp_path: Path
) -> None:
    adapter = adapter_for(small_org, tmp_path, ca_bundle=None)
    with pytest.raises(RequestError, match=r"TLS certificate verification failed"):
        adapter.pull()
    assert adapter.requests_sent == 1  # not retried
