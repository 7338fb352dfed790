"""`explain`'s words for handoff blocks: what each does with an owner's accounts, and
what it says when no trigger fired. Pure text from the routing file's models."""

from __future__ import annotations

from roleSync.model import Owner, Role
from roleSync.plan import OwnerRole
from roleSync.plan.triggers import describe_trigger
from roleSync.rules.schema import Handoff, Trigger


def no_trigger(blocks: tuple[Handoff, ...]) -> str:
    """The trigger line of an account no handoff block fired for."""
    if len(blocks) == 1 and blocks[0].trigger is Trigger.FIRST_WON_NEW_BUSINESS:
        return (
            "Handoff trigger: none yet. The trigger is the account's first won "
            "new-business deal, and it has none: nothing to hand off."
        )
    shown = "; ".join(f"{b.id}: {describe_trigger(b)}" for b in blocks)
    return f"Handoff trigger: none yet. No handoff block fired ({shown}): nothing to hand off."


def owner_handoff(owner: Owner, role: OwnerRole, handoff: Handoff, named: bool) -> str:
    """What one handoff block does with an owner's accounts (triggers.Handoffs.decide)."""
    label = f"handoff {handoff.id}: " if named else ""
    from_roles = ", ".join(r.value for r in handoff.from_roles)
    event = (
        "the first won new business"
        if handoff.trigger is Trigger.FIRST_WON_NEW_BUSINESS
        else describe_trigger(handoff)
    )
    delay = f"{handoff.delay_days} days after {event}"
    if handoff.trigger is Trigger.OWNER_LEFT:
        fate = "redistributed by its routes" if not owner.active else "not concerned (active)"
        return f"  {label}owner_left: their whole book is {fate}"
    if not owner.active:
        flag = str(handoff.from_inactive_owners).lower()
        verdict = f"handed off {delay}" if handoff.from_inactive_owners else "kept"
        return (
            f"  {label}inactive: their customers are {verdict} "
            f"(handoff.from_inactive_owners: {flag})"
        )
    if role.role in {Role(r.value) for r in handoff.from_roles}:
        return (
            f"  {label}as a {role.role.value}, their customers are handed off {delay} "
            f"(handoff.from_roles: {from_roles})"
        )
    return (
        f"  {label}their accounts stay with them: a {role.role.value} is not in "
        f"handoff.from_roles ({from_roles})"
    )
