"""The rule-file language: pydantic models, strict and closed (`extra="forbid"`).

Conditions are data, never code: a tree of `all` / `any` / `not` over comparisons
of one metric or one field with a literal value. They are compiled once into
closures by `roleSync.rules.compile`.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from roleSync.metrics import METRIC_NAMES
from roleSync.model import DealKind
from roleSync.rules.availability_schema import Away, WhenUnavailable
from roleSync.rules.carry_schema import Carry
from roleSync.rules.field_docs import DescribedModel
from roleSync.rules.handoff_keys import check_handoff_keys
from roleSync.rules.task_schema import HandoffTasks
from roleSync.rules.territory_schema import TerritoryMatch

RuleId = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description="Lower-case id, unique in its file: letters, digits, - and _.",
    ),
]
Scalar = StrictStr | StrictInt | StrictFloat | StrictBool
OwnerKey = Annotated[str, Field(min_length=1, description="An owner's email or CRM id.")]

OWNER_FIELDS = ("owner.id", "owner.name", "owner.email", "owner.title", "owner.active")
ACCOUNT_FIELDS = (
    "account.id",
    "account.name",
    "account.lifecycle",
    "account.segment",
    "account.region",
    "account.tier",
)
# `account.fields.<name>` reaches the extra fields a connector profile maps.
ACCOUNT_EXTRA_PREFIX = "account.fields."


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"  # case-insensitive substring, for text fields such as titles


ORDERING_OPS = frozenset({Op.LT, Op.LTE, Op.GT, Op.GTE})
LIST_OPS = frozenset({Op.IN, Op.NOT_IN})


class _Strict(DescribedModel):
    # Attribute docstrings become descriptions: editors show them on hover (schema.json)
    # and the rule-file reference is generated from them (rules/field_docs.py reads them
    # then, not at import). Built on first use (defer_build), which keeps start-up fast;
    # code walking the fields asks rules/resolved.py.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Comparison(_Strict):
    """Compare one metric (roles) or one field (roles and routes) with a value."""

    metric: Literal[METRIC_NAMES] | None = None  # type: ignore[valid-type]
    """A role metric (roles files only). Give `metric` or `field`, not both."""
    field: StrictStr | None = None
    """An owner field (roles) or account field (routes), e.g. `account.segment`."""
    op: Op
    """How to compare: eq, ne, lt, lte, gt, gte, in, not_in, contains."""
    value: Scalar | list[Scalar]
    """What to compare with: a number for metrics and ordering ops, a list for in/not_in."""

    @model_validator(mode="after")
    def _consistent(self) -> Comparison:
        if (self.metric is None) == (self.field is None):
            raise PydanticCustomError(
                "comparison-subject", "a comparison names exactly one of 'metric' or 'field'"
            )
        values = self.value if isinstance(self.value, list) else [self.value]
        if self.op in LIST_OPS and not isinstance(self.value, list):
            raise _wrong(f"op '{self.op}' takes a list value, e.g. [EMEA, APAC]")
        if self.op not in LIST_OPS and isinstance(self.value, list):
            raise _wrong(f"op '{self.op}' takes a single value; use 'in' for a list")
        if self.metric is not None and any(isinstance(v, (str, bool)) for v in values):
            raise _wrong(f"metric '{self.metric}' is a number; got {self.value!r}")
        if self.op in ORDERING_OPS and isinstance(self.value, (str, bool)):
            raise _wrong(f"op '{self.op}' compares numbers; got {self.value!r}")
        if self.op is Op.CONTAINS and not isinstance(self.value, str):
            raise _wrong("op 'contains' takes a text value")
        return self


def _wrong(message: str) -> PydanticCustomError:
    # `key` tells the loader to point at the value itself, not at the whole comparison.
    return PydanticCustomError("wrong-type", message, {"key": "value"})


class AllOf(_Strict):
    all: list[Condition] = Field(min_length=1)
    """Matches when every condition in the list matches."""


class AnyOf(_Strict):
    any: list[Condition] = Field(min_length=1)
    """Matches when at least one condition in the list matches."""


class NotOf(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, populate_by_name=True)
    not_: Condition = Field(alias="not")
    """Matches when the condition does not."""


def _condition_tag(data: Any) -> str:
    if isinstance(data, dict):
        for key in ("all", "any", "not"):
            if key in data:
                return f"<{key}>"
    # Serializing (model_dump_json) asks with the model itself: a `not` around an `all`
    # taken for a comparison would make pydantic warn that it serialized the wrong type.
    if isinstance(data, AllOf):
        return "<all>"
    if isinstance(data, AnyOf):
        return "<any>"
    if isinstance(data, NotOf):
        return "<not>"
    return "<compare>"


Condition = Annotated[
    Annotated[AllOf, Tag("<all>")]
    | Annotated[AnyOf, Tag("<any>")]
    | Annotated[NotOf, Tag("<not>")]
    | Annotated[Comparison, Tag("<compare>")],
    Discriminator(_condition_tag),
]


class ClassifiedRole(StrEnum):
    HUNTER = "hunter"
    FARMER = "farmer"


class AssignedRole(StrEnum):
    """What a classification rule or override may say: `unclassified` excludes an owner
    from role pools on purpose (a manager, a deliberate fallback)."""

    HUNTER = "hunter"
    FARMER = "farmer"
    UNCLASSIFIED = "unclassified"


class Classification(_Strict):
    """One classification rule; the first rule whose `when` matches an owner decides."""

    id: RuleId
    """Unique id of the rule, shown in plans, reports and `explain`."""
    role: AssignedRole
    """The role given to owners this rule matches: hunter, farmer or unclassified."""
    description: str | None = None
    """Why the rule exists, for the people who read the file."""
    when: Condition | None = None
    """The condition on the owner's metrics and fields; leave it out for a catch-all."""


