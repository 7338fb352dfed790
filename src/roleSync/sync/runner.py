"""A run: pull -> plan -> apply -> report. The only stage that reads clocks and files.

The pure stages (metrics, rules, planning) get everything passed in; this module
gathers it: the profile, the rule files, the rotation state, `as_of`, the run id.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from roleSync.adapters.base import Adapter, RelatedBudget
from roleSync.adapters.book_reader import collector_paused
from roleSync.adapters.local import LocalAdapter
from roleSync.errors import ConflictError, Diagnostic, InputError, Severity
from roleSync.health import BookHealth
from roleSync.plan import Plan
from roleSync.plan.document import duplicate_entries, key_position
from roleSync.plan.recheck import refused_changes, refused_related
from roleSync.plan.triggers import plan_window
from roleSync.plan.types import related_key
from roleSync.profile import Profile
from roleSync.report.progress import NO_PROGRESS, Progress, watching
from roleSync.rules.classify import CompiledRoles
from roleSync.rules.routes import CompiledRouting
from roleSync.rules.ruleset import RuleSet, load_rule_set
from roleSync.sync import interrupt
from roleSync.sync.held import Held, held_roles
from roleSync.sync.planning import (  # re-exported: where callers have found them
    HealthSink,
    PlanRequest,
    _warn_unread_windows,
    make_plan,
    window_fields,
)
from roleSync.sync.recorder import RunRecorder, cause_of, stored_owners
from roleSync.sync.recovery import RunStoppedError, recover, unexpected
from roleSync.sync.related_phase import has_related, refuse_unless_writer
from roleSync.sync.report import RelatedResultCode, RunReport
from roleSync.sync.state import write_atomically
from roleSync.sync.state_open import borrowed_state, locked_state
from roleSync.sync.store import ChangeOutcome, Outcome, RunRow, RunStatus, StateStore
from roleSync.sync.store_related import RelatedOutcomeRow

Clock = Callable[[], datetime]
__all__ = ["HealthSink", "PlanRequest", "_warn_unread_windows", "make_plan", "window_fields"]


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
    if profile.kind == "hubspot":
        from roleSync.adapters.hubspot import HubSpotAdapter

        return HubSpotAdapter(profile, now=clock)
    raise ConflictError(f"profile kind {profile.kind!r} has no adapter yet")


def apply_plan(
    profile: Profile,
    plan: Plan,
    adapter: Adapter,
    *,
    mode: str,
    clock: Clock = utc_now,
    progress: Progress = NO_PROGRESS,
    book_accounts: int,
    allow_large: bool = False,
    store: StateStore | None = None,
    parent_run: str | None = None,
    refused: Mapping[str, str] | None = None,
    refused_related: Mapping[str, str] | None = None,
    book_health: BookHealth | None = None,
    source: Path | None = None,
    rules: RuleSet | None = None,
) -> RunReport:
    """Write a plan as a new run: saved, checked against the guardrails (GuardrailError,
    nothing written), journaled batch by batch, audited and reported. Take the profile's
    lock first (`sync`, `apply_saved`): this function does not.

    `book_accounts`: the book's size as the adapter read it, for `max_share`.
    `refused`: account id -> why a change failed its re-check: reported, not written.
    `refused_related`: the same for carried records, by entry key (related_key).
    `book_health`: the health of the book the plan was made from, for the run report.
    `source`: the plan file given to `rolesync apply`, if any.
    `rules`: the rule files loaded for the run, archived with it when they are the plan's."""
    if plan.profile != profile.name:
        raise ConflictError(
            f"this plan was made for profile {plan.profile!r}, not {profile.name!r}"
        )
    # Before anything is saved or written: an adapter that cannot write what the plan
    # carries refuses the whole plan.
    refuse_unless_writer(plan, adapter)
    repeated = duplicate_entries(plan)
    if repeated:
        # Plan files are refused with a position when read; a plan built in memory is
        # checked here, before the journal meets the same account twice in one batch.
        more = f" (and {len(repeated) - 1} more)" if len(repeated) > 1 else ""
        raise ConflictError(f"{repeated[0].message}{more}; nothing written")
    started = clock()
    run_id = new_run_id(started)
    plan_path = profile.state_path / "runs" / run_id / "plan.json"

    # Written twice (plan.json, the store's copy) but made once: a 1M book's plan is
    # 366 MB of text and seconds of work (issue 19).
    plan_text = plan.to_json()

    def keep_plan() -> str:
        write_atomically(plan_path, plan_text)
        return str(plan_path)

    # A plan made here exists only in memory: saved first, for a guardrail stop to
    # point at. A plan file given to apply is copied only once the plan is accepted.
    shown = keep_plan() if source is None else str(source.resolve())
    run = RunRow(
        run_id,
        profile.name,
        mode,
        started.isoformat(),
        RunStatus.APPLYING,
        plan.rules_digest,
        len(plan.changes),
        len(plan.skipped),
        shown,
        parent_run,
    )
    # A first SIGTERM or SIGINT from here on stops at a batch boundary (sync.interrupt).
    # No cyclic garbage collection while the run writes and finishes: the journal,
    # audit and report of a large run are hundreds of thousands of objects without
    # cycles, and each collection they trigger would walk the whole book and plan again.
    with interrupt.writing(), borrowed_state(profile, store) as state, collector_paused():
        recorder = RunRecorder.start(
            state,
            profile,
            plan,
            run,
            allow_large=allow_large,
            clock=clock,
            book_accounts=book_accounts,
            keep_plan=None if source is None else keep_plan,
            plan_text=plan_text,
            rule_files=rules.files if rules and rules.digest == plan.rules_digest else (),
        )
        refused = refused or {}
        recorder.record(
            [
                ChangeOutcome(c, Outcome.FAILED, error=refused[c.account_id])
                for c in plan.changes
                if c.account_id in refused
            ]
        )
        changes = [c for c in plan.changes if c.account_id not in refused]
        if refused_related:
            state.record_related(
                run_id,
                [
                    RelatedOutcomeRow(r, RelatedResultCode.FAILED, error=refused_related[key])
                    for r in plan.related_changes
                    if (key := related_key(r)) in refused_related
                ],
                clock().isoformat(),
            )
        try:
            with progress.stage("apply", len(changes) + len(plan.metric_writes)) as stage:
                if has_related(plan) and isinstance(adapter, RelatedBudget):
                    adapter.expect_related(plan.related_changes, plan.task_creates)
                with watching(adapter, stage):
                    result = adapter.apply(changes, plan.metric_writes, recorder.journal())
                stage.done(
                    f"applied {len(result.applied)} of {len(plan.changes)} ownership changes, "
                    f"{len(result.metrics_written)} metric writes"
                )
            if has_related(plan):
                entries = len(plan.related_changes) + len(plan.task_creates)
                with progress.stage("carry", entries) as stage:
                    recorder.carry(result, adapter, stage.advance)
                    stage.done(
                        f"{len(plan.related_changes)} carried records and "
                        f"{len(plan.task_creates)} handoff tasks written or decided"
                    )
        except BaseException as exc:
            # Journaled so far; the next run of the profile reconciles and finishes it.
            recorder.interrupted(exc)
            if isinstance(exc, interrupt.Interrupted):
                exc.run_id = exc.run_id or run_id
            elif unexpected(exc):
                raise RunStoppedError(run_id, profile, cause_of(exc)) from exc
            raise
        health = book_health.as_json() if book_health is not None else None
        return recorder.finish(result, book_health=health)


