"""Planning a run: load the rules, gather the state, pull the book once, build plans.

`make_plan` is what `plan` and `sync` do; `plans_under` builds one plan per rule set from
one pull of the book, for `rolesync diff` to compare rule versions on the same book,
date, rotation state and held roles.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from roleSync.adapters.base import Adapter
from roleSync.health import BookHealth, gate
from roleSync.model import Book, DealWindow
from roleSync.plan import Plan, PlanInputs, build_plan
from roleSync.plan.carry import pull_window
from roleSync.plan.triggers import plan_window
from roleSync.profile import Profile
from roleSync.report.progress import NO_PROGRESS, Progress
from roleSync.rules.availability import WindowFields, field_problems
from roleSync.rules.classify import CompiledRoles
from roleSync.rules.routes import CompiledRouting
from roleSync.rules.ruleset import RuleSet, load_rule_set
from roleSync.rules.schema import Handoff
from roleSync.sync.held import held_roles
from roleSync.sync.logs import event
from roleSync.sync.recorder import stored_owners
from roleSync.sync.state_open import borrowed_state
from roleSync.sync.store import StateStore

# Told the book health of a plan that passed the gate (its warnings, if any).
HealthSink = Callable[[BookHealth], None]


@dataclass(frozen=True, slots=True)
class PlanRequest:
    profile: Profile
    rule_paths: Sequence[Path]
    as_of: date


def make_plan(
    request: PlanRequest,
    adapter: Adapter,
    progress: Progress = NO_PROGRESS,
    store: StateStore | None = None,
    on_health: HealthSink | None = None,
    rules: RuleSet | None = None,
) -> Plan:
    """Load and compile the rules first, so a broken rule file fails before any pull.

    The book health gate runs before anything is planned (BookHealthError: nothing
    planned, nothing written): on a local book before the pull, which would read it as
    it stands; on a CRM's mirror after the pull that brought it up to date."""
    rules = rules or load_rule_set(request.rule_paths)
    return plans_under([rules], request, adapter, progress, store, on_health)[0]


def plans_under(
    rule_sets: Sequence[RuleSet],
    request: PlanRequest,
    adapter: Adapter,
    progress: Progress = NO_PROGRESS,
    store: StateStore | None = None,
    on_health: HealthSink | None = None,
) -> list[Plan]:
    """One plan per rule set (`request.rule_paths` unused), all from ONE pull of the book
    with the same date, rotation state and held roles: `rolesync diff` compares them."""
    profile = request.profile
    with borrowed_state(profile, store) as state:
        rotation = state.rotation(profile.name)
        handed_off = state.handed_off(profile.name)
        # Only with `hysteresis`: other rule files never read past plans.
        hold = any(rules.roles.hysteresis is not None for rules in rule_sets)
        stored = stored_owners(state, profile) if hold else []
    all_inputs = [
        PlanInputs(
            profile=profile.name,
            roles=CompiledRoles(rules.roles),
            routing=CompiledRouting(rules.routing),
            rules_digest=rules.digest,
            as_of=request.as_of,
            rotation=rotation,
            handed_off=handed_off,
            metric_fields=dict(profile.metrics.fields) if profile.metrics.write else {},
            availability=window_fields(profile),
        )
        for rules in rule_sets
    ]
    _warn_not_pulled(profile, [b for i in all_inputs for b in i.routing.blocks])
    local = profile.kind == "local"
    health = gate(profile) if local else None
    with progress.stage("pull") as stage:
        # Deals are folded into the rules' window as they are read: none is kept. A
        # handoff that carries open deals needs them: then the book holds every deal.
        book = adapter.pull(shared_window(all_inputs))
        stage.done(
            f"pulled {len(book.owners)} owners, {len(book.accounts)} accounts, "
            f"{book.deal_count} deals"
        )
    if health is None:
        health = gate(profile)
    if on_health is not None:
        on_health(health)
    held = held_roles(profile, book, stored) if hold else None
    _warn_unread_windows(profile, book)
    plans = []
    for rules, inputs in zip(rule_sets, all_inputs, strict=True):
        if held is not None and rules.roles.hysteresis is not None:
            inputs = replace(inputs, previous_roles=held.roles, pending_roles=held.pending)
        plans.append(build_plan(book, inputs))
    return plans


def shared_window(inputs: Sequence[PlanInputs]) -> DealWindow | None:
    """The window one pull folds deals into for plans under several rule sets: theirs
    when they read one window (watching the stages any of them watches), else none:
    every deal held, each plan folds its own."""
    days = {i.roles.window_days for i in inputs}
    if len(days) > 1:
        return None
    blocks = [b for i in inputs for b in i.routing.blocks]
    return pull_window(plan_window(inputs[0].as_of, days.pop(), blocks), blocks)


def window_fields(profile: Profile) -> WindowFields | None:
    """The owner fields the profile reads out-of-office windows from, if any."""
    return None if profile.availability is None else profile.availability.window_fields


def _warn_unread_windows(profile: Profile, book: Book) -> None:
    """An owner field holding something that is no window (not a date, one day without
    the other): the plan reads no window for that owner, and says so rather than guess."""
    fields = window_fields(profile)
    if fields is None:
        return
    for problem in field_problems(book.owners.values(), fields):
        event(
            "unread-availability",
            f"profile {profile.name} availability: {problem}",
            level=logging.WARNING,
        )


def _warn_not_pulled(profile: Profile, blocks: Sequence[Handoff]) -> None:
    """A handoff carrying contacts or tasks the CRM profile does not pull moves none of
    them: said once per run, as `check -c` says it, rather than silently."""
    unpulled = profile.unpulled_related()
    if not unpulled:
        return
    said: set[tuple[str, str]] = set()  # once, when both rule versions of a diff carry it
    for block in blocks:
        for name in sorted({n for entry in block.carry for n in entry.objects}):
            if name in unpulled and (block.id, name) not in said:
                said.add((block.id, name))
                event(
                    "not-pulled",
                    f"handoff {block.id!r} carries {name}, which profile {profile.name} does "
                    f"not pull, so none move: set {profile.kind}.pull.{name}: true",
                    level=logging.WARNING,
                    handoff=block.id,
                    object=name,
                )
