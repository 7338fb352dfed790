"""Sections every kind shares: the local book, CSV import columns, metrics, guardrails, state."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from roleSync.plan.types import SkipCode
from roleSync.profile.common import (
    METRIC_FIELD_KEYS,
    Column,
    Destination,
    FieldName,
    MetricKey,
    StrictSection,
)
from roleSync.profile.formats import ISO, DateFormat, check_formats, compile_format
from roleSync.sync.stuck import unknown_code


class LocalSection(StrictSection):
    """Where the embedded SQLite book lives (kind: local)."""

    path: str | None = Field(
        default=None,
        min_length=1,
        description="SQLite book file, relative to the profile's folder; default <name>.db.",
    )


# -- kind: salesforce ---------------------------------------------------------------


# How accounts.owner and deals.owner name the owner: the owner's id (default), email or
# full name (matched ignoring case and extra spaces; an ambiguous or unknown name is an
# error on its row).
OwnerReference = Literal["id", "email", "name"]


class OwnerColumns(StrictSection):
    # A HubSpot owners export has no id column: map id to the email column.
    id: Column = "id"
    # Several columns ("First Name", "Last Name") are joined with a space.
    name: Column | list[Column] = "name"
    email: Column | None = "email"
    title: Column | None = "title"
    active: Column | None = "active"
    # Extra owner fields (rules: owner.fields.<name>), e.g. {regions: Sales Regions}.
    fields: dict[FieldName, Column] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _some_name_column(cls, name: str | list[str]) -> str | list[str]:
        if isinstance(name, list) and not name:
            raise ValueError("give at least one column")
        return name

    @property
    def name_columns(self) -> list[str]:
        return [self.name] if isinstance(self.name, str) else list(self.name)


class AccountColumns(StrictSection):
    id: Column = "id"
    name: Column = "name"
    owner: Column | None = "owner_id"
    owner_by: OwnerReference = "id"
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
    # When the account column lists several ids ("123;456", HubSpot's "Associated
    # Company IDs"): their separator; the first id is the deal's account.
    account_separator: str | None = Field(default=None, min_length=1, max_length=4)
    owner: Column | None = "owner_id"
    owner_by: OwnerReference = "id"
    kind: Column | None = "kind"
    stage: Column = "stage"
    # Both null: closed and won come from the stage, through the profile's `stages`.
    closed: Column | None = "closed"
    won: Column | None = "won"
    amount: Column | None = "amount"
    created: Column = "created"
    close_date: Column | None = "close_date"

    @model_validator(mode="after")
    def _closed_and_won_together(self) -> DealColumns:
        if (self.closed is None) != (self.won is None):
            raise ValueError(
                "map both closed and won, or neither (null: both come from the stage "
                "through the profile's stages)"
            )
        return self

    @property
    def stage_decides(self) -> bool:
        """Closed and won come from the stage (no closed/won columns)."""
        return self.closed is None


class ContactColumns(StrictSection):
    """A contacts export: people at the accounts, what a handoff can carry."""

    id: Column = "id"
    # Blank cells (a contact without a company) are stored as no account.
    account: Column | None = "account_id"
    account_separator: str | None = Field(default=None, min_length=1, max_length=4)
    owner: Column | None = "owner_id"
    owner_by: OwnerReference = "id"
    # Several columns ("First Name", "Last Name") are joined with a space.
    name: Column | list[Column] | None = "name"
    email: Column | None = "email"

    @field_validator("name")
    @classmethod
    def _some_name_column(cls, name: str | list[str] | None) -> str | list[str] | None:
        if isinstance(name, list) and not name:
            raise ValueError("give at least one column, or null")
        return name

    @property
    def name_columns(self) -> list[str]:
        return [self.name] if isinstance(self.name, str) else list(self.name or ())


class TaskColumns(StrictSection):
    """A tasks (activities) export: the open ones follow their account on handoff."""

    id: Column = "id"
    # The record the task is about (Salesforce's WhatId, HubSpot's associated company).
    account: Column | None = "account_id"
    account_separator: str | None = Field(default=None, min_length=1, max_length=4)
    owner: Column | None = "owner_id"
    owner_by: OwnerReference = "id"
    subject: Column | None = "subject"
    # true/false, yes/no, 1/0, or a status: open, not started, in progress, waiting,
    # deferred (open); closed, completed, done (closed). Blank = open.
    closed: Column | None = "closed"
    due: Column | None = "due"


# Characters that may group thousands or mark decimals in an amount.
Separator = Literal[",", ".", " ", "'", "\u00a0", "\u202f"]
CurrencyMark = Annotated[
    str,
    Field(
        pattern=r"^[^\d\s,.'+\-()]{1,8}$",
        description="A currency symbol or code written beside amounts: $, USD, €.",
    ),
]


class AmountFormat(StrictSection):
    """How the CSV writes amounts. Amounts are not converted between currencies: list the
    symbols and codes of the one currency the export is in."""

    currencies: list[CurrencyMark] = Field(default_factory=list)
    thousands: Separator | None = None
    decimal: Literal[".", ","] = "."

    @model_validator(mode="after")
    def _distinct_separators(self) -> AmountFormat:
        if self.thousands == self.decimal:
            raise ValueError(
                f"thousands and decimal separators must differ (both {self.decimal!r}): "
                "'1,234' would read two ways"
            )
        return self


def _iso_only() -> list[str]:
    return [ISO]


class ImportSection(StrictSection):
    # Date formats tried in order (see roleSync.profile.formats); ISO 8601 by default.
    dates: list[str] = Field(default_factory=_iso_only, min_length=1)
    amounts: AmountFormat = Field(default_factory=AmountFormat)
    owners: OwnerColumns = Field(default_factory=OwnerColumns)
    accounts: AccountColumns = Field(default_factory=AccountColumns)
    deals: DealColumns = Field(default_factory=DealColumns)
    contacts: ContactColumns = Field(default_factory=ContactColumns)
    tasks: TaskColumns = Field(default_factory=TaskColumns)

    @field_validator("dates")
    @classmethod
    def _unambiguous_dates(cls, dates: list[str]) -> list[str]:
        check_formats(dates)
        return dates

    @cached_property
    def date_formats(self) -> list[DateFormat]:
        return [compile_format(spec) for spec in self.dates]  # checked above


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
    # Records a handoff carries with its accounts (routing.yaml `carry`: open deals,
    # contacts, open tasks). An account carries a few: ten per allowed account move.
    max_related_changes: int = Field(default=5000, ge=0)
    # Handoff tasks created (routing.yaml `tasks`): at most two per account moved.
    max_handoff_tasks: int = Field(default=1000, ge=0)


# A PostgreSQL schema name roleSync creates and quotes nowhere: plain lower-case words.
SCHEMA_NAME = r"^[a-z_][a-z0-9_]{0,62}$"
DEFAULT_URL_ENV = "ROLESYNC_STATE_URL"


class StateSection(StrictSection):
    """Where runs, the apply journal, the audit log and round-robin positions live."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True
    )

    # sqlite: a file in state_dir, the embedded default. postgresql: a database shared by
    # every host that runs the profile (docs/state.md), through psycopg 3.
    backend: Literal["sqlite", "postgresql"] = "sqlite"
    path: str = Field(default="state.db", min_length=1)  # SQLite file, relative to state_dir
    # postgresql: the NAME of the environment variable holding the connection URL. The
    # URL itself (it may carry a password) is never written in a profile.
    url_env: str = Field(
        default=DEFAULT_URL_ENV, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=200
    )
    # postgresql: the schema holding this profile's tables; default rolesync_<name>.
    schema_: str | None = Field(default=None, alias="schema", pattern=SCHEMA_NAME)

    @model_validator(mode="before")
    @classmethod
    def _no_url_in_the_file(cls, data: object) -> object:
        if isinstance(data, dict) and "url" in data:
            raise ValueError(
                "url: a connection URL is never written in a profile (it may hold a "
                "password); put it in the environment variable named by state.url_env "
                f"(default {DEFAULT_URL_ENV})"
            )
        return data


def _known_skip_code(code: str) -> str:
    why = unknown_code(code)
    if why is not None:
        raise ValueError(why)
    return code


SkipCodeName = Annotated[
    str,
    AfterValidator(_known_skip_code),
    Field(description="A skip code of a plan: no-eligible-farmer, no-route, ..."),
]


def _default_fail_on() -> list[str]:
    return []


class AlertsSection(StrictSection):
    """When a finished run still exits non-zero, so a scheduler alerts someone."""

    # Skip codes that make `sync` and `apply` exit 5 when any handoff of the run is
    # skipped for one of them (everything else is still written). `--fail-on` overrides.
    fail_on: list[SkipCodeName] = Field(
        default_factory=_default_fail_on,
        description="Skip codes that make sync and apply exit 5 (stuck handoffs), e.g. "
        f"[{SkipCode.NO_FARMER}, {SkipCode.NO_ROUTE}].",
    )
