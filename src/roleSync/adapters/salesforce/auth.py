"""Access tokens for Salesforce: a given token, or the OAuth refresh-token and JWT bearer
flows, performed here against the profile's token URL.

The SDK's own login helpers are hard-wired to *.salesforce.com and re-log-in in a loop
on 401; doing the exchange here lets it go through the retrying session, against any
token URL (a My Domain, a sandbox, the emulator), and lets the session decide when a
401 deserves exactly one refresh.

Secrets are read from the environment variables the profile names, when the adapter
connects, and are kept only in these objects: no message built here contains one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests

from roleSync.adapters import crm
from roleSync.adapters.resilience import AuthenticationError, RetryingSession
from roleSync.errors import ConfigError
from roleSync.profile import SalesforceAuth

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Salesforce accepts a JWT whose expiry is at most 3 minutes ahead.
JWT_LIFETIME_SECONDS = 170


class SalesforceConfigError(ConfigError):
    """The profile or the environment does not provide what the auth method needs."""


def _env(env: Mapping[str, str], name: str, setting: str) -> str:
    return crm.env_value(env, name, f"salesforce.auth.{setting}", SalesforceConfigError)


@dataclass(frozen=True, slots=True)
class Grant:
    access_token: str
    instance_url: str | None


class StaticToken(crm.StaticToken):
    """A token obtained elsewhere (`sf org display`, a secrets manager): no refresh."""

    rejected = (
        "Salesforce rejected the access token (expired or revoked) and auth method "
        "access_token cannot refresh it: set a new token, or use refresh_token or jwt"
    )


class OAuthFlow:
    """A token from the OAuth token endpoint; `refresh` asks for a new one.

    `form` builds the request body afresh each time (a JWT assertion expires).
    """

    def __init__(
        self, session: RetryingSession, token_url: str, form: Callable[[], dict[str, str]]
    ) -> None:
        self._session = session
        self._token_url = token_url
        self._form = form
        self._grant: Grant | None = None

    def grant(self) -> Grant:
        if self._grant is None:
            self.refresh()
        assert self._grant is not None
        return self._grant

    @property
    def access_token(self) -> str:
        return self.grant().access_token

    def refresh(self) -> None:
        # Replayable: asking twice only yields a second valid token.
        response = self._session.send_with_policy(
            "POST",
            self._token_url,
            True,
            data=self._form(),
            headers={"Accept": "application/json"},
        )
        body = _json(response)
        token = body.get("access_token")
        if response.status_code != 200 or not isinstance(token, str) or not token:
            # OAuth errors are {"error": ..., "error_description": ...}: no secret in them.
            error = body.get("error", f"HTTP {response.status_code}")
            description = body.get("error_description", "")
            raise AuthenticationError(
                f"the token endpoint {self._token_url} refused the request: {error}"
                + (f" ({description})" if description else "")
            )
        instance = body.get("instance_url")
        self._grant = Grant(token, instance if isinstance(instance, str) else None)

    def __repr__(self) -> str:
        return f"OAuthFlow({self._token_url!r}, <redacted>)"


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except (ValueError, RecursionError):  # RecursionError: nested without end
        return {}
    return data if isinstance(data, dict) else {}


def jwt_assertion(
    client_id: str, username: str, audience: str, private_key: str, now: float
) -> str:
    """The signed RS256 assertion of the JWT bearer flow."""
    claims = {
        "iss": client_id,
        "sub": username,
        "aud": audience,
        "exp": int(now) + JWT_LIFETIME_SECONDS,
    }
    return jwt.encode(claims, private_key, algorithm="RS256")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def token_source(
    auth: SalesforceAuth,
    env: Mapping[str, str],
    session: RetryingSession,
    clock: Callable[[], float] = time.time,
) -> StaticToken | OAuthFlow:
    """The token source the profile's auth section describes, secrets read from `env`."""
    if auth.method == "access_token":
        return StaticToken(_env(env, auth.access_token_env, "access_token_env"))
    client_id = _env(env, auth.client_id_env, "client_id_env")
    if auth.method == "refresh_token":
        refresh_token = _env(env, auth.refresh_token_env, "refresh_token_env")
        secret = env.get(auth.client_secret_env, "").strip() if auth.client_secret_env else ""

        def refresh_form() -> dict[str, str]:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": client_id,
            }
            if secret:
                form["client_secret"] = secret
            return form

        return OAuthFlow(session, auth.token_url, refresh_form)
    username = _env(env, auth.username_env, "username_env")
    key_path = Path(_env(env, auth.private_key_file_env, "private_key_file_env"))
    try:
        private_key = key_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SalesforceConfigError(
            f"cannot read the private key named by {auth.private_key_file_env}: "
            f"{exc.strerror or exc}"
        ) from None
    audience = auth.audience or _origin(auth.token_url)

    def jwt_form() -> dict[str, str]:
        try:
            assertion = jwt_assertion(client_id, username, audience, private_key, clock())
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise SalesforceConfigError(
                f"cannot sign the JWT with the key named by {auth.private_key_file_env}: "
                f"{type(exc).__name__}"
            ) from None
        return {"grant_type": JWT_GRANT, "assertion": assertion}

    return OAuthFlow(session, auth.token_url, jwt_form)
