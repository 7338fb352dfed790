"""routing.yaml `carry`: the records that follow a handed-off account to its new owner.

Kept apart from rules.schema (which holds the Handoff block that uses it) so that
each stays readable; the same strict, closed models (`extra="forbid"`).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from roleSync.model import DealKind
from roleSync.rules.field_docs import DescribedModel


class _Strict(DescribedModel):
    # As rules.schema._Strict (which imports this module, so cannot be imported here).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class CarryWhose(StrEnum):
    ALL = "all"
    PREVIOUS_OWNER = "previous_owner"


class CarryDeals(_Strict):
    """Open deals of the account that move to its new owner. Closed deals never move:
    a won deal stays with whoever won it."""

    kinds: list[DealKind] = Field(
        default_factory=lambda: [DealKind.RENEWAL, DealKind.EXPANSION], min_length=1
    )
    """The open deals' kinds that move (default: [renewal, expansion])."""
    whose: CarryWhose = CarryWhose.ALL
    """all: whoever owns them; previous_owner: only those the account's previous owner owns."""


class Carry(_Strict):
    """One kind of record that follows the account to its new owner: give exactly one key."""

    deals: CarryDeals | None = None
    """Open deals of the given kinds, e.g. `{kinds: [renewal, expansion]}`."""
    contacts: CarryWhose | None = None
    """The account's contacts: all, or previous_owner (only those the previous owner owns)."""
    tasks: CarryWhose | None = None
    """The account's open tasks: all, or previous_owner (only those the previous owner owns)."""

    @model_validator(mode="after")
    def _one_object(self) -> Carry:
        if len(self.objects) != 1:
            raise PydanticCustomError(
                "carry-entry", "each carry entry names exactly one of deals, contacts or tasks"
            )
        return self

    @property
    def objects(self) -> tuple[str, ...]:
        return tuple(n for n in ("deals", "contacts", "tasks") if getattr(self, n) is not None)
