"""Access tokens for HubSpot: a private app's token, or OAuth tokens from a refresh token.

Secrets are read from the environment variables the profile names when the adapter
first connects, and live only in these objects and in the SDK's configuration: no
message built here contains one, and the objects' reprs are redacted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from roleSync.adapters import crm
from roleSync.errors import ConfigError
from roleSync.profile import HubSpotAuth

# Refresh an OAuth token this long before HubSpot says it expires (30 minutes after it
# was issued), so a long run does not pay a rejected request for each expiry.
EXPIRY_MARGIN_SECONDS = 60.0


class HubSpotConfigError(ConfigError):
    """The profile or the environment does not provide what the connection needs."""


def env_value(env: Mapping[str, str], name: str, setting: str) -> str:
    return crm.env_value(env, name, f"hubspot.auth.{setting}", HubSpotConfigError)


class StaticToken(crm.StaticToken):
    """A private app's access token: it does not expire, and cannot be refreshed."""

    rejected = (
        "HubSpot rejected the private app's access token (rotated, revoked, or missing "
        "a scope?) and a private app token cannot be refreshed: set the current token "
        "in the variable named by hubspot.auth.access_token_env"
    )


# (access token, seconds until it expires or None)
Exchange = Callable[[], tuple[str, float | None]]


class OAuthTokens:
    """Tokens of an OAuth app from its refresh token; `exchange` asks HubSpot for one."""

    def __init__(self, exchange: Exchange, clock: Callable[[], float] = time.monotonic) -> None:
        self._exchange = exchange
        self._clock = clock
        self._token: str | None = None
        self._expires_at: float | None = None
        self.issued = 0

    @property
    def access_token(self) -> str:
        expiring = (
            self._expires_at is not None
            and self._clock() >= self._expires_at - EXPIRY_MARGIN_SECONDS
        )
        if self._token is None or expiring:
            self.refresh()
        assert self._token is not None
        return self._token

    def refresh(self) -> None:
        token, expires_in = self._exchange()
        self._token = token
        self._expires_at = None if expires_in is None else self._clock() + expires_in
        self.issued += 1

    def __repr__(self) -> str:
        return "OAuthTokens(<redacted>)"


def secrets_of(auth: HubSpotAuth, env: Mapping[str, str]) -> dict[str, str]:
    """The values the auth method needs, from the environment (refusing blanks)."""
    if auth.method == "private_app":
        return {"access_token": env_value(env, auth.access_token_env, "access_token_env")}
    return {
        "refresh_token": env_value(env, auth.refresh_token_env, "refresh_token_env"),
        "client_id": env_value(env, auth.client_id_env, "client_id_env"),
        "client_secret": env_value(env, auth.client_secret_env, "client_secret_env"),
    }
