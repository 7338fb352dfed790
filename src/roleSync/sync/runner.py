"""A run: pull -> plan -> apply -> report. The only stage that reads clocks and files.

The pure stages (metrics, rules, planning) get everything passed in; this module
gathers it: the profile, the rule files, the rotation state, `as_of`, the run id.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from roleSync.adapters.base import Adapter
from roleSync.adapters.local import LocalAdapter
from roleSync.errors import ConflictError
from roleSync.plan import Plan, PlanInputs, build_plan
from roleSync.profile import Profile
from roleSync.rules.classify import CompiledRoles
from roleSync.rules.routing import CompiledRouting
from roleSync.rules.ruleset import load_rule_set
from roleSync.sync.report import RunReport, build_report
from roleSync.sync.state import load_rotation, save_rotation, write_atomically

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def new_run_id(now: datetime) -> str:
    """Sortable by time, unique across concurrent runs: 20261122T101500Z-3f9a1c."""
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def open_adapter(profile: Profile, clock: Clock = utc_now) -> Adapter:
    """The adapter of the profile's kind. Remote adapters connect lazily, on the first
    pull or apply, so a broken rule file fails before any network call."""
    if profile.kind == "local":
        return LocalAdapter(profile, now=clock)
    if profile.kind == "salesforce":
        # Imported here: the local kind should not pay for loading requests and the SDK.
        from roleSync.adapters.salesforce import SalesforceAdapter

        return SalesforceAdapter(profile, now=clock)
    raise ConflictError(f"profile kind {profile.kind!r} has no adapter yet")


@dataclass(frozen=True, slots=True)
class PlanRequest:
    profile: Profile
    rule_paths: Sequence[Path]
    as_of: date


def make_plan(request: PlanRequest, adapter: Adapter) -> Plan:
    """Load and compile the rules first, so a broken rule file fails before any pull."""
    rules = load_rule_set(request.rule_paths)
    inputs = PlanInputs(
        profile=request.profile.name,
        roles=CompiledRoles(rules.roles),
        routing=CompiledRouting(rules.routing),
        rules_digest=rules.digest,
        as_of=request.as_of,
        rotation=load_rotation(request.profile.state_path),
        metric_fields=dict(request.profile.metrics.fields) if request.profile.metrics.write else {},
    )
    return build_plan(adapter.pull(), inputs)


def apply_plan(
    profile: Profile, plan: Plan, adapter: Adapter, *, mode: str, clock: Clock = utc_now
) -> RunReport:
    if plan.profile != profile.name:
        raise ConflictError(
            f"this plan was made for profile {plan.profile!r}, not {profile.name!r}"
        )
    started = clock()
    run_id = new_run_id(started)
    run_dir = profile.state_path / "runs" / run_id
    plan_path = run_dir / "plan.json"
    write_atomically(plan_path, plan.to_json())
    result = adapter.apply(plan.changes, plan.metric_writes)
    if plan.rotation:
        save_rotation(profile.state_path, plan.rotation)
    report = build_report(plan, result, run_id=run_id, mode=mode, started=started, finished=clock())
    report.plan_path = str(plan_path)
    report.write(run_dir / "report.json")
    return report


def sync(request: PlanRequest, *, clock: Clock = utc_now) -> tuple[Plan, RunReport]:
    adapter = open_adapter(request.profile, clock)
    try:
        plan = make_plan(request, adapter)
        return plan, apply_plan(request.profile, plan, adapter, mode="sync", clock=clock)
    finally:
        adapter.close()
