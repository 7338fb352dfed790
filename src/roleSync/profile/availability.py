"""The profile's `availability` section: out-of-office windows read from the CRM.

It names the owner fields (keys of `Owner.fields`, which each kind maps from its CRM
user fields) that hold an owner's first and last day away, and optionally why. A plan
reads them with routing.yaml's `availability` list (roleSync.rules.availability).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from roleSync.profile.common import FieldName, StrictSection
from roleSync.rules.availability import WindowFields


class AvailabilitySection(StrictSection):
    """Which owner fields hold each owner's out-of-office window."""

    from_field: FieldName = Field(
        description="Owner field holding the first day away (an ISO date; blank: not away)."
    )
    until_field: FieldName = Field(
        description="Owner field holding the last day away, included (an ISO date)."
    )
    reason_field: FieldName | None = Field(
        default=None, description="Optional owner field saying why (shown with the refusal)."
    )

    @model_validator(mode="after")
    def _distinct(self) -> AvailabilitySection:
        names = [self.from_field, self.until_field, self.reason_field]
        given = [n for n in names if n is not None]
        if len(set(given)) != len(given):
            raise ValueError("from_field, until_field and reason_field must name different fields")
        return self

    @property
    def window_fields(self) -> WindowFields:
        return WindowFields(self.from_field, self.until_field, self.reason_field)
