"""Guardrails: a plan that writes more than the profile allows is not applied.

A rule edit that classifies every farmer as a hunter, a route that matches every
account, or a deal-type mapping that lost a value, produces a perfectly valid plan that
reassigns the whole book or relabels the whole team. The guardrail is the difference
between reading that plan in the morning and cleaning up after it: the plan is saved,
nothing is written, the run exits 3, and a human re-runs it with --allow-large once
they agree with it.

What is counted:
- ownership changes, against `max_changes` and, as a share of the book's accounts
  counted by the adapter at apply time (never the plan's own summary), `max_share`;
- role flips (`max_role_changes`): owners whose role goes from a known role to another.
  The previous role is the one the CRM holds in the role destination field when the
  profile writes roles (the value the plan's compare-and-set write was planned from),
  else the role the profile's last recorded run gave the owner in its plan;
- metric values rewritten (`max_metric_writes`): destination fields that held a value
  and get another one. Filling a blank field is not a rewrite;
- records carried with the accounts (`max_related_changes`: routing.yaml `carry`) and
  handoff tasks to create (`max_handoff_tasks`: routing.yaml `tasks`).
"""

from __future__ import annotations

from collections.abc import Mapping

from roleSync.errors import GuardrailError as GuardrailError  # raised from here
from roleSync.model import Role
from roleSync.plan import Plan, same_value
from roleSync.profile import GuardrailsSection, Profile

ROLES = frozenset(r.value for r in Role)


def exceeded(changes: int, accounts: int, limits: GuardrailsSection) -> list[str]:
    """Why `changes` ownership changes in a book of `accounts` accounts are too many;
    empty when they are within the limits."""
    reasons = []
    if changes > limits.max_changes:
        reasons.append(f"{changes} ownership changes exceed max_changes {limits.max_changes}")
    # An empty (or unknown) book has no share to speak of; max_changes still applies.
    if accounts > 0 and changes / accounts > limits.max_share:
        reasons.append(
            f"{changes} of the book's {accounts} accounts ({changes / accounts:.0%}) "
            f"exceed max_share {limits.max_share:g} ({limits.max_share:.0%})"
        )
    return reasons


def role_field(profile: Profile) -> str | None:
    """The destination field of the role, when the profile writes it."""
    return profile.metrics.fields.get("role") if profile.metrics.write else None


def role_flips(plan: Plan, profile: Profile, last_roles: Mapping[str, str]) -> list[str]:
    """Owners whose role flips from a known role to another one (see the module doc).
    `last_roles`: owner id -> role in the profile's last run, used when roles are not
    written to the CRM."""
    field = role_field(profile)
    if field is not None:
        return sorted(
            w.owner_id
            for w in plan.metric_writes
            if w.expected.get(field) in ROLES
            and field in w.values
            and w.values[field] != w.expected[field]
        )
    return sorted(
        o.owner_id
        for o in plan.owners
        if last_roles.get(o.owner_id) in ROLES and last_roles[o.owner_id] != o.role.value
    )


def rewritten_values(plan: Plan) -> int:
    """Destination fields that held a value and are planned to get another one."""
    return sum(
        1
        for w in plan.metric_writes
        for name, value in w.values.items()
        if w.expected.get(name) not in (None, "") and not same_value(w.expected[name], value)
    )


def write_limits(plan: Plan, profile: Profile, last_roles: Mapping[str, str]) -> list[str]:
    """Why the plan's role flips and metric rewrites are too many; empty when within."""
    limits = profile.guardrails
    reasons = []
    flips = role_flips(plan, profile, last_roles)
    if len(flips) > limits.max_role_changes:
        shown = ", ".join(flips[:5]) + (", ..." if len(flips) > 5 else "")
        reasons.append(
            f"{len(flips)} owners change role ({shown}), more than max_role_changes "
            f"{limits.max_role_changes}"
        )
    rewritten = rewritten_values(plan)
    if rewritten > limits.max_metric_writes:
        reasons.append(
            f"{rewritten} metric values rewritten exceed max_metric_writes "
            f"{limits.max_metric_writes}"
        )
    if len(plan.related_changes) > limits.max_related_changes:
        reasons.append(
            f"{len(plan.related_changes)} carried records exceed max_related_changes "
            f"{limits.max_related_changes}"
        )
    if len(plan.task_creates) > limits.max_handoff_tasks:
        reasons.append(
            f"{len(plan.task_creates)} handoff tasks exceed max_handoff_tasks "
            f"{limits.max_handoff_tasks}"
        )
    return reasons