def sync(
    request: PlanRequest,
    *,
    clock: Clock = utc_now,
    progress: Progress = NO_PROGRESS,
    allow_large: bool = False,
    on_health: HealthSink | None = None,
) -> tuple[Plan, RunReport]:
    """lock -> finish an interrupted run -> pull -> book health -> plan -> guardrails ->
    journaled apply. The run report records the book health."""
    seen: list[BookHealth] = []

    def health_seen(health: BookHealth) -> None:
        seen.append(health)
        if on_health is not None:
            on_health(health)

    rules = load_rule_set(request.rule_paths)  # before the lock and any network call
    with locked_state(request.profile, clock) as store:
        adapter = open_adapter(request.profile, clock)
        try:
            recover(store, request.profile, adapter, clock=clock)
            plan = make_plan(request, adapter, progress, store, health_seen, rules)
            report = apply_plan(
                request.profile,
                plan,
                adapter,
                # Made from the book just pulled, in this process: its count is the book's.
                book_accounts=plan.summary.get("accounts", 0),
                mode="sync",
                clock=clock,
                progress=progress,
                allow_large=allow_large,
                store=store,
                book_health=seen[0] if seen else None,
                rules=rules,
            )
            return plan, report
        finally:
            adapter.close()


def stale_rules(
    plan: Plan, digest: str, rule_paths: Sequence[Path], plan_path: Path | None
) -> InputError:
    """The plan was made under other rules than those given to apply: one positioned
    line at the plan's `rules_digest` (exit 1); about "plan" as a whole for a plan in
    memory (`plan_path` None)."""
    where, line, col = "plan", 0, 0
    if plan_path is not None:
        where = str(plan_path)
        try:
            line, col = key_position(plan_path.read_text(encoding="utf-8"), "rules_digest")
        except (OSError, UnicodeDecodeError):
            line, col = 1, 1
    message = (
        f"the plan was made under rules {plan.rules_digest[:19]}, not those given "
        f"({digest[:19]}, from {', '.join(str(p) for p in rule_paths)}): plan again, give "
        "apply the plan's rules with -r, or pass --allow-stale-rules; nothing written"
    )
    return InputError([Diagnostic(where, line, col, Severity.ERROR, message, "stale-rules")])


