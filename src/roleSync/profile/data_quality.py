"""The profile's `data_quality` section: how book health findings gate a run.

Every check of the book health gate (`roleSync.health`) has a policy here: a severity
(error stops `plan` and `sync`, warning is printed and recorded, ignore is neither) and a
tolerance (how many affected rows, or what share of the rows the check looks at, pass
without the check firing). A check fires when the rows it finds exceed its tolerance; by
default nothing is tolerated. Amount bounds say what a negative and an absurd amount are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from roleSync.profile.common import StrictSection

CheckSeverity = Literal["error", "warning", "ignore"]

# The largest bound a profile may give: a million deals at 1e15 sum to 1e21, so sums of
# bounded amounts stay far from float overflow whatever the book's size.
AMOUNT_LIMIT = 1e15

# Check name (the key under data_quality) -> its default severity.
DEFAULT_SEVERITIES: Mapping[str, CheckSeverity] = {
    # Unmapped deal kinds silently turn renewals into new business (every farmer a hunter).
    "unmapped_deal_kind": "error",
    "unmapped_stage": "error",
    # Unmapped lifecycle values read as "other": customers are still known by won deals.
    "unmapped_lifecycle": "warning",
    "unknown_account": "error",
    "unknown_owner": "error",
    "missing_amount": "warning",
    "missing_close_date": "warning",
    "negative_amount": "error",
    "absurd_amount": "error",
    "duplicate_id": "error",
}
CHECKS = tuple(DEFAULT_SEVERITIES)


@dataclass(frozen=True, slots=True)
class Policy:
    """A check's policy with its defaults filled in."""

    severity: CheckSeverity
    max_rows: int | None
    max_share: float | None

    def fires(self, affected: int, total: int) -> bool:
        """True when `affected` of `total` rows exceed the tolerance (and it is not ignored)."""
        if self.severity == "ignore" or affected <= 0:
            return False
        if self.max_share is not None:
            return affected > self.max_share * total
        return affected > (self.max_rows or 0)


class CheckPolicy(StrictSection):
    """One check: `severity` (default: the check's own) and at most one tolerance."""

    severity: CheckSeverity | None = None
    max_rows: int | None = Field(
        default=None, ge=0, description="Affected rows tolerated before the check fires."
    )
    max_share: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Share (0..1) of the rows the check looks at tolerated before it fires.",
    )

    @model_validator(mode="after")
    def _one_tolerance(self) -> CheckPolicy:
        if self.max_rows is not None and self.max_share is not None:
            raise ValueError("give max_rows or max_share, not both")
        return self


class AmountBounds(StrictSection):
    """Amounts below `min` are negative findings, above `max` absurd ones."""

    min: float = Field(default=0.0, ge=-AMOUNT_LIMIT, le=AMOUNT_LIMIT)
    max: float = Field(default=1e12, ge=-AMOUNT_LIMIT, le=AMOUNT_LIMIT)

    @model_validator(mode="after")
    def _ordered(self) -> AmountBounds:
        if not (math.isfinite(self.min) and math.isfinite(self.max)):
            raise ValueError("amount bounds must be finite numbers")
        if self.min >= self.max:
            raise ValueError(f"amounts.min ({self.min:g}) must be below amounts.max ({self.max:g})")
        return self


class DataQualitySection(StrictSection):
    """Per check of the book health gate, its policy; and the amount bounds."""

    amounts: AmountBounds = Field(default_factory=AmountBounds)
    # How duplicate_id compares ids: case_insensitive folds case and spaces;
    # case_sensitive only spaces (Salesforce's 15-character ids, as report exports give
    # them, differ by case alone by design; the API's 18-character ids never do).
    ids: Literal["case_insensitive", "case_sensitive"] = "case_insensitive"
    unmapped_deal_kind: CheckPolicy = Field(default_factory=CheckPolicy)
    unmapped_stage: CheckPolicy = Field(default_factory=CheckPolicy)
    unmapped_lifecycle: CheckPolicy = Field(default_factory=CheckPolicy)
    unknown_account: CheckPolicy = Field(default_factory=CheckPolicy)
    unknown_owner: CheckPolicy = Field(default_factory=CheckPolicy)
    missing_amount: CheckPolicy = Field(default_factory=CheckPolicy)
    missing_close_date: CheckPolicy = Field(default_factory=CheckPolicy)
    negative_amount: CheckPolicy = Field(default_factory=CheckPolicy)
    absurd_amount: CheckPolicy = Field(default_factory=CheckPolicy)
    duplicate_id: CheckPolicy = Field(default_factory=CheckPolicy)

    @field_validator(*CHECKS, mode="before")
    @classmethod
    def _severity_alone(cls, value: Any) -> Any:
        # `missing_amount: ignore` is short for `missing_amount: {severity: ignore}`.
        return {"severity": value} if isinstance(value, str) else value

    def policy(self, check: str) -> Policy:
        """The policy of `check` (a key of DEFAULT_SEVERITIES), defaults filled in."""
        given: CheckPolicy = getattr(self, check)
        return Policy(given.severity or DEFAULT_SEVERITIES[check], given.max_rows, given.max_share)
