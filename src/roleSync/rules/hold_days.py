"""Stable roles by days (roles.yaml `hysteresis: {days: N}`): an owner keeps the role of
the previous run until the rules have given another one on N consecutive days.

Days are calendar days, counted from the date of the first run whose rules gave the new
role (its `since`) to the date of this run, both included: with N = 3 a change the rules
first give on June 1 is made by the run of June 3, whether or not a run happened on
June 2. A run whose rules give the current role again (or a third role) breaks the
streak: the next change starts from its own first day. The streak travels from run to
run in the plan (`OwnerRole.pending`); the run history is never searched. Pure.
"""

from __future__ import annotations

from datetime import date, timedelta

from roleSync.model import PendingRole, Role


def streak(pending: PendingRole | None, fresh: Role, as_of: date) -> PendingRole:
    """The change pending after a run on `as_of` whose rules give `fresh`, another role
    than the one held. The previous run's streak goes on when it was for the same role;
    a streak for another role, none, or one starting after `as_of` (a plan made for an
    earlier day than the last run's) starts afresh on `as_of`."""
    if pending is not None and pending.role is fresh and pending.since <= as_of:
        return pending
    return PendingRole(fresh, as_of)


def days_given(pending: PendingRole, as_of: date) -> int:
    """Days from the streak's first day to `as_of`, both included (same day: 1)."""
    return (as_of - pending.since).days + 1


def switch_day(pending: PendingRole, days: int) -> date:
    """The first run date on which the pending role is taken, if the rules still give it."""
    return pending.since + timedelta(days=days - 1)


def held_for_days(pending: PendingRole, as_of: date, days: int) -> str:
    """`the rules have given farmer for 2 of 3 days (since 2026-06-01); farmer from
    2026-06-03 if they still give it`."""
    return (
        f"the rules have given {pending.role.value} for {days_given(pending, as_of)} of "
        f"{days} days (since {pending.since}); {pending.role.value} from "
        f"{switch_day(pending, days)} if they still give it"
    )


def taken_after_days(pending: PendingRole, as_of: date, days: int) -> str:
    """Said after the reason of a change the days allowed."""
    return (
        f"the rules have given it for {days_given(pending, as_of)} days (since "
        f"{pending.since}; hysteresis days: {days})"
    )
