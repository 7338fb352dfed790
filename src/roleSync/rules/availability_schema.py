"""routing.yaml `availability` and a route's `when_unavailable`: out-of-office windows.

Kept apart from rules.schema (which holds the RoutingFile that uses them) so that each
stays readable; the same strict, closed models (`extra="forbid"`).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import ConfigDict, Field, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from roleSync.rules.field_docs import DescribedModel


class WhenUnavailable(StrEnum):
    SKIP = "skip"
    WAIT = "wait"


class Away(DescribedModel):
    """One owner's out-of-office window: no handoff reaches them from `from` to `until`."""

    # `from` is a Python keyword: the field is `start`, written `from` in the file.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, populate_by_name=True)

    owner: StrictStr = Field(min_length=1)
    """The owner's email (case-insensitive) or CRM id, as in a pool."""
    start: date = Field(alias="from")
    """The first day away (YYYY-MM-DD), included."""
    until: date
    """The last day away (YYYY-MM-DD), included: they receive handoffs again the day after."""
    reason: StrictStr | None = Field(default=None, min_length=1)
    """Why, shown with every handoff they are passed over for, e.g. `parental leave`."""

    @model_validator(mode="after")
    def _in_order(self) -> Away:
        if self.until < self.start:
            raise PydanticCustomError(
                "inverted-window",
                "the window ends ({until}) before it starts ({start}): swap from and until?",
                {"until": self.until.isoformat(), "start": self.start.isoformat(), "key": "until"},
            )
        return self
