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

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from roleSync.errors import Diagnostic, InputError, Severity, UsageError
from roleSync.model import DealKind
from roleSync.profile.availability import AvailabilitySection
from roleSync.profile.common import (
    DEFAULT_DEAL_KINDS,
    DEFAULT_LIFECYCLE,
    DEFAULT_STAGES,
    Lifecycle,
    Lookup,
    ProfileName,
    StageOutcome,
    StrictSection,
    check_unique_normalized,
    normalized,
)
from roleSync.profile.data_quality import DataQualitySection
from roleSync.profile.hubspot import HUBSPOT_NAME, HubSpotSection
from roleSync.profile.paths import PathCheck, unsafe_path_findings
from roleSync.profile.salesforce import SALESFORCE_NAME, SalesforceSection
from roleSync.profile.sections import (
    AlertsSection,
    GuardrailsSection,
    ImportSection,
    LocalSection,
    MetricsSection,
    StateSection,
)
from roleSync.rules.loader import LoadedYaml, Loc, load_yaml, validate
from roleSync.rules.suggest import close_match


class Profile(StrictSection):
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
    # Deal stage -> open | won | lost, for sources that carry no closed/won flags.
    stages: dict[str, StageOutcome] = Field(default_factory=lambda: dict(DEFAULT_STAGES))
    import_: ImportSection = Field(default_factory=ImportSection, alias="import")
    metrics: MetricsSection = Field(default_factory=MetricsSection)
    guardrails: GuardrailsSection = Field(default_factory=GuardrailsSection)
    alerts: AlertsSection = Field(default_factory=AlertsSection)
    # Out-of-office windows from owner fields (profile/availability.py); None: only the
    # routing file's `availability` list.
    availability: AvailabilitySection | None = None
    state: StateSection = Field(default_factory=StateSection)
    # How book health findings gate a run (see roleSync.health and docs/data-quality.md).
    data_quality: DataQualitySection = Field(default_factory=DataQualitySection)

    # The folder relative paths are resolved against; not part of the YAML.
    _base_dir: Path | None = PrivateAttr(default=None)
    # The file it was loaded from, with the position of every key: book health findings
    # point at the key the user has to edit. None for profiles built in memory.
    _source: LoadedYaml | None = PrivateAttr(default=None)
    _lookup: Lookup | None = PrivateAttr(default=None)
    _stage_table: tuple[dict[str, StageOutcome], dict[str, StageOutcome]] | None = PrivateAttr(
        default=None
    )

    @field_validator("deal_kinds", "lifecycle", "stages")
    @classmethod
    def _unique_keys(cls, mapping: dict[str, Any]) -> dict[str, Any]:
        check_unique_normalized(mapping)
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
            bad = [d for d in self.metrics.fields.values() if not SALESFORCE_NAME.fullmatch(d)]
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
        bad = [d for d in self.metrics.fields.values() if not HUBSPOT_NAME.fullmatch(d)]
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
            kinds.update({normalized(k): v for k, v in self.deal_kinds.items()})
            stages: dict[str, str] = {name: name for name in ("customer", "prospect", "other")}
            stages.update({normalized(k): v for k, v in self.lifecycle.items()})
            cached = (self.deal_kinds, self.lifecycle, kinds, stages)
            self._lookup = cached
        return cached[2], cached[3]

    # -- value mapping ---------------------------------------------------------

    def deal_kind(self, raw: str | None) -> DealKind | None:
        """The deal kind of a CRM deal-type value; None when blank or unmapped (Book infers)."""
        if raw is None:
            return None
        return self._tables()[0].get(normalized(raw))

    def lifecycle_of(self, raw: str | None) -> str:
        """Canonical lifecycle of a CRM value: "" when blank, "other" when unmapped."""
        key = normalized(raw or "")
        if not key:
            return ""
        return self._tables()[1].get(key, "other")

    def maps_lifecycle(self, raw: str) -> bool:
        """True when a non-blank lifecycle value is mapped (not read as "other" by default)."""
        return normalized(raw) in self._tables()[1]

    def stage_outcome(self, raw: str | None) -> StageOutcome | None:
        """open, won or lost for a deal stage (case and spaces ignored); None when blank
        or unmapped."""
        key = normalized(raw or "")
        if not key:
            return None
        table = self._stage_table
        if table is None or table[0] is not self.stages:
            table = (self.stages, {normalized(k): v for k, v in self.stages.items()})
            self._stage_table = table
        return table[1].get(key)

    def owner_fields(self) -> tuple[frozenset[str], str]:
        """The extra owner fields this profile maps (rules: owner.fields.<name>), and the
        key that maps them, for messages."""
        if self.salesforce is not None:
            return frozenset(self.salesforce.owner_fields), "salesforce.owner_fields"
        if self.hubspot is not None:
            return frozenset(self.hubspot.owner_properties), "hubspot.owner_properties"
        return frozenset(self.import_.owners.fields), "import.owners.fields"

    def unpulled_related(self) -> frozenset[str]:
        """The related objects ("contacts", "tasks") a CRM profile does not pull, so a
        handoff carrying them would move none; empty for a local book, which holds them."""
        crm = self.salesforce or self.hubspot
        if crm is None:
            return frozenset()
        return frozenset(n for n in ("contacts", "tasks") if not getattr(crm.pull, n))

    # -- where keys are -----------------------------------------------------------

    @property
    def source_path(self) -> str:
        """The profile file as given to `load_profile`; a description when built in memory."""
        return self._source.path if self._source is not None else f"<profile {self.name}>"

    def key_position(self, loc: Loc) -> tuple[int, int]:
        """(line, col) of the key at `loc` in the profile file, or of its closest parent
        the file has; (0, 0) for a profile built in memory."""
        if self._source is None:
            return (0, 0)
        return self._source.position(loc, prefer_key=True)

    def has_key(self, loc: Loc) -> bool:
        """True when the profile file itself writes the key at `loc`."""
        return self._source is not None and loc in self._source.key_positions

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
    def state_schema(self) -> str:
        """The PostgreSQL schema of a postgresql state store: `state.schema`, or
        rolesync_<name> (a name's `-` becomes `_`, cut to PostgreSQL's 63 bytes)."""
        return self.state.schema_ or ("rolesync_" + self.name.replace("-", "_"))[:63]

    @property
    def state_path(self) -> Path:
        """Absolute path of the folder where runs and reports go."""
        return (self.base_dir / self.state_dir).resolve()

    def unsafe_paths(self) -> list[Diagnostic]:
        """Findings for every key that puts roleSync's files in the filesystem root or
        a system folder (see profile/paths.py), positioned at that key."""
        state_folder = self.state_path
        # As written (made absolute), so that /proc/self reads as given, not as a pid.
        written = Path(os.path.normpath(self.base_dir / self.state_dir))
        checks: list[PathCheck] = [
            (("state_dir",), "the state folder", written, self.key_position(("state_dir",)))
        ]
        store_folder = (state_folder / self.state.path).parent
        if store_folder.resolve() != state_folder:
            loc: Loc = ("state", "path")
            checks.append((loc, "the state store", store_folder, self.key_position(loc)))
        if self.kind == "local":
            loc = ("local", "path")
            checks.append((loc, "the local book", self.book_path.parent, self.key_position(loc)))
        elif self.mirror_path.parent != state_folder:
            loc = (self.kind, "mirror")
            checks.append((loc, "the mirror", self.mirror_path.parent, self.key_position(loc)))
        return unsafe_path_findings(self.source_path, checks)

    def unmapped_window_fields(self) -> list[Diagnostic]:
        """`availability` naming an owner field the profile does not map: every owner would
        read as never away, silently, so it is an error at the key, with a did-you-mean."""
        if self.availability is None:
            return []
        mapped, section = self.owner_fields()
        findings = []
        for key in ("from_field", "until_field", "reason_field"):
            name = getattr(self.availability, key)
            if name is None or name in mapped:
                continue
            near = close_match(name, mapped)
            hint = (
                f"; did you mean {near!r}?"
                if near
                else f" (it maps: {', '.join(sorted(mapped))})"
                if mapped
                else f": map the CRM field in {section} first"
            )
            line, col = self.key_position(("availability", key))
            findings.append(
                Diagnostic(
                    self.source_path,
                    line,
                    col,
                    Severity.ERROR,
                    f"availability.{key} {name!r} is not an owner field {section} maps{hint}",
                    "unknown-owner-field",
                )
            )
        return findings

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


def load_profile(path: Path, *, loaded: LoadedYaml | None = None) -> Profile:
    """Read and validate a profile file; InputError with `file:line:col` on any problem.
    `loaded`: the file already loaded by the caller (`check`), not parsed again."""
    loaded = load_yaml(path) if loaded is None else loaded
    profile = validate(loaded, Profile).with_base_dir(path.parent)
    profile._source = loaded
    unsafe = profile.unsafe_paths() + profile.unmapped_window_fields()
    if unsafe:
        raise InputError(unsafe)
    return profile