def apply_saved(
    profile: Profile,
    plan: Plan,
    rule_paths: Sequence[Path],
    *,
    clock: Clock = utc_now,
    progress: Progress = NO_PROGRESS,
    allow_large: bool = False,
    allow_stale_rules: bool = False,
    plan_path: Path | None = None,
) -> RunReport:
    """`rolesync apply PLAN`: rules digest -> lock -> finish an interrupted run -> pull ->
    re-check every change under the current rules -> guardrails -> apply.

    The plan is a claim: the book's size comes from the pull, each change's target is
    checked against the book and the rules given here (refused changes are reported and
    not written), and a plan made under other rules is refused unless
    `allow_stale_rules`. `plan_path`: the plan file the plan was read from; None for a
    plan made in memory (the Python API), which the run keeps as a sync keeps its own."""
    rules = load_rule_set(rule_paths)  # before the lock and any network call
    if rules.digest != plan.rules_digest and not allow_stale_rules:
        raise stale_rules(plan, rules.digest, rule_paths, plan_path)
    roles, routing = CompiledRoles(rules.roles), CompiledRouting(rules.routing)
    with locked_state(profile, clock) as store:
        adapter = open_adapter(profile, clock)
        try:
            recover(store, profile, adapter, clock=clock)
            with progress.stage("pull") as stage:
                # Carried deals are re-checked against the book: then it keeps them all.
                window = plan_window(plan.as_of, roles.window_days, routing.blocks)
                book = adapter.pull(None if plan.related_changes else window)
                stage.done(f"pulled {len(book.owners)} owners, {len(book.accounts)} accounts")
            # The roles planning held with `hysteresis`: the re-check must hold them too.
            held = (
                held_roles(profile, book, stored_owners(store, profile))
                if rules.roles.hysteresis is not None
                else Held()
            )
            return apply_plan(
                profile,
                plan,
                adapter,
                book_accounts=len(book.accounts),
                refused=refused_changes(
                    plan, book, roles, routing, held.roles, held.pending, window_fields(profile)
                ),
                refused_related=refused_related(plan, book),
                mode="apply",
                source=plan_path,
                clock=clock,
                progress=progress,
                allow_large=allow_large,
                store=store,
                rules=rules,
            )
        finally:
            adapter.close()
