"""Connector profiles: one YAML file per CRM instance.

A profile says which CRM to talk to (`kind` plus the section of that kind), how its
values map onto roleSync's words (deal kinds, lifecycle), how CSV columns map onto
the book for `rolesync import`, and where role metrics are written back.

Only `kind: local` exists today. Each kind gets its own section (`local:` now,
`salesforce:` / `hubspot:` later) so that adding a kind adds a section and a
Literal value, and never changes the meaning of the sections already there.
"""

from __future__ import annotations

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
    fields: dict[MetricKey, Destination] = Field(default_factory=_default_metric_fields)

    @model_validator(mode="after")
    def _distinct_destinations(self) -> MetricsSection:
        seen: dict[str, str] = {}
        for key, destination in self.fields.items():
            if destination in seen:
                raise ValueError(f"{key!r} and {seen[destination]!r} both write to {destination!r}")
            seen[destination] = key
        return self


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
    kind: Literal["local"]
    name: ProfileName
    local: LocalSection | None = None
    state_dir: str = Field(default=".rolesync", min_length=1)
    # A section given in the file replaces the default section as a whole, so what
    # the file says is all there is (plus the canonical names, see `deal_kind`).
    deal_kinds: dict[str, DealKind] = Field(default_factory=lambda: dict(DEFAULT_DEAL_KINDS))
    lifecycle: dict[str, Lifecycle] = Field(default_factory=lambda: dict(DEFAULT_LIFECYCLE))
    import_: ImportSection = Field(default_factory=ImportSection, alias="import")
    metrics: MetricsSection = Field(default_factory=MetricsSection)

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
        # Each kind's own section is only meaningful with that kind; today there is
        # one kind, so this only guards against a future kind inheriting `local:`.
        if self.kind != "local" and self.local is not None:
            raise ValueError(
                f"section 'local' is only meaningful with kind: local, not kind: {self.kind}"
            )
        return self

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
