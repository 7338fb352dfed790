"""Connector profiles: one YAML file per CRM instance (see `model` for the whole story).

Split by section: `common` (shared types and defaults), `sections` (what every kind
shares), `salesforce` and `hubspot` (their own sections), `model` (the Profile itself).

The names below load on first use (PEP 562): importing one submodule, such as
`roleSync.profile.common`, does not import the rest, which keeps start-up fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

_WHERE = {
    "DEFAULT_DEAL_KINDS": "roleSync.profile.common",
    "DEFAULT_LIFECYCLE": "roleSync.profile.common",
    "DEFAULT_STAGES": "roleSync.profile.common",
    "METRIC_FIELD_KEYS": "roleSync.profile.common",
    "StageOutcome": "roleSync.profile.common",
    "DataQualitySection": "roleSync.profile.data_quality",
    "HubSpotAuth": "roleSync.profile.hubspot",
    "HubSpotSection": "roleSync.profile.hubspot",
    "Profile": "roleSync.profile.model",
    "load_profile": "roleSync.profile.model",
    "SalesforceAuth": "roleSync.profile.salesforce",
    "SalesforceSection": "roleSync.profile.salesforce",
    "AccountColumns": "roleSync.profile.sections",
    "ContactColumns": "roleSync.profile.sections",
    "DealColumns": "roleSync.profile.sections",
    "GuardrailsSection": "roleSync.profile.sections",
    "ImportSection": "roleSync.profile.sections",
    "LocalSection": "roleSync.profile.sections",
    "MetricsSection": "roleSync.profile.sections",
    "OwnerColumns": "roleSync.profile.sections",
    "TaskColumns": "roleSync.profile.sections",
}

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


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_WHERE[name]), name)
    globals()[name] = value  # once loaded, an ordinary attribute
    return value
