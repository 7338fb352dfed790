"""The `hubspot:` section of a connector profile."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import (
    Field,
)

from roleSync.profile.common import EnvName, FieldName, RelatedPull, StrictSection

HUBSPOT_NAME = re.compile(r"[a-z][a-z0-9_]{0,99}")
HubSpotProperty = Annotated[
    str,
    Field(
        pattern=rf"^{HUBSPOT_NAME.pattern}$",
        description="A HubSpot property's internal name, e.g. lifecyclestage.",
    ),
]
# https anywhere; plain http only to this machine (the emulator): a token must never
# cross a network in clear text.
HubSpotHost = Annotated[
    str,
    Field(
        pattern=r"^(https://[^\s/?#]+|http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?)/?$",
        description="API origin: https://..., or http:// on a loopback address.",
    ),
]
HubSpotTokenUrl = Annotated[
    str,
    Field(
        pattern=r"^(https://[^\s/?#]+|http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?)"
        r"/oauth/v1/token$",
        description="HubSpot's OAuth token endpoint: <origin>/oauth/v1/token.",
    ),
]
# Requests per 10-second window by HubSpot product tier (per app, per portal).
HUBSPOT_TIERS: Mapping[str, int] = {
    "free": 100,
    "starter": 100,
    "professional": 190,
    "enterprise": 190,
    "oauth_app": 110,
}


class HubSpotAuth(StrictSection):
    """A private app's token, or an OAuth app's refresh token; secrets by env-var NAME."""

    method: Literal["private_app", "oauth"] = "private_app"
    access_token_env: EnvName = "HUBSPOT_ACCESS_TOKEN"
    refresh_token_env: EnvName = "HUBSPOT_REFRESH_TOKEN"
    client_id_env: EnvName = "HUBSPOT_CLIENT_ID"
    client_secret_env: EnvName = "HUBSPOT_CLIENT_SECRET"
    # Default: the host's /oauth/v1/token (https://api.hubapi.com/oauth/v1/token).
    token_url: HubSpotTokenUrl | None = None


class HubSpotProperties(StrictSection):
    """Which company properties hold what roleSync reads; null: the portal has none."""

    segment: HubSpotProperty | None = "segment"
    region: HubSpotProperty | None = "region"
    tier: HubSpotProperty | None = "tier"
    lock: HubSpotProperty | None = "do_not_route"
    lifecycle: HubSpotProperty | None = "lifecyclestage"
    extra: dict[FieldName, HubSpotProperty] = Field(
        default_factory=lambda: {"industry": "industry"}
    )


class HubSpotRateLimit(StrictSection):
    """The portal's burst limit (a starting point: the X-HubSpot-RateLimit-* headers of
    each answer take over) and search's own limit."""

    tier: Literal["free", "starter", "professional", "enterprise", "oauth_app"] = "free"
    # An explicit ceiling of requests per interval: never exceeded, whatever the headers
    # allow (leave room for other integrations sharing the app).
    burst: int | None = Field(default=None, ge=1, le=10_000)
    interval_ms: int = Field(default=10_000, ge=100, le=600_000)
    search_per_second: float = Field(default=4.0, gt=0, le=1000)

    @property
    def assumed_burst(self) -> int:
        return self.burst if self.burst is not None else HUBSPOT_TIERS[self.tier]


class HubSpotSection(StrictSection):
    """Which portal, how to authenticate, and where roleSync's words live in it."""

    host: HubSpotHost = "https://api.hubapi.com"
    # NAME of an environment variable that, when set, overrides host (the emulator).
    host_env: EnvName | None = None
    auth: HubSpotAuth = Field(default_factory=HubSpotAuth)
    # A PEM bundle to trust (corporate TLS inspection), relative to the profile.
    ca_bundle: str | None = Field(default=None, min_length=1)
    properties: HubSpotProperties = Field(default_factory=HubSpotProperties)
    # Extra owner fields (rules: owner.fields.<name>), e.g. {regions: sales_regions}. Owners
    # hold no properties: these are properties of each owner's record in the users object
    # (matched by hs_internal_user_id); a multiple-checkboxes value reads "EMEA;APAC".
    owner_properties: dict[FieldName, HubSpotProperty] = Field(default_factory=dict)
    deal_type_property: HubSpotProperty = "dealtype"
    # Property group `rolesync setup` creates properties in; default: the object's
    # stock group (companyinformation, userinformation).
    property_group: HubSpotProperty | None = None
    rate_limit: HubSpotRateLimit = Field(default_factory=HubSpotRateLimit)
    # Records per batch read/update and per v4 association read (HubSpot's maximum: 100).
    batch_size: int = Field(default=100, ge=1, le=100)
    # Incremental pulls re-read this many seconds before the cursor: search lags writes.
    search_overlap_seconds: int = Field(default=300, ge=0, le=86_400)
    # A full pull (which also drops records deleted for good) at least this often.
    full_pull_every_days: float = Field(default=7.0, gt=0, le=365)
    # Full pulls of more companies (or deals) than this read them through the CRM exports
    # API (a few requests instead of one per 100 records); 0: always the list endpoints.
    export_threshold: int = Field(default=50_000, ge=0)
    # Contacts and open tasks, pulled only when switched on (they cost requests).
    pull: RelatedPull = Field(default_factory=RelatedPull)
    # Mirror of the portal (local-book format), relative to state_dir.
    mirror: str = Field(default="mirror.db", min_length=1)

    @property
    def token_url(self) -> str:
        return self.auth.token_url or f"{self.host.rstrip('/')}/oauth/v1/token"


# Import columns: a None column means "not in the CSV": an inserted row gets the
# field's default and an updated row keeps what the book holds.
