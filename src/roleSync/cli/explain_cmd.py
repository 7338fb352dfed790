"""`rolesync explain ACCOUNT|OWNER`: why this role, why this route, in plain words."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from roleSync.cli.common import (
    CommandUsageError,
    Subparsers,
    add_profile_option,
    add_rules_options,
    out,
    rule_paths,
    today,
)
from roleSync.errors import ExitCode, RoleSyncError

if TYPE_CHECKING:
    from roleSync.profile import Profile


def register(sub: Subparsers) -> None:
    explain = sub.add_parser(
        "explain", help="why an owner has their role; why an account moves or stays"
    )
    explain.add_argument(
        "subject",
        metavar="ACCOUNT|OWNER",
        help="an account id (or unique name), or an owner id, email or full name",
    )
    add_profile_option(explain)
    add_rules_options(explain)
    explain.add_argument(
        "--run",
        metavar="RUN_ID",
        help="explain from a past run's plan instead of the book ('latest': the latest run)",
    )
    explain.set_defaults(handler=run_explain)


def run_explain(args: argparse.Namespace) -> ExitCode:
    from roleSync.profile import load_profile

    profile = load_profile(args.connector)
    if args.run:
        if args.as_of:
            raise CommandUsageError("--as-of does not go with --run: a run has its own date")
        out(_from_run(args, profile))
    else:
        out(_from_book(args, profile))
    return ExitCode.OK


def _from_book(args: argparse.Namespace, profile: Profile) -> str:
    from roleSync.plan.carry import pull_window
    from roleSync.plan.triggers import plan_window
    from roleSync.report.explain import Explainer, PastHandoff
    from roleSync.report.progress import progress_for
    from roleSync.report.runs import last_handoff
    from roleSync.rules.ruleset import load_rule_set
    from roleSync.sync.held import Held, held_roles
    from roleSync.sync.recorder import borrowed_state, stored_owners
    from roleSync.sync.runner import open_adapter, window_fields

    rules = load_rule_set(rule_paths(args))  # before the pull: a broken file costs no calls
    as_of = args.as_of or today()
    adapter = open_adapter(profile)
    try:
        with progress_for(sys.stderr).stage("pull") as stage:
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
    account = explainer.find_account(args.subject)
    if account is not None:
        last = last_handoff(profile, account.id)
        texts.append(explainer.explain_account(account, PastHandoff(*last) if last else None))
    owner = explainer.find_owner(args.subject)
    if owner is not None:
        texts.append(explainer.explain_owner(owner))
    if not texts:
        from roleSync.report.lookup import owner_keys, suggestion

        accounts = [text for a in book.accounts.values() for text in (a.id, a.name)]
        hint = suggestion(args.subject, book.owners.values(), owner_keys, accounts)
        raise RoleSyncError(
            f"no account or owner {args.subject!r} in the book of profile {profile.name!r} "
            f"(accounts by id or name, owners by id, email or name){hint}"
        )
    return "\n\n".join(texts)


def _from_run(args: argparse.Namespace, profile: Profile) -> str:
    from roleSync.report.explain_run import (
        explain_account_in_run,
        explain_owner_in_run,
        find_owner_role,
    )
    from roleSync.report.run_rules import rules_of_run
    from roleSync.report.runs import load_run

    run = load_run(profile, None if args.run == "latest" else args.run)
    run_rules = rules_of_run(profile, run.run_id, run.plan.rules_digest, args.rules)
    texts = []
    account = explain_account_in_run(run.plan, run.report, run.run_id, args.subject)
    if account is not None:
        texts.append(account)
    role = find_owner_role(run.plan, args.subject)
    if role is not None:
        texts.append(explain_owner_in_run(run.plan, run.run_id, role, run_rules.rules))
    if not texts:
        from roleSync.report.explain_run import role_keys
        from roleSync.report.lookup import suggestion

        hint = suggestion(args.subject, run.plan.owners, role_keys)
        raise RoleSyncError(
            f"run {run.run_id} neither moved nor skipped an account {args.subject!r}, and "
            f"has no such owner: explain it against the book (leave out --run){hint}"
        )
    return "\n\n".join([run_rules.note, *texts])
