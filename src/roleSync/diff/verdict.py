"""The guardrail verdict of a rule change: would the new rules' run be stopped?

Sync's guardrails (sync/guardrails.py) are counted on the new plan exactly as a run
counts them, in sync's words; the base plan is counted the same way, so a reader sees
what the change adds. One more count belongs to the change itself: owners whose role
the new rules flip against the roles the base rules give. Sync counts flips against
the last run's roles (or the CRM's role field); once the base rules have been running,
those are the base plan's roles, so the change's flips are the flips the first run
after the merge meets. They count against `max_role_changes` too, so a swap of hunter
and farmer is stopped in review even where no run was ever recorded (a CI job).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from roleSync.profile import GuardrailsSection


@dataclass(frozen=True, slots=True)
class Measured:
    """What a run's guardrails count on one plan, and sync's words when over a limit."""

    changes: int
    accounts: int  # the book's accounts, for max_share
    role_flips: int  # against the last run's roles or the CRM's role field
    metric_rewrites: int
    related: int
    tasks: int
    reasons: tuple[str, ...] = ()

    @property
    def share(self) -> float:
        return self.changes / self.accounts if self.accounts else 0.0


@dataclass(frozen=True, slots=True)
class Check:
    """One guardrail: its limit and what the base and new plans count against it."""

    guardrail: str
    limit: float
    base: float
    new: float

    @property
    def exceeded(self) -> bool:
        return self.new > self.limit


@dataclass(frozen=True, slots=True)
class Verdict:
    checks: list[Check]
    reasons: list[str]  # why a run under the new rules would be stopped; empty: it runs
    base_reasons: list[str]  # the same for the base rules (already stopped before the change)

    @property
    def stops(self) -> bool:
        return bool(self.reasons)

    @property
    def base_stops(self) -> bool:
        return bool(self.base_reasons)


CHANGE_FLIPS = "role_flips_by_change"


def guardrail_verdict(
    limits: GuardrailsSection, base: Measured, new: Measured, flipped: Sequence[str]
) -> Verdict:
    """`flipped`: ids of the owners whose role the new rules flip against the base's."""
    checks = [
        Check("max_changes", limits.max_changes, base.changes, new.changes),
        Check("max_share", limits.max_share, round(base.share, 4), round(new.share, 4)),
        Check("max_role_changes", limits.max_role_changes, base.role_flips, new.role_flips),
        Check(
            "max_metric_writes", limits.max_metric_writes, base.metric_rewrites, new.metric_rewrites
        ),
        Check("max_related_changes", limits.max_related_changes, base.related, new.related),
        Check("max_handoff_tasks", limits.max_handoff_tasks, base.tasks, new.tasks),
        Check(CHANGE_FLIPS, limits.max_role_changes, 0, len(flipped)),
    ]
    reasons = list(new.reasons)
    # Sync's own flip count already says it: the change's count would repeat it.
    if len(flipped) > limits.max_role_changes and new.role_flips <= limits.max_role_changes:
        shown = ", ".join(flipped[:5]) + (", ..." if len(flipped) > 5 else "")
        reasons.append(
            f"the new rules flip the role of {len(flipped)} owners against the base rules "
            f"({shown}), more than max_role_changes {limits.max_role_changes}"
        )
    return Verdict(checks, reasons, list(base.reasons))
