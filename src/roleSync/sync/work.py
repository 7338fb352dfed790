"""The work behind `plan` and `diff`, shared by the CLI and the Python API (roleSync.api):
one path, so both give the same plan, the same diff and the same one-line summary.

Opening the adapter here and closing it whatever happens is the point: a caller gets a
value back and no connection left open."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from roleSync.report.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from roleSync.diff import RuleDiff
    from roleSync.plan import Plan
    from roleSync.profile import Profile
    from roleSync.sync.diff_run import DiffRequest
    from roleSync.sync.planning import HealthSink


def plan_book(
    profile: Profile,
    rule_paths: Sequence[Path],
    as_of: date,
    *,
    progress: Progress = NO_PROGRESS,
    on_health: HealthSink | None = None,
) -> Plan:
    """Pull the profile's book and plan it under the rules: writes nothing anywhere."""
    from roleSync.sync.runner import PlanRequest, make_plan, open_adapter

    request = PlanRequest(profile, rule_paths, as_of)
    adapter = open_adapter(profile)
    try:
        return make_plan(request, adapter, progress, on_health=on_health)
    finally:
        adapter.close()


def diff_book(
    request: DiffRequest, *, progress: Progress = NO_PROGRESS, on_health: HealthSink | None = None
) -> RuleDiff:
    """Plan the book under the base and the new rules (one pull) and compare."""
    from roleSync.sync.diff_run import rule_diff
    from roleSync.sync.runner import open_adapter

    adapter = open_adapter(request.profile)
    try:
        return rule_diff(request, adapter, progress, on_health)
    finally:
        adapter.close()


def plan_summary(plan: Plan, written_to: Path) -> str:
    """`plan -o FILE`'s line: "plan: 3 ownership changes, ... metric writes, <skips>;
    written to FILE"."""
    from roleSync.render import skip_summary

    carried = f"{len(plan.related_changes)} carried records, " if plan.related_changes else ""
    carried += _task_summary(plan)
    return (
        f"plan: {len(plan.changes)} ownership changes, {carried}{len(plan.metric_writes)} "
        f"metric writes, {skip_summary(plan)}; written to {written_to}"
    )


def _task_summary(plan: Plan) -> str:
    """ "3 tasks (1 not for a previous owner who left), " or "" without tasks."""
    left = plan.summary.get("tasks_owner_left", 0)
    if not plan.task_creates and not left:
        return ""
    gone = f" ({left} not for a previous owner who left)" if left else ""
    return f"{len(plan.task_creates)} tasks{gone}, "
