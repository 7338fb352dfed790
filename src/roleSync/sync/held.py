"""Where roles.yaml `hysteresis` finds the previous run: each owner's previous role and
the role change the previous run was counting days of (`days`).

The previous role is the CRM's role field when the profile writes roles back (a person
may have set it since), else the owner's role in the plan of the profile's last
finished sync or apply. The days count comes only from that plan (`OwnerRole.pending`),
and only while the previous role is still the one that plan held: a role set by hand in
the CRM since, or a first run that takes roles from the CRM field, starts counting
afresh.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from roleSync.model import Book, PendingRole, Role
from roleSync.plan.types import OwnerRole
from roleSync.profile import Profile
from roleSync.sync.guardrails import role_field


@dataclass(frozen=True, slots=True)
class Held:
    """What a plan under `hysteresis` starts from (both empty without a previous run)."""

    roles: dict[str, Role] = field(default_factory=dict)
    pending: dict[str, PendingRole] = field(default_factory=dict)


def previous_roles(profile: Profile, book: Book, stored: Mapping[str, str]) -> dict[str, Role]:
    """Owner id -> role in the previous run, for `hysteresis`: the CRM's role field when
    the profile writes roles back (a person may have set it since), else the role in the
    last run's plan (`stored`). Values that are no role are left out: not held."""
    found: Mapping[str, object]
    name = role_field(profile)
    if name is not None:
        found = {o.id: o.recorded.get(name) for o in book.owners.values()}
    else:
        found = stored
    known = {role.value: role for role in Role}
    return {
        owner_id: known[value]
        for owner_id, value in found.items()
        if isinstance(value, str) and value in known
    }


def held_roles(profile: Profile, book: Book, owners: Sequence[OwnerRole]) -> Held:
    """The previous roles and pending changes, from the last run's plan (`owners`, empty
    without one) and, when roles are written back, the CRM."""
    roles = previous_roles(profile, book, {o.owner_id: o.role.value for o in owners})
    pending = {
        o.owner_id: o.pending
        for o in owners
        # A count is about leaving the role that plan held: not another one set since.
        if o.pending is not None and roles.get(o.owner_id) is o.role
    }
    return Held(roles, pending)
