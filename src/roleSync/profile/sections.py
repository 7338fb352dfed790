"""Sections every kind shares: the local book, CSV import columns, metrics, guardrails, state."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from roleSync.profile.common import (
    METRIC_FIELD_KEYS,
    Column,
    Destination,
    FieldName,
    MetricKey,
    StrictSection,
)


class LocalSection(StrictSection):
    """Where the embedded SQLite book lives (kind: local)."""

    path: str | None = Field(
        default=None,
        min_length=1,
        description="SQLite book file, relative to the profile's folder; default <name>.db.",
    )


# -- kind: salesforce ---------------------------------------------------------------


class OwnerColumns(StrictSection):
    id: Column = "id"
    name: Column = "name"
    email: Column | None = "email"
    title: Column | None = "title"
    active: Column | None = "active"


class AccountColumns(StrictSection):
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


class DealColumns(StrictSection):
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


class ImportSection(StrictSection):
    owners: OwnerColumns = Field(default_factory=OwnerColumns)
    accounts: AccountColumns = Field(default_factory=AccountColumns)
    deals: DealColumns = Field(default_factory=DealColumns)


def _default_metric_fields() -> dict[str, str]:
    return {name: name for name in METRIC_FIELD_KEYS}


class MetricsSection(StrictSection):
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


class GuardrailsSection(StrictSection):
    """Limits on everything one run writes. A plan above any is saved and nothing is
    written (exit 3) unless the run is given --allow-large: a bad rule edit or a broken
    data mapping must not be able to reassign the whole book or relabel the whole team."""

    max_changes: int = Field(default=500, ge=0)
    # Share of the book's accounts one run may move (0.2: a fifth of the book), counted
    # against the book as the adapter reads it at apply time, never the plan's summary.
    max_share: float = Field(default=0.2, ge=0, le=1)
    # Owners whose role flips from a known role to another one. Previous role: what the
    # CRM holds in the role destination field when the profile writes roles, else the
    # role the profile's last run recorded in its plan.
    max_role_changes: int = Field(default=10, ge=0)
    # Metric values rewritten: destination fields that held a value and get another one
    # (filling a blank field is not a rewrite, so a first run is not stopped).
    max_metric_writes: int = Field(default=2000, ge=0)


class StateSection(StrictSection):
    """Where runs, the apply journal, the audit log and round-robin positions live."""

    path: str = Field(default="state.db", min_length=1)  # SQLite file, relative to state_dir
