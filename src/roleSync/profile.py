"""Connector profiles: one YAML file per CRM instance.

A profile says which CRM to talk to (`kind` plus the section of that kind), how its
values map onto roleSync's words (deal kinds, lifecycle), how CSV columns map onto
the book for `rolesync import`, and where role metrics are written back.

Kinds: `local` (the embedded SQLite book), `salesforce` and `hubspot`. Each kind gets
its own section (`local:`, `salesforce:`, `hubspot:`) so that adding a kind adds a
section and a Literal value, and never changes the meaning of the sections already
there. Secrets never appear in a profile: only the NAMES of the environment
variables that hold them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from roleSync.errors import UsageError
from roleSync.metrics import METRIC_NAMES
from roleSync.model import DealKind
from roleSync.rules.loader import load_yaml, validate

Lifecycle = Literal["customer", "prospect", "other"]
# Keys of `metrics.fields`: the role itself, or one of the role metrics.
METRIC_FIELD_KEYS = ("role", *METRIC_NAMES)

ProfileName = Annotated[
    str, Field(pattern=r"^[a-z0-9_-]{1,64}$", description="Profile name: a-z, 0-9, - and _.")
]
Column = Annotated[str, Field(min_length=1, description="A CSV header name.")]
FieldName = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$",
        description="Name of an extra account field, used in rules as account.fields.<name>.",
    ),
]
Destination = Annotated[
    str, Field(min_length=1, max_length=255, description="Destination field name in the CRM.")
]


def _known_metric(name: str) -> str:
    if name not in METRIC_FIELD_KEYS:
        raise ValueError(
            f"unknown metric {name!r}; expected one of: " + ", ".join(METRIC_FIELD_KEYS)
        )
    return name


MetricKey = Annotated[str, AfterValidator(_known_metric)]


def _norm(raw: str) -> str:
    # CRM picklist values drift in case and stray spaces between orgs and exports;
    # the mapping should not care.
    return raw.strip().casefold()


# Salesforce stock Opportunity.Type values and HubSpot's dealtype values.
DEFAULT_DEAL_KINDS: Mapping[str, DealKind] = {
    "New Customer": DealKind.NEW_BUSINESS,
    "Existing Customer - Upgrade": DealKind.EXPANSION,
    "Existing Customer - Replacement": DealKind.RENEWAL,
    "Existing Customer - Downgrade": DealKind.CONTRACTION,
    "newbusiness": DealKind.NEW_BUSINESS,
    "existingbusiness": DealKind.EXPANSION,
    **{kind.value: kind for kind in DealKind},
}

# Salesforce stock Account.Type values and HubSpot's lifecyclestage values.
DEFAULT_LIFECYCLE: Mapping[str, Lifecycle] = {
    "Customer - Direct": "customer",
    "Customer - Channel": "customer",
    "Prospect": "prospect",
    "customer": "customer",
    "prospect": "prospect",
    "evangelist": "customer",
    "subscriber": "prospect",
    "lead": "prospect",
    "marketingqualifiedlead": "prospect",
    "salesqualifiedlead": "prospect",
    "opportunity": "prospect",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalSection(_Strict):
    """Where the embedded SQLite book lives (kind: local)."""

    path: str | None = Field(
        default=None,
        min_length=1,
        description="SQLite book file, relative to the profile's folder; default <name>.db.",
    )


# -- kind: salesforce ---------------------------------------------------------------

_SF_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")
# A Salesforce field API name (Segment__c, Type, ns__Field__c). Checked because field
# names go into SOQL as identifiers, where no quoting can protect them.
SalesforceField = Annotated[
    str,
    Field(
        pattern=rf"^{_SF_NAME.pattern}$",
        description="A Salesforce field API name, e.g. Segment__c.",
    ),
]
EnvName = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$",
        description="NAME of an environment variable (never the secret itself).",
    ),
]
HttpsUrl = Annotated[
    str,
    Field(pattern=r"^https://[^\s/?#]+(/[^\s?#]*)?$", description="An https:// URL."),
]


class SalesforceAuth(_Strict):
    """How the adapter gets an access token; every secret by environment variable name."""

    method: Literal["access_token", "refresh_token", "jwt"] = "access_token"
    access_token_env: EnvName = "SF_ACCESS_TOKEN"
    refresh_token_env: EnvName = "SF_REFRESH_TOKEN"
    client_id_env: EnvName = "SF_CLIENT_ID"
    # Optional for refresh_token (a connected app without a secret); unused for jwt.
    client_secret_env: EnvName | None = "SF_CLIENT_SECRET"
    username_env: EnvName = "SF_USERNAME"
    private_key_file_env: EnvName = "SF_PRIVATE_KEY_FILE"
    token_url: HttpsUrl = "https://login.salesforce.com/services/oauth2/token"
    # The JWT `aud` claim; default: the token URL's origin (login or test.salesforce.com).
    audience: HttpsUrl | None = None


class SalesforceFields(_Strict):
    """Which Account fields hold what roleSync reads; null: the org has no such field."""

    segment: SalesforceField | None = "Segment__c"
    region: SalesforceField | None = "Region__c"
    tier: SalesforceField | None = "Tier__c"
    lock: SalesforceField | None = "Do_Not_Route__c"
    lifecycle: SalesforceField | None = "Type"
    extra: dict[FieldName, SalesforceField] = Field(
        default_factory=lambda: {"industry": "Industry"}
    )


class SalesforceSection(_Strict):
    """Which org, how to authenticate, and where roleSync's words live in it."""

    # Optional for refresh_token and jwt: the token response names the instance.
    instance_url: HttpsUrl | None = None
    # NAME of an environment variable that, when set, overrides instance_url (one
    # profile for several sandboxes; the emulator's URL).
    instance_url_env: EnvName | None = None
    api_version: str = Field(default="62.0", pattern=r"^\d{2,3}\.0$")
    auth: SalesforceAuth = Field(default_factory=SalesforceAuth)
    # A PEM bundle (corporate TLS inspection, the emulator's CA), relative to the profile.
    ca_bundle: str | None = Field(default=None, min_length=1)
    # NAME of an environment variable that, when set, overrides ca_bundle.
    ca_bundle_env: EnvName | None = None
    fields: SalesforceFields = Field(default_factory=SalesforceFields)
    opportunity_type_field: SalesforceField = "Type"
    # Above this many ownership changes, Bulk API 2.0 instead of sObject Collections.
    bulk_threshold: int = Field(default=2000, ge=1)
    batch_size: int = Field(default=200, ge=1, le=200)
    # At most this share of the org's remaining daily API requests per run.
    api_budget_share: float = Field(default=0.2, gt=0, le=1)
    # Mirror of the org (local-book format), relative to state_dir.
    mirror: str = Field(default="mirror.db", min_length=1)

    @model_validator(mode="after")
    def _instance_for_access_token(self) -> SalesforceSection:
        if self.auth.method == "access_token" and not (self.instance_url or self.instance_url_env):
            raise ValueError(
                "instance_url (or instance_url_env) is required with auth method access_token"
            )
        return self


