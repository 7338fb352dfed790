"""The `salesforce:` section of a connector profile."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    Field,
    model_validator,
)

from roleSync.profile.common import EnvName, FieldName, HttpsUrl, RelatedPull, StrictSection

SALESFORCE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")
# A Salesforce field API name (Segment__c, Type, ns__Field__c). Checked because field
# names go into SOQL as identifiers, where no quoting can protect them.
SalesforceField = Annotated[
    str,
    Field(
        pattern=rf"^{SALESFORCE_NAME.pattern}$",
        description="A Salesforce field API name, e.g. Segment__c.",
    ),
]


class SalesforceAuth(StrictSection):
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


class SalesforceFields(StrictSection):
    """Which Account fields hold what roleSync reads; null: the org has no such field."""

    segment: SalesforceField | None = "Segment__c"
    region: SalesforceField | None = "Region__c"
    tier: SalesforceField | None = "Tier__c"
    lock: SalesforceField | None = "Do_Not_Route__c"
    lifecycle: SalesforceField | None = "Type"
    extra: dict[FieldName, SalesforceField] = Field(
        default_factory=lambda: {"industry": "Industry"}
    )


class SalesforceSection(StrictSection):
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
    # Extra User fields (rules: owner.fields.<name>), e.g. {regions: Sales_Regions__c}; a
    # multi-select picklist arrives as "EMEA;APAC", the list a territory `in` reads.
    owner_fields: dict[FieldName, SalesforceField] = Field(default_factory=dict)
    opportunity_type_field: SalesforceField = "Type"
    # Above this many ownership changes, Bulk API 2.0 instead of sObject Collections.
    bulk_threshold: int = Field(default=2000, ge=1)
    batch_size: int = Field(default=200, ge=1, le=200)
    # A full pull of an object with at least this many records reads it through a Bulk
    # API 2.0 query job (CSV pages of bulk_query_page_size) instead of REST query pages;
    # 0: never. Incremental pulls always use REST.
    bulk_query_threshold: int = Field(default=50_000, ge=0)
    # Records per results page (`maxRecords`), each streamed into the mirror as it
    # downloads; 0: send no maxRecords and let Salesforce choose the page size.
    bulk_query_page_size: int = Field(default=100_000, ge=0)
    # At most this share of the org's remaining daily API requests per run.
    api_budget_share: float = Field(default=0.2, gt=0, le=1)
    # Contacts and open tasks, pulled only when switched on (they cost requests).
    pull: RelatedPull = Field(default_factory=RelatedPull)
    # The custom Task field (External ID, Unique, case sensitive) holding a handoff
    # task's key, so that each task is created once.
    task_key_field: SalesforceField = "RoleSync_Key__c"
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
