"""Shared pieces of connector profiles: the strict base model, field types, defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
)

from roleSync.metrics import METRIC_NAMES
from roleSync.model import DealKind
from roleSync.rules.suggest import did_you_mean

Lifecycle = Literal["customer", "prospect", "other"]
# What a deal stage says about the deal, for sources without closed/won flags (CSV
# report exports): IsClosed/IsWon or hs_is_closed(_won) take precedence when present.
StageOutcome = Literal["open", "won", "lost"]
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
        description="Name of an extra field, used in rules as account.fields.<name> "
        "(account fields) or owner.fields.<name> (owner fields).",
    ),
]
Destination = Annotated[
    str, Field(min_length=1, max_length=255, description="Destination field name in the CRM.")
]


def _known_metric(name: str) -> str:
    if name not in METRIC_FIELD_KEYS:
        hint = did_you_mean(name, METRIC_FIELD_KEYS)
        raise ValueError(
            f"unknown metric {name!r}{hint}; expected one of: " + ", ".join(METRIC_FIELD_KEYS)
        )
    return name


MetricKey = Annotated[str, AfterValidator(_known_metric)]


def normalized(raw: str) -> str:
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


# Salesforce stock Opportunity stages and HubSpot's default sales pipeline (labels, as
# exports write them, and internal values, as the API sends them).
DEFAULT_STAGES: Mapping[str, StageOutcome] = {
    "Prospecting": "open",
    "Qualification": "open",
    "Needs Analysis": "open",
    "Value Proposition": "open",
    "Id. Decision Makers": "open",
    "Perception Analysis": "open",
    "Proposal/Price Quote": "open",
    "Negotiation/Review": "open",
    "Closed Won": "won",
    "Closed Lost": "lost",
    "Appointment Scheduled": "open",
    "Qualified To Buy": "open",
    "Presentation Scheduled": "open",
    "Decision Maker Bought-In": "open",
    "Contract Sent": "open",
    "appointmentscheduled": "open",
    "qualifiedtobuy": "open",
    "presentationscheduled": "open",
    "decisionmakerboughtin": "open",
    "contractsent": "open",
    "closedwon": "won",
    "closedlost": "lost",
}


class StrictSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class RelatedPull(StrictSection):
    """Which records that belong to an account a CRM pull reads besides owners, accounts
    and deals (what a handoff can carry). Off by default: each costs requests on every
    pull (about one per 2,000 records in Salesforce, two per 100 in HubSpot on a full
    pull), and only a handoff that carries them needs them."""

    contacts: bool = False
    tasks: bool = False  # open tasks only


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


def check_unique_normalized(mapping: Mapping[str, object]) -> None:
    seen: dict[str, str] = {}
    for raw in mapping:
        key = normalized(raw)
        if not key:
            raise ValueError("a blank CRM value cannot be mapped (blank is always unmapped)")
        if key in seen:
            raise ValueError(
                f"{seen[key]!r} and {raw!r} are the same value once "
                "case and surrounding spaces are ignored"
            )
        seen[key] = raw


# (deal_kinds as given, lifecycle as given, normalized deal kinds, normalized lifecycle)
Lookup = tuple[dict[str, DealKind], dict[str, Lifecycle], dict[str, DealKind], dict[str, str]]
