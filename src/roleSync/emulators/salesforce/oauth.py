"""The OAuth 2.0 token endpoint: refresh-token, client-credentials and JWT bearer flows.

JWT bearer: with `jwt_public_key_pem` configured (a PEM public key or X.509
certificate, as uploaded to a connected app) the RS256 signature is verified;
without it any well-formed RS256 assertion is accepted, as long as `iss` is the
client id, `aud` a login URL (or the emulator's own URL), `sub` a non-empty user
name (`jwt_subject` when configured) and `exp` in the future.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from roleSync.emulators.http import load_json
from roleSync.emulators.salesforce.http import Request, Response, json_response

if TYPE_CHECKING:
    from roleSync.emulators.salesforce.emulator import SalesforceEmulator

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
# An assertion may live a few minutes; clocks may disagree by a little.
MAX_ASSERTION_LIFETIME = 300
CLOCK_SKEW = 30


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def token(emu: SalesforceEmulator, request: Request) -> Response:
    form: dict[str, list[str]] = dict(request.params)
    if "application/x-www-form-urlencoded" in request.headers.get("content-type", ""):
        form.update(parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True))

    def value(name: str) -> str:
        return (form.get(name) or [""])[0]

    try:
        grant = value("grant_type")
        if grant == "refresh_token":
            _check_client(emu, value("client_id"), value("client_secret"), secret_required=False)
            if not emu.config.refresh_token or not hmac.compare_digest(
                value("refresh_token"), emu.config.refresh_token
            ):
                raise OAuthError("invalid_grant", "expired access/refresh token")
        elif grant == "client_credentials":
            _check_client(emu, value("client_id"), value("client_secret"), secret_required=True)
        elif grant == JWT_BEARER:
            _check_assertion(emu, value("assertion"))
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
    except OAuthError as exc:
        return json_response(exc.status, {"error": exc.error, "error_description": exc.description})
    access_token = emu.issue_token()
    issued_at = str(int(time.time() * 1000))
    identity = f"{emu.url}/id/{emu.config.org_id}/{emu.config.integration_user_id}"
    signature = hmac.new(
        emu.config.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
    )
    payload: dict[str, Any] = {
        "access_token": access_token,
        "signature": base64.b64encode(signature.digest()).decode(),
        "scope": "api refresh_token",
        "instance_url": emu.url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
    }
    return json_response(200, payload)


def _check_client(
    emu: SalesforceEmulator, client_id: str, secret: str, *, secret_required: bool
) -> None:
    if not hmac.compare_digest(client_id, emu.config.client_id):
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if (secret or secret_required) and not hmac.compare_digest(secret, emu.config.client_secret):
        raise OAuthError("invalid_client", "invalid client credentials")


def _b64_json(part: str) -> Any:
    padded = part + "=" * (-len(part) % 4)
    # Bounded like a request body: a header nested 100,000 deep is an invalid assertion.
    return load_json(base64.urlsafe_b64decode(padded.encode("ascii")))


def _check_assertion(emu: SalesforceEmulator, assertion: str) -> None:
    parts = assertion.split(".")
    if len(parts) != 3:
        raise OAuthError("invalid_grant", "invalid assertion")
    try:
        header, claims = _b64_json(parts[0]), _b64_json(parts[1])
        signature = base64.urlsafe_b64decode(
            (parts[2] + "=" * (-len(parts[2]) % 4)).encode("ascii")
        )
    except (ValueError, UnicodeError, binascii.Error):
        raise OAuthError("invalid_grant", "invalid assertion") from None
    if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != "RS256":
        raise OAuthError("invalid_grant", "invalid assertion: expected an RS256 JWT")
    if claims.get("iss") != emu.config.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    audiences = {*LOGIN_AUDIENCES, emu.url, *emu.config.jwt_audiences}
    if claims.get("aud") not in audiences:
        raise OAuthError("invalid_grant", "audience is invalid")
    subject = claims.get("sub")
    if (
        not isinstance(subject, str)
        or not subject
        or (emu.config.jwt_subject is not None and subject != emu.config.jwt_subject)
    ):
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    expires = claims.get("exp")
    now = time.time()
    if not isinstance(expires, (int, float)) or expires < now - CLOCK_SKEW:
        raise OAuthError("invalid_grant", "invalid assertion: expired")
    if expires > now + MAX_ASSERTION_LIFETIME + CLOCK_SKEW:
        raise OAuthError("invalid_grant", "invalid assertion: exp too far in the future")
    if emu.config.jwt_public_key_pem:
        key = _public_key(emu.config.jwt_public_key_pem)
        try:
            key.verify(
                signature,
                f"{parts[0]}.{parts[1]}".encode("ascii"),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            raise OAuthError("invalid_grant", "invalid assertion: bad signature") from None


def _public_key(pem: str) -> rsa.RSAPublicKey:
    data = pem.encode("ascii")
    key: object
    if b"BEGIN CERTIFICATE" in data:
        key = x509.load_pem_x509_certificate(data).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise OAuthError("invalid_grant", "the configured JWT key is not an RSA key")
    return key
