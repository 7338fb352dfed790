"""Apply re-checks a plan against the world, not against the plan's own claims.

A plan file can be old, or edited. Before anything is written, every ownership change
is checked against the book as it is now and the rules as given to `apply`: the target
must exist, be active, not be away on the plan's date (routing.yaml `availability`, the
profile's availability fields), and belong to the pool of the route the change names, with the
role that pool asks for (and, on a territory route, cover the account's territory). A change
that fails is reported with the reason and not written.

Pure: the plan, the book and the compiled rules in; account id -> reason out.
"""

from __future__ import annotations

from collections.abc import Mapping

from roleSync.metrics import compute_role_metrics
from roleSync.model import Account, Book, Owner, PendingRole, Role
from roleSync.plan.document import Plan
from roleSync.plan.types import RelatedChange, RelatedObject, related_key
from roleSync.rules.availability import WindowFields, away_owners
from roleSync.rules.classify import CompiledRoles, RoleDecision, classify_owners
from roleSync.rules.routes import CompiledRoute, CompiledRouting
from roleSync.rules.schema import RolePool


def refused_changes(
    plan: Plan,
    book: Book,
    roles: CompiledRoles,
    routing: CompiledRouting,
    previous: Mapping[str, Role] | None = None,
    pending: Mapping[str, PendingRole] | None = None,
    availability: WindowFields | None = None,
) -> dict[str, str]:
    """Account id -> why the change may not be written under the current book and rules.
    Owners are classified afresh as of the plan's date: a plan's own roles are a claim.
    `previous`: the roles `hysteresis` holds (as planning got them), so a farmer held by
    the margin is still a farmer here; `pending`: the days counts planning started from."""
    if not plan.changes:
        return {}
    metrics = compute_role_metrics(book, plan.as_of, roles.window_days)
    decisions = classify_owners(book, metrics, roles, previous, pending, plan.as_of)
    routes = {route.id: route for route in routing.routes}
    away = away_owners(book, routing.availability, availability, plan.as_of)
    refused: dict[str, str] = {}
    for change in plan.changes:
        target = book.owners.get(change.to_owner_id)
        route = routes.get(change.rule_id)
        if target is None:
            why = f"target owner {change.to_owner_id} no longer exists"
        elif not target.active:
            why = f"target owner {change.to_owner_id} is inactive"
        elif (window := away.get(target.id)) is not None:
            why = f"target owner {change.to_owner_id} is {window.describe()} (availability)"
        elif route is None:
            why = f"route {change.rule_id!r} is not in the current rules"
        else:
            why = (
                _not_in_pool(route, change.to_owner_id, book, decisions)
                or _outside(route, target, book.accounts.get(change.account_id))
                or ""
            )
        if why:
            refused[change.account_id] = f"re-checked before writing: {why}; not written"
    return refused


def _not_in_pool(
    route: CompiledRoute, owner_id: str, book: Book, decisions: Mapping[str, RoleDecision]
) -> str | None:
    pool = route.assign.pool
    if isinstance(pool, RolePool):
        wanted = Role(pool.role.value)
        decision = decisions.get(owner_id)
        found = decision.role if decision is not None else Role.UNCLASSIFIED
        if found is not wanted:
            return (
                f"target owner {owner_id} is a {found.value} under the current rules; "
                f"route {route.id!r} assigns to a {wanted.value}"
            )
        return None
    members = {o.id for o in (book.find_owner(key) for key in pool) if o is not None}
    if owner_id not in members:
        return f"target owner {owner_id} is not in the pool of route {route.id!r}"
    return None


def _outside(route: CompiledRoute, target: Owner, account: Account | None) -> str | None:
    """A territory route (`assign.match`): the target must cover the account now; the
    account's region or the owner's regions may have changed since the plan was made."""
    if route.territory is None or account is None:
        return None
    refusal = route.territory.refusal(target, account)
    return (
        None if refusal is None else f"target owner {target.id} is {refusal} of route {route.id!r}"
    )


def refused_related(plan: Plan, book: Book) -> dict[str, str]:
    """Entry key (plan.types.related_key) -> why a carried record may not be written: it
    is no record of that account in the book now, or it is closed (a closed deal or task
    never moves). A plan file is a claim: an edited one must not carry another account's
    records, or a won deal. The owner itself is compare-and-set when written."""
    refused: dict[str, str] = {}
    for change in plan.related_changes:
        why = _not_carryable(change, book)
        if why:
            refused[related_key(change)] = f"re-checked before writing: {why}; not written"
    return refused


def _not_carryable(change: RelatedChange, book: Book) -> str | None:
    account = change.account_id
    if change.object is RelatedObject.DEAL:
        deal = next(
            (d for d in book.deals_by_account.get(account, ()) if d.id == change.record_id), None
        )
        if deal is None:
            return f"deal {change.record_id} is not a deal of account {account} in the book"
        return f"deal {change.record_id} is closed" if deal.closed else None
    if change.object is RelatedObject.CONTACT:
        contacts = book.contacts_by_account.get(account, ())
        if not any(c.id == change.record_id for c in contacts):
            return f"contact {change.record_id} is not a contact of account {account} in the book"
        return None
    if not any(t.id == change.record_id for t in book.open_tasks(account)):
        return f"task {change.record_id} is not an open task of account {account} in the book"
    return None
