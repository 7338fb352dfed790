"""Why an owner has their role, why an account moves or stays: the text of `rolesync
explain`, from the book as it stands or from a past run's plan. Shared by the CLI and the
Python API (roleSync.api.explain), so both say the same."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from roleSync.errors import ConfigError
from roleSync.report.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from roleSync.profile import Profile


class SubjectNotFoundError(ConfigError):
    """No account or owner by that id or name (with a did-you-mean when one is close)."""


def explain_from_book(
    profile: Profile,
    subject: str,
    rule_paths: Sequence[Path],
    as_of: date,
    progress: Progress = NO_PROGRESS,
) -> str:
    """Pull the book and explain `subject` (an account id or unique name, or an owner id,
    email or full name) as the next plan under `rule_paths` on `as_of` would decide."""
    from roleSync.plan.carry import pull_window
    from roleSync.plan.triggers import plan_window
    from roleSync.report.explain import Explainer, PastHandoff
    from roleSync.report.runs import last_handoff
    from roleSync.rules.ruleset import load_rule_set
    from roleSync.sync.held import Held, held_roles
    from roleSync.sync.recorder import stored_owners
    from roleSync.sync.runner import open_adapter, window_fields
    from roleSync.sync.state_open import borrowed_state

    rules = load_rule_set(rule_paths)  # before the pull: a broken file costs no calls
    adapter = open_adapter(profile)
    try:
        with progress.stage("pull") as stage:
            blocks = rules.routing.blocks
            window = plan_window(as_of, rules.roles.window_days, blocks)
            book = adapter.pull(pull_window(window, blocks))
            stage.done(f"pulled {len(book.owners)} owners, {len(book.accounts)} accounts")
    finally:
        adapter.close()
    # Where each round-robin route left off: the same state the next plan starts from.
    with borrowed_state(profile, None) as state:
        rotation = state.rotation(profile.name)
        # The roles the next plan holds with `hysteresis`, so explain says why one was held.
        stored = stored_owners(state, profile) if rules.roles.hysteresis is not None else []
    held = held_roles(profile, book, stored) if rules.roles.hysteresis is not None else Held()
    explainer = Explainer(
        book,
        rules.roles,
        rules.routing,
        as_of,
        rotation,
        profile=profile.name,
        rules_digest=rules.digest,
        previous_roles=held.roles,
        pending_roles=held.pending,
        availability=window_fields(profile),
    )
    texts = []
    account = explainer.find_account(subject)
    if account is not None:
        last = last_handoff(profile, account.id)
        texts.append(explainer.explain_account(account, PastHandoff(*last) if last else None))
    owner = explainer.find_owner(subject)
    if owner is not None:
        texts.append(explainer.explain_owner(owner))
    if not texts:
        from roleSync.report.lookup import owner_keys, suggestion

        accounts = [text for a in book.accounts.values() for text in (a.id, a.name)]
        hint = suggestion(subject, book.owners.values(), owner_keys, accounts)
        raise SubjectNotFoundError(
            f"no account or owner {subject!r} in the book of profile {profile.name!r} "
            f"(accounts by id or name, owners by id, email or name){hint}"
        )
    return "\n\n".join(texts)


def explain_from_run(
    profile: Profile, subject: str, run_id: str, rule_paths: Sequence[Path] | None = None
) -> str:
    """Explain `subject` from the plan of run `run_id` ('latest': the latest run); the
    rules are the run's archived ones unless `rule_paths` names others."""
    from roleSync.report.explain_run import (
        explain_account_in_run,
        explain_owner_in_run,
        find_owner_role,
    )
    from roleSync.report.run_rules import rules_of_run
    from roleSync.report.runs import load_run

    run = load_run(profile, None if run_id == "latest" else run_id)
    run_rules = rules_of_run(profile, run.run_id, run.plan.rules_digest, rule_paths)
    texts = []
    account = explain_account_in_run(run.plan, run.report, run.run_id, subject)
    if account is not None:
        texts.append(account)
    role = find_owner_role(run.plan, subject)
    if role is not None:
        texts.append(explain_owner_in_run(run.plan, run.run_id, role, run_rules.rules))
    if not texts:
        from roleSync.report.explain_run import role_keys
        from roleSync.report.lookup import suggestion

        hint = suggestion(subject, run.plan.owners, role_keys)
        raise SubjectNotFoundError(
            f"run {run.run_id} neither moved nor skipped an account {subject!r}, and "
            f"has no such owner: explain it against the book (leave out --run){hint}"
        )
    return "\n\n".join([run_rules.note, *texts])
