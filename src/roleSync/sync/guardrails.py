"""Guardrails: a plan that moves more accounts than the profile allows is not applied.

A rule edit that classifies every farmer as a hunter, or a route that matches every
account, produces a perfectly valid plan that reassigns the whole book. The guardrail is
the difference between reading that plan in the morning and cleaning up after it: the
plan is saved, nothing is written, the run exits 3, and a human re-runs it with
--allow-large once they agree with it.
"""

from __future__ import annotations

from roleSync.errors import ExitCode, RoleSyncError
from roleSync.profile import GuardrailsSection


class GuardrailError(RoleSyncError):
    """A guardrail stopped the run before any write."""

    exit_code = ExitCode.GUARDRAIL

    def __init__(self, message: str, *, run_id: str, plan_path: str) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.plan_path = plan_path


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
