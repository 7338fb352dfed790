"""`rolesync rollback RUN_ID --dry-run`: what the rollback would do, with nothing written.

The same decision as the real rollback (`rollback.decide`: the reverse plan from the
audit log and the book as it is now) and the same guardrail check, printed in the same
words; no lock is taken and neither the CRM nor the state store is written. What can
still differ is what happens in between: a person changing an owner after the dry run
(the real rollback's compare-and-set then reports a conflict), or an unfinished run the
real rollback finishes first, which the dry run names.
"""

from __future__ import annotations

from dataclasses import dataclass

from roleSync.errors import UsageError
from roleSync.plan import Plan
from roleSync.profile import Profile
from roleSync.render import tasks_left_note
from roleSync.sync.recorder import Clock, guardrail_reasons
from roleSync.sync.rollback import decide, not_rolled_back
from roleSync.sync.runner import open_adapter, utc_now
from roleSync.sync.state_open import state_label, stored_state
from roleSync.terminal_text import printable


@dataclass(frozen=True, slots=True)
class RollbackPreview:
    run_id: str
    plan: Plan
    # Runs of the profile the real rollback would first finish (recovery).
    unfinished: tuple[str, ...]
    # Why the real rollback would stop at the guardrails; empty: within them.
    guardrail: tuple[str, ...]
    allow_large: bool

    @property
    def stops(self) -> bool:
        return bool(self.guardrail) and not self.allow_large


def preview_rollback(
    profile: Profile, run_id: str, *, clock: Clock = utc_now, allow_large: bool = False
) -> RollbackPreview:
    opened = stored_state(profile)  # never creates an empty store: a write
    if opened is None:
        where = state_label(profile)
        raise UsageError(f"no run {run_id!r} of profile {profile.name} in {where}")
    with opened as store:
        adapter = open_adapter(profile, clock)
        try:
            plan, book_accounts = decide(store, profile, run_id, adapter, clock().date())
        finally:
            adapter.close()
        unfinished = tuple(r.id for r in store.unfinished_runs(profile.name))
        reasons = tuple(guardrail_reasons(store, profile, plan, book_accounts))
    return RollbackPreview(run_id, plan, unfinished, reasons, allow_large)


def preview_text(preview: RollbackPreview) -> str:
    """The dry run for a person: skips and left tasks in the real rollback's words."""
    plan = preview.plan
    lines = [f"dry run: rollback of run {preview.run_id}; nothing written"]
    lines += [
        f"  note: run {run} is unfinished; the real rollback finishes it first, which can "
        "change what it restores"
        for run in preview.unfinished
    ]
    counts = f"would restore {len(plan.changes)}, skip {len(plan.skipped)}"
    if plan.related_changes:
        counts += f", carry back {len(plan.related_changes)} records"
    lines.append(counts)
    lines += [
        f"  restore: {c.account_id}: {c.from_owner_id or 'nobody'} -> {c.to_owner_id}"
        for c in plan.changes
    ]
    lines += [
        f"  carry back: {r.object.value} {r.record_id} of {r.account_id}: "
        f"{r.from_owner_id or 'nobody'} -> {r.to_owner_id}"
        for r in plan.related_changes
    ]
    lines += [not_rolled_back(skip) for skip in plan.skipped]
    tasks_left = plan.summary.get("tasks_left", 0)
    if tasks_left:
        lines.append(tasks_left_note(tasks_left))
    if preview.stops:
        lines.append(
            "guardrail: " + "; ".join(preview.guardrail) + "; the rollback would stop here "
            "and write nothing (--allow-large to go above)"
        )
    elif preview.guardrail:
        lines.append("guardrail: allowed by --allow-large: " + "; ".join(preview.guardrail))
    # Account names and reasons quote the book: escaped, one line each.
    return "\n".join(printable(line) for line in lines)