class Override(_Strict):
    """A named owner's role, whatever their metrics say."""

    owner: OwnerKey
    """The owner's email (case-insensitive) or CRM id."""
    role: AssignedRole
    """The role to give them."""
    reason: StrictStr = Field(min_length=1)
    """Why: shown wherever the role is explained."""


class Hysteresis(_Strict):
    """Stable roles: an owner keeps the role of the previous run unless the rules give
    another one by a margin, or give it on a number of consecutive days."""

    # One type, not `StrictInt | StrictFloat`: a wrong value gets one error, not two
    # (a strict float still takes an int, and refuses bools and text).
    margin: StrictFloat | None = Field(default=None, gt=0)
    """How far past a threshold a change must be, in the metric's units (0.05 on a share).
    Every ordering comparison (lt, lte, gt, gte) with a number is moved by it: harder to
    match in rules giving another role, easier in rules giving the current one, so with
    `gte 0.80` a new hunter needs 0.85 and a hunter stays one down to 0.75. Under `not`
    the move is reversed; eq, ne, in, not_in and contains are never moved. Overrides and
    owners without a previous role (the first run) are not held."""
    metrics: list[Literal[METRIC_NAMES]] | None = None  # type: ignore[valid-type]
    """Optional: move only comparisons on these metrics, e.g. `[new_business_share]` when
    a rule also compares a count the margin does not suit. Default: every comparison.
    Needs a `margin`."""
    days: StrictInt | None = Field(default=None, ge=2, le=365)
    """Calendar days (2 to 365) the rules must give another role before it is taken: the
    role changes on the run whose date is `days - 1` after the first run that gave it, if
    no run in between gave the current role (or a third one). With `margin` too, a change
    past the margin is taken at once and a change within it after `days`."""

    @field_validator("margin", "days", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        # Optional only by leaving the key out: `margin:` with nothing after it is a
        # mistake, refused as "not a number" at the key, not read as "no margin".
        if value is None:
            kind = "number" if info.field_name == "margin" else "integer"
            raise PydanticCustomError(
                f"{'float' if kind == 'number' else 'int'}_type", f"Input should be a valid {kind}"
            )
        return value

    @model_validator(mode="after")
    def _one_way_to_hold(self) -> Hysteresis:
        if self.margin is None and self.days is None:
            raise PydanticCustomError(
                "hysteresis-empty",
                "hysteresis needs a 'margin' (e.g. 0.05), 'days' (e.g. 3), or both",
            )
        if self.metrics is not None and self.margin is None:
            raise PydanticCustomError(
                "hysteresis-metrics",
                "hysteresis.metrics limits the margin, and there is no 'margin'",
                {"key": "metrics"},
            )
        return self


class RolesFile(_Strict):
    """`rules/roles.yaml`: who hunts and who farms."""

    version: Literal[1]
    """Format version of the file: 1."""
    kind: Literal["roles"]
    """Always `roles` for this file."""
    window_days: StrictInt = Field(default=365, ge=1, le=3650)
    """The trailing window, in days up to the plan's date, that role metrics cover."""
    classify: list[Classification] = Field(min_length=1)
    """Classification rules, tried in order; the first match wins."""
    overrides: list[Override] = Field(default_factory=list)
    """Named owners whose role is fixed by hand."""
    hysteresis: Hysteresis | None = None
    """Optional: keep each owner's previous role unless the rules give another one by a
    margin or on consecutive days, e.g. `{margin: 0.05}` or `{days: 3}`. Default: none
    (roles recomputed from scratch)."""


class Trigger(StrEnum):
    FIRST_WON_NEW_BUSINESS = "first_won_new_business"
    STAGE_REACHED = "stage_reached"
    LIFECYCLE_BECAME = "lifecycle_became"
    OWNER_LEFT = "owner_left"


class HandoffFrom(StrEnum):
    # Farmers are deliberately absent: an account a farmer owns is never handed off.
    HUNTER = "hunter"
    UNCLASSIFIED = "unclassified"


# Without `max_age_days` or `since`, a trigger older than this does not move the account:
# a first sync must not hand off a whole historic book at once. Backfill on purpose with
# a larger `max_age_days` or an early `since`.
DEFAULT_MAX_AGE_DAYS = 365


class Handoff(_Strict):
    """When a post-sale account leaves its hunter: one trigger and its conditions."""

    id: RuleId = "handoff"
    """Unique id of the handoff block, shown in plans, reports and `explain`."""
    trigger: Trigger = Trigger.FIRST_WON_NEW_BUSINESS
    """The event that starts the handoff: first_won_new_business (the account's first won
    new-business deal), stage_reached (a deal of `kinds` stands at `stage`) or
    lifecycle_became (the account's lifecycle is `lifecycle`) or owner_left (the account's
    owner is deactivated: their whole book is redistributed, whatever their role)."""
    stage: StrictStr | None = Field(default=None, min_length=1)
    """stage_reached only: the deal stage, as the CRM names it (case and spaces ignored)."""
    kinds: list[DealKind] | None = Field(default=None, min_length=1)
    """stage_reached only: the deal kinds that count (default: [new_business])."""
    lifecycle: StrictStr | None = Field(default=None, min_length=1)
    """lifecycle_became only: the lifecycle the account enters: customer, prospect or other
    (roleSync's words, after the profile's `lifecycle` mapping)."""
    delay_days: StrictInt = Field(default=0, ge=0, le=3650)
    """Days the hunter keeps the account after the trigger (onboarding); due on trigger + delay."""
    max_age_days: StrictInt | None = Field(default=None, ge=0, le=36500)
    """A trigger older than this many days (before the plan's date) does not move the
    account. Default 365 unless `since` is given; raise it to backfill older accounts."""
    since: date | None = None
    """Only triggers on or after this date move accounts (instead of `max_age_days`)."""
    from_roles: list[HandoffFrom] = Field(
        default_factory=lambda: [HandoffFrom.HUNTER], min_length=1
    )
    """Roles whose accounts are handed off: hunter and/or unclassified. Farmers' never are."""
    from_inactive_owners: StrictBool = True
    """Hand off the post-sale accounts of deactivated owners too, whatever their role was."""
    revert_manual_changes: StrictBool = False
    """Hand off again an account roleSync handed to a farmer that a person has since given to
    someone else. false (the default): people win; such accounts are skipped with code
    manual-reassignment. true: the rules win and the account is handed off again."""
    routes: list[Route] | None = Field(default=None, min_length=1)
    """owner_left only: the routes this block's accounts take, tried in order, instead of
    the file's `routes` (e.g. customers to farmers, the rest to hunters). Ids must differ
    from every other route's: rotation is kept per route id."""

    carry: list[Carry] = Field(default_factory=list)
    """Related records that move with the account, e.g. `[{deals: {kinds: [renewal]}},
    {contacts: all}, {tasks: previous_owner}]`. Default: none (only the account moves)."""
    tasks: HandoffTasks | None = None
    """CRM tasks to create for each account handed off: `new_owner` (and optionally
    `previous_owner`), each a subject, a body and `due_in_days`. Default: none."""

    @model_validator(mode="after")
    def _trigger_keys(self) -> Handoff:
        check_handoff_keys(self)
        return self

    def earliest(self, as_of: date) -> date:
        """The oldest trigger date that still moves an account on `as_of`."""
        if self.since is not None:
            return self.since
        age = DEFAULT_MAX_AGE_DAYS if self.max_age_days is None else self.max_age_days
        return date.fromordinal(max(as_of.toordinal() - age, 1))

    @property
    def deal_kinds(self) -> tuple[DealKind, ...]:
        return tuple(self.kinds) if self.kinds else (DealKind.NEW_BUSINESS,)


class RolePool(_Strict):
    """Every active owner currently classified with a role."""

    role: ClassifiedRole
    """hunter or farmer."""


class Strategy(StrEnum):
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"
    WEIGHTED = "weighted"


class BalanceBy(StrEnum):
    ACCOUNTS = "accounts"
    REVENUE = "revenue"


class WhenFull(StrEnum):
    SKIP = "skip"
    NEXT_ROUTE = "next_route"


class ClassCap(_Strict):
    """A cap on one class of accounts, e.g. at most 5 key accounts per member."""

    id: RuleId
    """Names the class in reasons and `explain`, e.g. key-accounts."""
    when: Condition
    """The condition on the account's fields that puts an account in the class."""
    max_accounts: StrictInt = Field(ge=1)
    """At most this many accounts of the class owned, counting the ones this plan gives.
    Only accounts in the class are refused: the member still takes others."""


class Capacity(_Strict):
    """Caps past which a pool member receives no more accounts."""

    max_accounts: StrictInt | None = Field(default=None, ge=1)
    """At most this many accounts owned, counting the ones this plan gives."""
    max_revenue: StrictInt | StrictFloat | None = Field(default=None, gt=0)
    """At most this much managed revenue (won in the roles window on owned accounts)."""
    per_class: list[ClassCap] = Field(default_factory=list)
    """Caps per class of accounts, each a condition on the account and a `max_accounts`,
    e.g. `[{id: key-accounts, when: {field: account.tier, op: eq, value: Key},
    max_accounts: 5}]`: an account in a class goes only to members holding fewer accounts
    of that class (with `when_full: next_route`, a full class passes it on)."""

    @model_validator(mode="after")
    def _unique_classes(self) -> Capacity:
        seen: set[str] = set()
        for cap in self.per_class:
            if cap.id in seen:
                raise PydanticCustomError(
                    "duplicate-id",
                    "duplicate class id '{id}' in per_class",
                    {"id": cap.id, "key": "per_class"},
                )
            seen.add(cap.id)
        return self


Weight = Annotated[
    StrictInt | StrictFloat,
    Field(gt=0, allow_inf_nan=False, description="A positive number: a share of handoffs."),
]


class Assign(_Strict):
    """Who may receive the account, and how one of them is picked."""

    pool: list[OwnerKey] | RolePool
    """Named owners (emails or ids), or `{role: farmer}` / `{role: hunter}` for every
    active owner of that role."""
    strategy: Strategy = Strategy.ROUND_ROBIN
    """round_robin: in turn, continuing across runs; least_loaded: the lightest book;
    weighted: in proportion to `weights`, continuing across runs."""
    balance_by: BalanceBy = BalanceBy.ACCOUNTS
    """What least_loaded weighs: accounts owned, or managed revenue."""
    weights: dict[OwnerKey, Weight] | None = None
    """weighted only: each member's weight, by email or id, e.g. `{ana@example.com: 3,
    ben@example.com: 1}`; members not listed weigh 1. A member with weight 3 receives three
    times the handoffs of one with weight 1."""
    capacity: Capacity | None = None
    """Optional caps per pool member."""
    match: list[TerritoryMatch] | None = Field(default=None, min_length=1)
    """Territory: conditions comparing the account with each member, all of which must
    hold for the member to receive it, e.g. `[{account: account.region, owner:
    owner.fields.regions, op: in}]`. Members who do not match are passed over as `outside
    territory`; round robin keeps one rotation per territory. Default: none."""

    @model_validator(mode="after")
    def _non_empty_pool(self) -> Assign:
        if isinstance(self.pool, list) and not self.pool:
            raise PydanticCustomError("empty-pool", "the pool names no owner", {"key": "pool"})
        if self.weights is not None and self.strategy is not Strategy.WEIGHTED:
            raise PydanticCustomError(
                "weights-unused",
                f"weights only apply to strategy weighted, not {self.strategy.value}",
                {"key": "weights"},
            )
        return self


class Route(_Strict):
    """One route; the first route whose `when` matches the account picks the farmer."""

    id: RuleId
    """Unique id of the route, shown in plans, reports and `explain`."""
    description: str | None = None
    """Why the route exists, for the people who read the file."""
    when: Condition | None = None
    """The condition on the account's fields; leave it out for a catch-all."""
    when_full: WhenFull = WhenFull.SKIP
    """What happens when no pool member can take the account (all at capacity, inactive or
    its current owner): skip (the default: the account is skipped as no-eligible-farmer)
    or next_route (it is tried on the next route below this one whose `when` matches)."""
    when_unavailable: WhenUnavailable = WhenUnavailable.SKIP
    """What happens when the member the strategy would pick is away (routing.yaml
    `availability`, or the profile's `availability` fields): skip (the default: they are
    passed over and the next eligible member takes the account) or wait (the account stays
    with its owner, skipped as waiting-for-return, and is routed on the first run after they
    are back; the turn stays theirs, so later accounts of the route queue behind it)."""
    assign: Assign
    """Who receives the account."""


class RoutingFile(_Strict):
    """`rules/routing.yaml`: where post-sale accounts go."""

    version: Literal[1]
    """Format version of the file: 1."""
    kind: Literal["routing"]
    """Always `routing` for this file."""
    handoff: Handoff | None = None
    """When an account is handed off: one block (the same as `handoffs` with one entry)."""
    handoffs: list[Handoff] | None = Field(default=None, min_length=1)
    """Several handoff blocks, tried in order: the first whose trigger fired for the account
    (within its age limit) and whose `from_roles` take its owner decides."""
    routes: list[Route] = Field(min_length=1)
    """Routes, tried in order; the first match wins."""
    availability: list[Away] = Field(default_factory=list)
    """Out-of-office windows, e.g. `[{owner: ana@example.com, from: 2026-07-01, until:
    2026-07-21, reason: parental leave}]`: inside a window (both days included) the owner
    receives no handoff; routes pass over them, or wait with `when_unavailable: wait`.
    Several windows per owner are fine if they do not overlap."""

    @model_validator(mode="after")
    def _one_way(self) -> RoutingFile:
        if self.handoff is not None and self.handoffs is not None:
            raise PydanticCustomError(
                "handoff-twice", "give 'handoff' or 'handoffs', not both", {"key": "handoffs"}
            )
        return self

    @property
    def blocks(self) -> tuple[Handoff, ...]:
        """The handoff blocks in order: `handoffs`, or the one `handoff` (default: today's
        first_won_new_business trigger)."""
        if self.handoffs is not None:
            return tuple(self.handoffs)
        return (self.handoff or Handoff(),)

    @property
    def route_ids(self) -> list[str]:
        """Every route's id: the file's routes, then the blocks' own (owner_left)."""
        own = [r.id for b in self.blocks for r in b.routes or ()]
        return [r.id for r in self.routes] + own


# No model_rebuild() for the forward references (`Condition`, `Route` named before they
# are defined): with defer_build, each model is built on first use, from this module's
# names, by then all defined. A rebuild here would build them at import, for nothing.
