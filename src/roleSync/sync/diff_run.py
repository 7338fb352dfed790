"""`rolesync diff`: both rule versions loaded, the book pulled once, two plans, compared.

The base rules come from a folder (`--base-rules`) or a git ref (`--base-ref`, read with
git into a temporary folder). Both versions are checked against the profile's mapping
as `check -c` checks them: a rule set written for another profile (an account or owner
field this profile does not map, a stage or deal kind it does not know) is refused
with positioned errors, exit 1, rather than compared. Nothing is written: no run is
recorded, the rotation state is only read.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from roleSync.adapters.base import Adapter
from roleSync.check import profile_context
from roleSync.diff import Measured, RuleDiff, compare_plans, guardrail_verdict
from roleSync.errors import Diagnostic, InputError
from roleSync.git_rules import rules_at_ref
from roleSync.plan import Plan
from roleSync.profile import Profile
from roleSync.report.progress import NO_PROGRESS, Progress
from roleSync.rules.compile import comparisons
from roleSync.rules.ruleset import RuleSet, load_rule_set
from roleSync.rules.semantics import CheckContext
from roleSync.sync.guardrails import exceeded, rewritten_values, role_flips, write_limits
from roleSync.sync.planning import HealthSink, PlanRequest, plans_under
from roleSync.sync.recorder import last_run_roles
from roleSync.sync.state_open import open_state


@dataclass(frozen=True, slots=True)
class DiffRequest:
    profile: Profile
    new_rules: Sequence[Path]
    as_of: date
    base_rules: Sequence[Path] = ()
    base_ref: str | None = None  # read the base rules at this ref, at the new rules' paths


def _label(paths: Sequence[Path]) -> str:
    return ", ".join(str(p) for p in paths)


def _load(
    paths: Sequence[Path], context: CheckContext, shown: Mapping[str, str] | None = None
) -> tuple[RuleSet | None, list[Diagnostic]]:
    """The rule set, or its errors (named as `shown` says: `REF:path` for copies)."""
    try:
        return load_rule_set(paths, context), []
    except InputError as exc:
        if not shown:
            return None, list(exc.diagnostics)
        return None, [replace(d, path=_renamed(d.path, shown)) for d in exc.diagnostics]


def _renamed(path: str, shown: Mapping[str, str]) -> str:
    # "no roles rule file found" names the folders it looked in, joined.
    return ", ".join(shown.get(part, part) for part in path.split(", "))


def load_versions(request: DiffRequest) -> tuple[RuleSet, RuleSet, str]:
    """(base, new, base label): both loaded, or one InputError with every problem of
    both (GitRulesError first, when the base ref cannot be read)."""
    context = profile_context(request.profile)
    new, problems = _load(request.new_rules, context)
    if request.base_ref is not None:
        if not all(p.exists() for p in request.new_rules):
            raise InputError(problems)  # -r names nothing: no path to read at the ref either
        with tempfile.TemporaryDirectory(prefix="rolesync-base-") as tmp:
            located = rules_at_ref(request.base_ref, request.new_rules, Path(tmp))
            base, more = _load(located.paths, context, located.shown)
        label = _label([Path(located.shown[str(p)]) for p in located.paths])
    else:
        base, more = _load(request.base_rules, context)
        label = _label(request.base_rules)
    problems += more
    if problems:
        raise InputError(problems)
    assert base is not None and new is not None
    return base, new, label


def classify_metrics(*versions: RuleSet) -> list[str]:
    """The metrics the classify rules of any version compare: the figures a role change shows."""
    return sorted(
        {
            cmp.metric
            for rules in versions
            for rule in rules.roles.classify
            for cmp in comparisons(rule.when)
            if cmp.metric is not None
        }
    )


def measured(plan: Plan, profile: Profile, last_roles: Mapping[str, str]) -> Measured:
    """What a run's guardrails count on `plan`, as apply counts them (recorder.start)."""
    accounts = plan.summary.get("accounts", 0)
    reasons = exceeded(len(plan.changes), accounts, profile.guardrails)
    reasons += write_limits(plan, profile, last_roles)
    return Measured(
        changes=len(plan.changes),
        accounts=accounts,
        role_flips=len(role_flips(plan, profile, last_roles)),
        metric_rewrites=rewritten_values(plan),
        related=len(plan.related_changes),
        tasks=len(plan.task_creates),
        reasons=tuple(reasons),
    )


def rule_diff(
    request: DiffRequest,
    adapter: Adapter,
    progress: Progress = NO_PROGRESS,
    on_health: HealthSink | None = None,
) -> RuleDiff:
    """Load both versions (before any pull), pull once, plan twice, compare."""
    base_rules, new_rules, base_label = load_versions(request)
    profile = request.profile
    plan_request = PlanRequest(profile, request.new_rules, request.as_of)
    with open_state(profile) as store:
        base, new = plans_under(
            [base_rules, new_rules], plan_request, adapter, progress, store, on_health
        )
        last_roles = last_run_roles(store, profile, new)
    flipped = flipped_roles(base, new)
    verdict = guardrail_verdict(
        profile.guardrails,
        measured(base, profile, last_roles),
        measured(new, profile, last_roles),
        flipped,
    )
    notes = []
    if base_rules.digest == new_rules.digest:
        notes.append("the base and new rule files are the same bytes (same digest)")
    if base.window_days != new.window_days:
        notes.append(
            f"the versions read different windows ({base.window_days} and "
            f"{new.window_days} days): figures show both"
        )
    return compare_plans(
        base,
        new,
        labels=(base_label, _label(request.new_rules)),
        metrics=classify_metrics(base_rules, new_rules),
        verdict=verdict,
        notes=notes,
    )


def flipped_roles(base: Plan, new: Plan) -> list[str]:
    """Ids of the owners whose role the new plan gives differently from the base plan."""
    before = {o.owner_id: o.role for o in base.owners}
    return sorted(o.owner_id for o in new.owners if before.get(o.owner_id, o.role) is not o.role)