# -- kind: hubspot ------------------------------------------------------------------

# HubSpot internal property names: lower-case letters, digits and underscores.
_HS_NAME = re.compile(r"[a-z][a-z0-9_]{0,99}")
HubSpotProperty = Annotated[
    str,
    Field(
        pattern=rf"^{_HS_NAME.pattern}$",
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


class HubSpotAuth(_Strict):
    """A private app's token, or an OAuth app's refresh token; secrets by env-var NAME."""

    method: Literal["private_app", "oauth"] = "private_app"
    access_token_env: EnvName = "HUBSPOT_ACCESS_TOKEN"
    refresh_token_env: EnvName = "HUBSPOT_REFRESH_TOKEN"
    client_id_env: EnvName = "HUBSPOT_CLIENT_ID"
    client_secret_env: EnvName = "HUBSPOT_CLIENT_SECRET"
    # Default: the host's /oauth/v1/token (https://api.hubapi.com/oauth/v1/token).
    token_url: HubSpotTokenUrl | None = None


class HubSpotProperties(_Strict):
    """Which company properties hold what roleSync reads; null: the portal has none."""

    segment: HubSpotProperty | None = "segment"
    region: HubSpotProperty | None = "region"
    tier: HubSpotProperty | None = "tier"
    lock: HubSpotProperty | None = "do_not_route"
    lifecycle: HubSpotProperty | None = "lifecyclestage"
    extra: dict[FieldName, HubSpotProperty] = Field(
        default_factory=lambda: {"industry": "industry"}
    )


class HubSpotRateLimit(_Strict):
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


class HubSpotSection(_Strict):
    """Which portal, how to authenticate, and where roleSync's words live in it."""

    host: HubSpotHost = "https://api.hubapi.com"
    # NAME of an environment variable that, when set, overrides host (the emulator).
    host_env: EnvName | None = None
    auth: HubSpotAuth = Field(default_factory=HubSpotAuth)
    # A PEM bundle to trust (corporate TLS inspection), relative to the profile.
    ca_bundle: str | None = Field(default=None, min_length=1)
    properties: HubSpotProperties = Field(default_factory=HubSpotProperties)
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
    # Mirror of the portal (local-book format), relative to state_dir.
    mirror: str = Field(default="mirror.db", min_length=1)

    @property
    def token_url(self) -> str:
        return self.auth.token_url or f"{self.host.rstrip('/')}/oauth/v1/token"


# Import columns: a None column means "not in the CSV": an inserted row gets the
# field's default and an updated row keeps what the book holds.
class OwnerColumns(_Strict):
    id: Column = "id"
    name: Column = "name"
    email: Column | None = "email"
    title: Column | None = "title"
    active: Column | None = "active"


class AccountColumns(_Strict):
    id: Column = "id"
    name: Column = "name"
    owner: Column | None = "owner_id"
    lifecycle: Column | None = "lifecycle"
    segment: Column | None = "segment"
    region: Column | None = "region"
    tier: Column | None = "tier"
    locked: Column | None = "locked"
    created: Column | None = "created"
    updated: Column | None = "updated"
    fields: dict[FieldName, Column] = Field(default_factory=dict)


class DealColumns(_Strict):
    id: Column = "id"
    account: Column = "account_id"
    owner: Column | None = "owner_id"
    kind: Column | None = "kind"
    stage: Column = "stage"
    closed: Column = "closed"
    won: Column = "won"
    amount: Column | None = "amount"
    created: Column = "created"
    close_date: Column | None = "close_date"


class ImportSection(_Strict):
    owners: OwnerColumns = Field(default_factory=OwnerColumns)
    accounts: AccountColumns = Field(default_factory=AccountColumns)
    deals: DealColumns = Field(default_factory=DealColumns)


def _default_metric_fields() -> dict[str, str]:
    return {name: name for name in METRIC_FIELD_KEYS}


class MetricsSection(_Strict):
    write: bool = True
    # kind hubspot: properties of the users object (one record per seller), or of
    # companies (each company carries its owner's role and metrics; see docs/hubspot.md).
    destination: Literal["users", "companies"] | None = None
    fields: dict[MetricKey, Destination] = Field(default_factory=_default_metric_fields)

    @model_validator(mode="after")
    def _distinct_destinations(self) -> MetricsSection:
        seen: dict[str, str] = {}
        for key, destination in self.fields.items():
            if destination in seen:
                raise ValueError(f"{key!r} and {seen[destination]!r} both write to {destination!r}")
            seen[destination] = key
        return self


class GuardrailsSection(_Strict):
    """Limits on one run's ownership changes. A plan above either is saved and nothing is
    written (exit 3) unless the run is given --allow-large: a bad rule edit must not be
    able to reassign the whole book."""

    max_changes: int = Field(default=500, ge=0)
    # Share of the book's accounts one run may move (0.2: a fifth of the book).
    max_share: float = Field(default=0.2, ge=0, le=1)


class StateSection(_Strict):
    """Where runs, the apply journal, the audit log and round-robin positions live."""

    path: str = Field(default="state.db", min_length=1)  # SQLite file, relative to state_dir


def _check_unique_normalized(mapping: Mapping[str, object]) -> None:
    seen: dict[str, str] = {}
    for raw in mapping:
        key = _norm(raw)
        if not key:
            raise ValueError("a blank CRM value cannot be mapped (blank is always unmapped)")
        if key in seen:
            raise ValueError(
                f"{seen[key]!r} and {raw!r} are the same value once "
                "case and surrounding spaces are ignored"
            )
        seen[key] = raw


# (deal_kinds as given, lifecycle as given, normalized deal kinds, normalized lifecycle)
_Lookup = tuple[dict[str, DealKind], dict[str, Lifecycle], dict[str, DealKind], dict[str, str]]


class Profile(_Strict):
    """A validated connector profile. Build it with `load_profile` or `for_local_book`."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True
    )

    version: Literal[1]
    kind: Literal["local", "salesforce", "hubspot"]
    name: ProfileName
    local: LocalSection | None = None
    salesforce: SalesforceSection | None = None
    hubspot: HubSpotSection | None = None
    state_dir: str = Field(default=".rolesync", min_length=1)
    # A section given in the file replaces the default section as a whole, so what
    # the file says is all there is (plus the canonical names, see `deal_kind`).
    deal_kinds: dict[str, DealKind] = Field(default_factory=lambda: dict(DEFAULT_DEAL_KINDS))
    lifecycle: dict[str, Lifecycle] = Field(default_factory=lambda: dict(DEFAULT_LIFECYCLE))
    import_: ImportSection = Field(default_factory=ImportSection, alias="import")
    metrics: MetricsSection = Field(default_factory=MetricsSection)
    guardrails: GuardrailsSection = Field(default_factory=GuardrailsSection)
    state: StateSection = Field(default_factory=StateSection)

    # The folder relative paths are resolved against; not part of the YAML.
    _base_dir: Path | None = PrivateAttr(default=None)
    _lookup: _Lookup | None = PrivateAttr(default=None)

    @field_validator("deal_kinds", "lifecycle")
    @classmethod
    def _unique_keys(cls, mapping: dict[str, Any]) -> dict[str, Any]:
        _check_unique_normalized(mapping)
        return mapping

    @model_validator(mode="after")
    def _check(self) -> Profile:
        # Each kind's own section is only meaningful with that kind.
        for section in ("local", "salesforce", "hubspot"):
            if self.kind != section and getattr(self, section) is not None:
                raise ValueError(
                    f"section {section!r} is only meaningful with kind: {section}, "
                    f"not kind: {self.kind}"
                )
        if self.kind == "salesforce":
            if self.salesforce is None:
                raise ValueError("kind: salesforce needs a 'salesforce' section")
            if self.metrics.write and "fields" not in self.metrics.model_fields_set:
                # The default destinations (won_amount, ...) are not Salesforce field
                # names; writing them would fail on the first pull with INVALID_FIELD.
                raise ValueError(
                    "kind: salesforce writes role metrics into User fields: list them in "
                    "metrics.fields (e.g. role: Sales_Role__c), or set metrics.write: false"
                )
            bad = [d for d in self.metrics.fields.values() if not _SF_NAME.fullmatch(d)]
            if bad:
                raise ValueError(
                    "metrics.fields must name Salesforce User fields (API names such as "
                    "Sales_Role__c); not field names: " + ", ".join(repr(d) for d in bad)
                )
        if self.metrics.destination is not None and self.kind != "hubspot":
            raise ValueError("metrics.destination is only meaningful with kind: hubspot")
        if self.kind == "hubspot":
            self._check_hubspot()
        return self

    def _check_hubspot(self) -> None:
        if self.hubspot is None:
            raise ValueError("kind: hubspot needs a 'hubspot' section")
        if not self.metrics.write:
            return
        if "fields" not in self.metrics.model_fields_set:
            raise ValueError(
                "kind: hubspot writes role metrics into HubSpot properties: list them in "
                "metrics.fields (e.g. role: rolesync_role), or set metrics.write: false"
            )
        bad = [d for d in self.metrics.fields.values() if not _HS_NAME.fullmatch(d)]
        if bad:
            raise ValueError(
                "metrics.fields must name HubSpot properties (internal names: lower-case "
                "letters, digits and _, e.g. rolesync_role); not: "
                + ", ".join(repr(d) for d in bad)
            )
        if self.metrics.destination == "companies":
            mapped = self.hubspot.properties
            named = (mapped.segment, mapped.region, mapped.tier, mapped.lock, mapped.lifecycle)
            used = {n for n in named if n is not None} | set(mapped.extra.values())
            clash = sorted(used & set(self.metrics.fields.values()))
            if clash:
                raise ValueError(
                    "metrics.fields would overwrite company properties roleSync reads: "
                    + ", ".join(clash)
                )

    def _tables(self) -> tuple[dict[str, DealKind], dict[str, str]]:
        """Normalized lookup tables, built once per mapping object.

        Keyed on the identity of the mappings rather than built in model_post_init,
        because `model_copy(update=...)` replaces fields without re-initialising.
        """
        cached = self._lookup
        if cached is None or cached[0] is not self.deal_kinds or cached[1] is not self.lifecycle:
            # Canonical names always map to themselves, so data already in roleSync's
            # words imports under any profile; the file's own entries take precedence.
            kinds = {kind.value: kind for kind in DealKind}
            kinds.update({_norm(k): v for k, v in self.deal_kinds.items()})
            stages: dict[str, str] = {name: name for name in ("customer", "prospect", "other")}
            stages.update({_norm(k): v for k, v in self.lifecycle.items()})
            cached = (self.deal_kinds, self.lifecycle, kinds, stages)
            self._lookup = cached
        return cached[2], cached[3]

    # -- value mapping ---------------------------------------------------------

    def deal_kind(self, raw: str | None) -> DealKind | None:
        """The deal kind of a CRM deal-type value; None when blank or unmapped (Book infers)."""
        if raw is None:
            return None
        return self._tables()[0].get(_norm(raw))

    def lifecycle_of(self, raw: str | None) -> str:
        """Canonical lifecycle of a CRM value: "" when blank, "other" when unmapped."""
        key = _norm(raw or "")
        if not key:
            return ""
        return self._tables()[1].get(key, "other")

    # -- paths -----------------------------------------------------------------

    @property
    def base_dir(self) -> Path:
        """The profile file's folder; the working directory for profiles built in memory."""
        return self._base_dir if self._base_dir is not None else Path.cwd()

    @property
    def book_path(self) -> Path:
        """Absolute path of the local SQLite book."""
        if self.kind != "local":
            raise UsageError(f"profile {self.name!r} of kind {self.kind} has no local book")
        relative = self.local.path if self.local and self.local.path else f"{self.name}.db"
        return (self.base_dir / relative).resolve()

    @property
    def ca_bundle_path(self) -> Path | None:
        """Absolute path of the Salesforce CA bundle, if the profile names one."""
        if self.salesforce is None or self.salesforce.ca_bundle is None:
            return None
        return (self.base_dir / self.salesforce.ca_bundle).resolve()

    @property
    def hubspot_ca_bundle_path(self) -> Path | None:
        """Absolute path of the HubSpot CA bundle, if the profile names one."""
        if self.hubspot is None or self.hubspot.ca_bundle is None:
            return None
        return (self.base_dir / self.hubspot.ca_bundle).resolve()

    @property
    def metrics_destination(self) -> str:
        """Where a hubspot profile's role metrics go (users unless it says companies)."""
        return self.metrics.destination or "users"

    @property
    def mirror_path(self) -> Path:
        """Absolute path of a remote CRM's local mirror (local-book format)."""
        section = self.salesforce or self.hubspot
        if section is None:
            raise UsageError(f"profile {self.name!r} of kind {self.kind} has no mirror")
        return (self.state_path / section.mirror).resolve()

    @property
    def state_path(self) -> Path:
        """Absolute path of the folder where runs and reports go."""
        return (self.base_dir / self.state_dir).resolve()

    def with_base_dir(self, base_dir: Path) -> Profile:
        """This profile, resolving relative paths against `base_dir`."""
        copy = self.model_copy()
        copy._base_dir = base_dir.resolve()
        return copy

    @classmethod
    def for_local_book(cls, path: Path, name: str = "local") -> Profile:
        """A default profile over the SQLite book at `path` (state next to it)."""
        path = path.resolve()
        profile = cls.model_validate(
            {"version": 1, "kind": "local", "name": name, "local": {"path": path.name}}
        )
        return profile.with_base_dir(path.parent)


def load_profile(path: Path) -> Profile:
    """Read and validate a profile file; InputError with `file:line:col` on any problem."""
    loaded = load_yaml(path)
    return validate(loaded, Profile).with_base_dir(path.parent)
