"""Connector profiles: one YAML file per CRM instance (see `model` for the whole story).

Split by section: `common` (shared types and defaults), `sections` (what every kind
shares), `salesforce` and `hubspot` (their own sections), `model` (the Profile itself).
"""

from roleSync.profile.common import (
    DEFAULT_DEAL_KINDS,
    DEFAULT_LIFECYCLE,
    DEFAULT_STAGES,
    METRIC_FIELD_KEYS,
    StageOutcome,
)
from roleSync.profile.data_quality import DataQualitySection
from roleSync.profile.hubspot import HubSpotAuth, HubSpotSection
from roleSync.profile.model import Profile, load_profile
from roleSync.profile.salesforce import SalesforceAuth, SalesforceSection
from roleSync.profile.sections import (
    AccountColumns,
    ContactColumns,
    DealColumns,
    GuardrailsSection,
    ImportSection,
    LocalSection,
    MetricsSection,
    OwnerColumns,
    TaskColumns,
)

__all__ = [
    "DEFAULT_DEAL_KINDS",
    "DEFAULT_LIFECYCLE",
    "DEFAULT_STAGES",
    "METRIC_FIELD_KEYS",
    "AccountColumns",
    "ContactColumns",
    "DataQualitySection",
    "DealColumns",
    "GuardrailsSection",
    "HubSpotAuth",
    "HubSpotSection",
    "ImportSection",
    "LocalSection",
    "MetricsSection",
    "OwnerColumns",
    "Profile",
    "SalesforceAuth",
    "SalesforceSection",
    "StageOutcome",
    "TaskColumns",
    "load_profile",
]
