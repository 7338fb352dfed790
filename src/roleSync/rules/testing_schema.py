"""The rule-test file language (`*.test.yaml`): pydantic models, strict and closed.

A test file names the rule files it checks, a day to plan for, and tests; each test
gives a small book (inline or in another file) and the outcomes it expects. Only the
expectations listed are checked, so a test says exactly what it is about.

`RuleTestFile.model_json_schema()` gives the JSON Schema editors use; keep every field
described and avoid validators that change the shape of the data.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)

from roleSync.metrics import METRIC_NAMES
from roleSync.model import DealKind, Role

Id = Annotated[StrictStr, Field(min_length=1)]
OwnerRef = Annotated[
    StrictStr, Field(min_length=1, description="An owner of the test book: their email or id.")
]
AccountRef = Annotated[
    StrictStr, Field(min_length=1, description="An account id of the test book.")
]
FieldScalar = StrictStr | StrictInt | StrictFloat | StrictBool | None
Number = StrictInt | StrictFloat
MetricName = Literal[METRIC_NAMES]  # type: ignore[valid-type]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class OwnerSpec(_Strict):
    """A CRM user who can own accounts."""

    id: Id = Field(description="CRM id of the owner, unique in the book.")
    name: StrictStr | None = Field(default=None, description="Display name; defaults to the id.")
    email: StrictStr = Field(default="", description="Email; expectations may name owners by it.")
    title: StrictStr = Field(default="", description="Job title (rules may look at it).")
    active: StrictBool = Field(default=True, description="Inactive owners never receive accounts.")
    fields: dict[str, FieldScalar] = Field(
        default_factory=dict,
        description="Extra owner fields, addressable as owner.fields.<name> (territory "
        "matches), e.g. `{regions: EMEA;APAC}`.",
    )


class AccountSpec(_Strict):
    """An account (company) and who owns it now."""

    id: Id = Field(description="CRM id of the account, unique in the book.")
    name: StrictStr | None = Field(default=None, description="Display name; defaults to the id.")
    owner: OwnerRef | None = Field(
        default=None, description="Current owner (email or id); omit for an unowned account."
    )
    segment: StrictStr = Field(default="", description="Segment, e.g. Enterprise, SMB.")
    region: StrictStr = Field(default="", description="Region, e.g. EMEA, NA.")
    tier: StrictStr = Field(default="", description="Tier, e.g. Gold.")
    lifecycle: StrictStr = Field(default="", description="Lifecycle stage; `customer` has bought.")
    locked: StrictBool = Field(default=False, description="Do not route: never moved by roleSync.")
    updated: date | None = Field(
        default=None,
        description="Day of the account's last update (YYYY-MM-DD): the date of a "
        "lifecycle_became trigger.",
    )
    fields: dict[str, FieldScalar] = Field(
        default_factory=dict, description="Extra fields, addressable as account.fields.<name>."
    )


class DealStatus(StrEnum):
    WON = "won"
    LOST = "lost"
    OPEN = "open"


class DealSpec(_Strict):
    """An opportunity on an account, described by its outcome."""

    id: Id = Field(description="CRM id of the deal, unique in the book.")
    account: AccountRef = Field(description="The account the deal is on.")
    owner: OwnerRef | None = Field(
        default=None,
        description="Who worked the deal (email or id); defaults to the account owner.",
    )
    kind: DealKind | None = Field(
        default=None,
        description="Deal kind; omit to infer it (an account's first won deal is new business, "
        "later ones expansion).",
    )
    status: DealStatus = Field(default=DealStatus.WON, description="won, lost or open.")
    stage: StrictStr | None = Field(
        default=None,
        min_length=1,
        description="The deal's stage as the CRM names it (for stage_reached); defaults to "
        "the status.",
    )
    amount: Number | None = Field(default=None, description="Deal amount; omit for none.")
    created: date | None = Field(
        default=None, description="Creation date (YYYY-MM-DD); defaults to the close date."
    )
    closed: date | None = Field(
        default=None,
        description="Close date (YYYY-MM-DD): required for won and lost deals; the expected "
        "close date of an open deal.",
    )

    @model_validator(mode="after")
    def _dated(self) -> DealSpec:
        if self.status is not DealStatus.OPEN and self.closed is None:
            raise ValueError(f"a {self.status.value} deal needs its close date: closed: YYYY-MM-DD")
        if self.created is None and self.closed is None:
            raise ValueError("an open deal needs a created date (or an expected close date)")
        return self


class BookSpec(_Strict):
    """A small CRM snapshot: owners, accounts and deals."""

    owners: list[OwnerSpec] = Field(default_factory=list, description="Owners of the book.")
    accounts: list[AccountSpec] = Field(default_factory=list, description="Accounts of the book.")
    deals: list[DealSpec] = Field(default_factory=list, description="Deals of the book.")


class SkipCodeName(StrEnum):
    """Why a handed-off account did not move (the plan's skip codes)."""

    LOCKED = "locked"
    PENDING = "handoff-pending"
    NO_ROUTE = "no-route"
    NO_FARMER = "no-eligible-farmer"
    # Needs the audit log of earlier runs, which a rule test does not have: listed so
    # the names stay those of the plan.
    MANUAL = "manual-reassignment"
    WAITING = "waiting-for-return"


class SkipSpec(_Strict):
    """An expected skip, with words its reason must contain."""

    code: SkipCodeName = Field(description="The expected skip code.")
    reason_contains: StrictStr | None = Field(
        default=None, description="Text the plan's reason for the skip must contain."
    )


class TaskForName(StrEnum):
    """Whom a handoff task is for (the plan's `for_owner`)."""

    NEW_OWNER = "new_owner"
    PREVIOUS_OWNER = "previous_owner"


class TaskExpectation(_Strict):
    """A task the plan creates for an account's handoff (routing.yaml `tasks`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, populate_by_name=True)
    for_: TaskForName = Field(
        alias="for", description="Whom the task is for: new_owner or previous_owner."
    )
    owner: OwnerRef | None = Field(
        default=None, description="Its assignee (email or id); omit to leave it unchecked."
    )
    subject: StrictStr | None = Field(
        default=None, description="Its subject exactly as filled; omit to leave it unchecked."
    )
    due: date | None = Field(
        default=None, description="Its due date (YYYY-MM-DD); omit to leave it unchecked."
    )


class Expectations(_Strict):
    """What the plan must show. Every key is optional; only what is listed is checked."""

    roles: dict[OwnerRef, Role] | None = Field(
        default=None, description="Owner (email or id) -> hunter, farmer or unclassified."
    )
    owners: dict[AccountRef, OwnerRef | None] | None = Field(
        default=None,
        description="Account -> its owner after the plan (email or id; null: no owner). "
        "An account the plan does not move keeps its owner.",
    )
    handoffs: StrictInt | None = Field(
        default=None, ge=0, description="Number of ownership changes in the plan."
    )
    skipped: dict[AccountRef, SkipCodeName | SkipSpec | None] | None = Field(
        default=None,
        description="Account -> expected skip code, or {code, reason_contains}; null: the "
        "account must not be skipped.",
    )
    metrics: dict[OwnerRef, dict[MetricName, Number | None]] | None = Field(
        default=None,
        description="Owner -> role metrics; numbers match within 1e-9 relative; null: empty.",
    )
    rules: dict[StrictStr, StrictStr | None] | None = Field(
        default=None,
        description="Owner -> the classification rule that decided their role (null: none "
        "matched; `override`: an override); account -> the route that moved it, or that found "
        "no eligible farmer or waits for an away member (null: no route involved).",
    )
    handoff_ids: dict[AccountRef, StrictStr | None] | None = Field(
        default=None,
        description="Account -> the id of the handoff block whose trigger moved it (null: "
        "not moved).",
    )
    tasks: dict[AccountRef, list[TaskExpectation]] | None = Field(
        default=None,
        description="Account -> every task its handoff creates, in the plan's order (the "
        "new owner's, then the previous owner's); []: none.",
    )


class RuleTest(_Strict):
    """One scenario: a book, the plan made from it, and what the plan must show."""

    name: StrictStr = Field(min_length=1, description="What the test shows, in words.")
    now: date | None = Field(
        default=None, description="The day to plan for; defaults to the file's `now`."
    )
    book: BookSpec | None = Field(default=None, description="The book, inline.")
    book_file: StrictStr | None = Field(
        default=None,
        min_length=1,
        description="A YAML file holding the book (owners, accounts, deals), relative to this "
        "test file.",
    )
    rotation: dict[Id, StrictStr] = Field(
        default_factory=dict,
        description="Round-robin state before the plan: route id -> last owner picked "
        "(email or id).",
    )
    expect: Expectations = Field(description="The outcomes to check.")

    @model_validator(mode="after")
    def _one_book(self) -> RuleTest:
        if (self.book is None) == (self.book_file is None):
            raise ValueError("give exactly one of 'book' or 'book_file'")
        return self


class RuleTestFile(_Strict):
    """Unit tests for rule files (`*.test.yaml`), run by `rolesync test`."""

    rule_files: list[Annotated[StrictStr, Field(min_length=1)]] = Field(
        min_length=1,
        description="The rule files (or folders) under test, relative to this test file: one "
        "roles file and one routing file.",
    )
    now: date = Field(description="The day the plans are made for (YYYY-MM-DD).")
    tests: list[RuleTest] = Field(min_length=1, description="The tests, run in order.")
