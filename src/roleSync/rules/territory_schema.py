"""routing.yaml `assign.match`: territory conditions comparing the account with each
candidate owner.

Kept apart from rules.schema (whose Assign uses it), like carry_schema and task_schema;
the same strict, closed models. Field names are plain text here: `rolesync check`
checks their shape with positions and a did-you-mean (rules/ruleset.py), and, given a
connector profile, that the profile maps them (rules/semantics.py).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, StrictStr

from roleSync.rules.field_docs import DescribedModel

# `owner.fields.<name>` reaches the extra owner fields a connector profile maps
# (`import.owners.fields`, `salesforce.owner_fields`, `hubspot.owner_properties`).
OWNER_EXTRA_PREFIX = "owner.fields."
# A multi-valued owner field holds its values in one text, separated by this (what
# Salesforce multi-select picklists and HubSpot multiple checkboxes send).
LIST_SEPARATOR = ";"


class _Strict(DescribedModel):
    # As rules.schema._Strict (which imports this module, so cannot be imported here).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class MatchOp(StrEnum):
    EQ = "eq"
    IN = "in"


class TerritoryMatch(_Strict):
    """One territory condition: the account's value compared with the candidate owner's.
    Text is compared case-insensitively with surrounding blanks ignored; a blank value on
    either side never matches."""

    account: StrictStr
    """The account field, e.g. `account.region` or `account.fields.country`."""
    owner: StrictStr
    """The owner field, `owner.fields.<name>`: an extra owner field the connector profile
    maps (e.g. `owner.fields.regions`)."""
    op: MatchOp = MatchOp.EQ
    """eq: the account's value equals the owner's; in: the account's value is one of the
    owner's values, a list written in one field separated by `;` (`EMEA;APAC`, as
    Salesforce multi-select picklists and HubSpot checkboxes hold it)."""
