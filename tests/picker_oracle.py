"""The reference FarmerPicker: a verbatim copy of the linear-scan implementation that
`roleSync.rules.routing.FarmerPicker` replaced with a pool index.

test_picker_equivalence.py runs both on the same random scenarios and requires the same
picks, reasons, rotation and loads. Do not "fix" or optimise this copy: its only job is
to be the behaviour the fast picker must keep.
"""

from __future__ import annotations

from collections.abc import Mapping

from roleSync.model import Account, Book, Owner, Role
from roleSync.rules.classify import RoleDecision
from roleSync.rules.routes import CompiledRoute
from roleSync.rules.routing import Pick
from roleSync.rules.schema import Assign, BalanceBy, RolePool, Strategy


def _money(value: float) -> str:
    return f"{value:,.0f}"


class ReferencePicker:
    """Chooses farmers for one plan, tracking load and rotation as it goes."""

    def __init__(
        self,
        book: Book,
        roles: Mapping[str, RoleDecision],
        account_revenue: Mapping[str, float],
        rotation: Mapping[str, str],
    ) -> None:
        self._book = book
        self._roles = roles
        self._revenue = account_revenue
        self.rotation: dict[str, str] = dict(rotation)  # route id -> last owner id picked
        self.accounts: dict[str, int] = {}
        self.revenue: dict[str, float] = {}
        for account in book.accounts.values():
            if account.owner_id is not None:
                self.accounts[account.owner_id] = self.accounts.get(account.owner_id, 0) + 1
                self.revenue[account.owner_id] = self.revenue.get(
                    account.owner_id, 0.0
                ) + account_revenue.get(account.id, 0.0)
        self._pools: dict[str, list[Owner]] = {}

    def _pool(self, route: CompiledRoute) -> list[Owner]:
        """Pool members sorted by email then id, so rotation order is stable across runs."""
        if route.id not in self._pools:
            pool = route.assign.pool
            if isinstance(pool, RolePool):
                members = [
                    o
                    for o in self._book.owners.values()
                    if self._roles.get(o.id) is not None
                    and self._roles[o.id].role is Role(pool.role.value)
                ]
            else:
                found = (self._book.find_owner(key) for key in pool)
                members = list({o.id: o for o in found if o is not None}.values())
            self._pools[route.id] = sorted(members, key=lambda o: (o.email.casefold(), o.id))
        return self._pools[route.id]

    def _refusal(
        self, owner: Owner, assign: Assign, account: Account, current_owner_id: str | None
    ) -> str | None:
        if not owner.active:
            return "inactive"
        if owner.id == current_owner_id:
            return "current owner"
        cap = assign.capacity
        if (
            cap is not None
            and cap.max_accounts is not None
            and self.accounts.get(owner.id, 0) >= cap.max_accounts
        ):
            return f"at capacity ({cap.max_accounts} accounts)"
        if (
            cap is not None
            and cap.max_revenue is not None
            and (
                self.revenue.get(owner.id, 0.0) + self._revenue.get(account.id, 0.0)
                > cap.max_revenue
            )
        ):
            return f"at capacity (revenue {_money(cap.max_revenue)})"
        return None

    def candidates(self, route: CompiledRoute, account: Account) -> list[tuple[Owner, str | None]]:
        """The route's pool in rotation order, each member with why they cannot take the
        account now (None: eligible). Read-only: `explain` shows it beside the pick."""
        return [
            (o, self._refusal(o, route.assign, account, account.owner_id))
            for o in self._pool(route)
        ]

    def pick(self, route: CompiledRoute, account: Account) -> Pick:
        pool = self._pool(route)
        assign = route.assign
        refusals = {o.id: self._refusal(o, assign, account, account.owner_id) for o in pool}
        eligible = [o for o in pool if refusals[o.id] is None]
        if not eligible:
            return Pick(None, _no_farmer_reason(route.id, pool, refusals, route.assign))
        if assign.strategy is Strategy.ROUND_ROBIN:
            chosen, why = self._next_in_turn(route.id, pool, eligible)
        else:
            chosen, why = self._least_loaded(assign.balance_by, eligible)
        self._take(chosen, account)
        return Pick(chosen, f"route {route.id}: {why}")

    def _next_in_turn(
        self, route_id: str, pool: list[Owner], eligible: list[Owner]
    ) -> tuple[Owner, str]:
        last = self.rotation.get(route_id)
        order = [o.id for o in pool]
        start = order.index(last) + 1 if last in order else 0
        eligible_ids = {o.id for o in eligible}
        for step in range(len(order)):
            candidate = order[(start + step) % len(order)]
            if candidate in eligible_ids:
                chosen = self._book.owners[candidate]
                break
        self.rotation[route_id] = chosen.id
        skipped = f", {step} skipped as ineligible" if step else ""
        return chosen, (
            f"round robin, turn {order.index(chosen.id) + 1} of {len(order)} in the pool{skipped}"
        )

    def _least_loaded(self, balance_by: BalanceBy, eligible: list[Owner]) -> tuple[Owner, str]:
        if balance_by is BalanceBy.REVENUE:
            chosen = min(eligible, key=lambda o: (self.revenue.get(o.id, 0.0), o.email, o.id))
            load = f"managed revenue {_money(self.revenue.get(chosen.id, 0.0))}"
        else:
            chosen = min(eligible, key=lambda o: (self.accounts.get(o.id, 0), o.email, o.id))
            load = f"{self.accounts.get(chosen.id, 0)} accounts"
        return (
            chosen,
            f"least loaded by {balance_by.value} ({load}, lowest of {len(eligible)} eligible)",
        )

    def _take(self, owner: Owner, account: Account) -> None:
        """Move the account's load from its current owner to the chosen farmer."""
        revenue = self._revenue.get(account.id, 0.0)
        if account.owner_id is not None:
            self.accounts[account.owner_id] = self.accounts.get(account.owner_id, 1) - 1
            self.revenue[account.owner_id] = self.revenue.get(account.owner_id, 0.0) - revenue
        self.accounts[owner.id] = self.accounts.get(owner.id, 0) + 1
        self.revenue[owner.id] = self.revenue.get(owner.id, 0.0) + revenue


def _no_farmer_reason(
    route_id: str, pool: list[Owner], refusals: Mapping[str, str | None], assign: Assign
) -> str:
    if not pool:
        return f"route {route_id}: the pool is empty"
    counts: dict[str, int] = {}
    for why in refusals.values():
        if why is not None:
            counts[why] = counts.get(why, 0) + 1
    detail = ", ".join(f"{n} {why}" for why, n in sorted(counts.items()))
    who = assign.pool.role.value if isinstance(assign.pool, RolePool) else "farmer"
    return f"route {route_id}: no eligible {who} among {len(pool)} ({detail})"
