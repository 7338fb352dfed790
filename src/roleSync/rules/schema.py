"""The rule-file language: pydantic models, strict and closed (`extra="forbid"`).

Conditions are data, never code: a tree of `all` / `any` / `not` over comparisons
of one metric or one field with a literal value. They are compiled once into
closures by `roleSync.rules.compile`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    model_validator,
)
from pydantic_core import PydanticCustomError

from roleSync.metrics import METRIC_NAMES

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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Comparison(_Strict):
    """Compare one metric (roles) or one field (roles and routes) with a value."""

    metric: Literal[METRIC_NAMES] | None = None  # type: ignore[valid-type]
    field: StrictStr | None = None
    op: Op
    value: Scalar | list[Scalar]

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


class AnyOf(_Strict):
    any: list[Condition] = Field(min_length=1)


class NotOf(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    not_: Condition = Field(alias="not")


def _condition_tag(data: Any) -> str:
    if isinstance(data, dict):
        for key in ("all", "any", "not"):
            if key in data:
                return f"<{key}>"
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
    id: RuleId
    role: AssignedRole
    description: str | None = None
    # No `when`: the rule always matches (a catch-all, put it last).
    when: Condition | None = None


class Override(_Strict):
    owner: OwnerKey
    role: AssignedRole
    reason: StrictStr = Field(min_length=1)


class RolesFile(_Strict):
    version: Literal[1]
    kind: Literal["roles"]
    window_days: StrictInt = Field(default=365, ge=1, le=3650)
    classify: list[Classification] = Field(min_length=1)
    overrides: list[Override] = Field(default_factory=list)


class Trigger(StrEnum):
    FIRST_WON_NEW_BUSINESS = "first_won_new_business"


class HandoffFrom(StrEnum):
    # Farmers are deliberately absent: an account a farmer owns is never handed off.
    HUNTER = "hunter"
    UNCLASSIFIED = "unclassified"


class Handoff(_Strict):
    trigger: Trigger = Trigger.FIRST_WON_NEW_BUSINESS
    # The hunter keeps the account this many days after the trigger (onboarding).
    delay_days: StrictInt = Field(default=0, ge=0, le=3650)
    from_roles: list[HandoffFrom] = Field(
        default_factory=lambda: [HandoffFrom.HUNTER], min_length=1
    )
    # Accounts of deactivated owners are orphans: hand them off whatever the role was.
    from_inactive_owners: StrictBool = True


class RolePool(_Strict):
    role: ClassifiedRole


class Strategy(StrEnum):
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"


class BalanceBy(StrEnum):
    ACCOUNTS = "accounts"
    REVENUE = "revenue"


class Capacity(_Strict):
    max_accounts: StrictInt | None = Field(default=None, ge=1)
    max_revenue: StrictInt | StrictFloat | None = Field(default=None, gt=0)


class Assign(_Strict):
    pool: list[OwnerKey] | RolePool
    strategy: Strategy = Strategy.ROUND_ROBIN
    balance_by: BalanceBy = BalanceBy.ACCOUNTS
    capacity: Capacity | None = None

    @model_validator(mode="after")
    def _non_empty_pool(self) -> Assign:
        if isinstance(self.pool, list) and not self.pool:
            raise PydanticCustomError("empty-pool", "the pool names no owner", {"key": "pool"})
        return self


class Route(_Strict):
    id: RuleId
    description: str | None = None
    when: Condition | None = None
    assign: Assign


class RoutingFile(_Strict):
    version: Literal[1]
    kind: Literal["routing"]
    handoff: Handoff = Field(default_factory=Handoff)
    routes: list[Route] = Field(min_length=1)


AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()
