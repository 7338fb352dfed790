"""Routes: which farmer receives a handed-off account.

`CompiledRouting` (routes.py) holds the compiled conditions; `FarmerPicker` holds the state of
one plan (current loads, rotation positions) so that picks within one plan see the
accounts already given out by earlier picks.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from roleSync.model import Account, Book, Owner, Role
from roleSync.rules.availability import Window, waiting_reason
from roleSync.rules.classify import RoleDecision
from roleSync.rules.pick_reasons import (
    accounts_cap,
    money,
    no_farmer_reason,
    number,
    revenue_cap,
)
from roleSync.rules.pool_index import PoolIndex
from roleSync.rules.routes import CompiledClass, CompiledRoute
from roleSync.rules.schema import (
    BalanceBy,
    RolePool,
    Strategy,
)
from roleSync.rules.weighted import WeightedRotation


@dataclass(frozen=True, slots=True)
class Pick:
    owner: Owner | None
    # Why this farmer, or why none: shown in the plan, the report and `explain`.
    reason: str
    # `when_unavailable: wait`: the day the member whose turn it is is back; None otherwise.
    back_on: date | None = None


class FarmerPicker:
    """Chooses farmers for one plan, tracking load and rotation as it goes.

    Picks go through a `PoolIndex` per pool and `max_accounts` cap (pool_index.py), so a
    pick costs O(log pool) rather than a look at every member. Loads are shared by all
    routes, so `_take` re-files an owner in every index holding them, the account's
    previous owner included (explicit owner lists may name anyone)."""

    def __init__(
        self,
        book: Book,
        roles: Mapping[str, RoleDecision],
        account_revenue: Mapping[str, float],
        rotation: Mapping[str, str],
        away: Mapping[str, Window] | None = None,
    ) -> None:
        self._book = book
        # Owner id -> their out-of-office window on the plan's day (availability.py).
        self._away = dict(away or {})
        self._away_routes: dict[str, bool] = {}  # route id -> a pool member is away
        self._roles = roles
        self._revenue = account_revenue
        # route id -> last owner id picked (round_robin) or scores (weighted.py)
        self._rotation: dict[str, str] = dict(rotation)
        self._weighted: dict[str, WeightedRotation] = {}
        self.accounts: dict[str, int] = {}
        self.revenue: dict[str, float] = {}
        for account in book.accounts.values():
            if account.owner_id is not None:
                self.accounts[account.owner_id] = self.accounts.get(account.owner_id, 0) + 1
                self.revenue[account.owner_id] = self.revenue.get(
                    account.owner_id, 0.0
                ) + account_revenue.get(account.id, 0.0)
        self._pools: dict[str, list[Owner]] = {}
        self._turns: dict[str, dict[str, int]] = {}  # route id -> owner id -> rotation position
        # Routes with the same members and `max_accounts` share an index; the second map
        # finds it per route without hashing the member list on every pick.
        self._indexes: dict[tuple[tuple[str, ...], int | None], PoolIndex] = {}
        self._route_indexes: dict[tuple[str, int | None], PoolIndex] = {}
        self._memberships: dict[str, list[tuple[PoolIndex, int]]] = {}
        # A NaN or infinite load breaks the orderings the indexes keep (NaN compares false
        # both ways): from the first one seen, every pick is the linear scan. The account's
        # own revenue x may be anything: for finite loads r, `r + x > cap` stays monotone
        # in r (constant if x is not finite), and taking the account makes a load non-finite.
        self._scan = not all(_finite(r) for r in self.revenue.values())
        # `capacity.per_class`: class key -> owner id -> accounts of the class they hold,
        # counted on first use from the book as this plan has left it (`_given`).
        self._class_loads: dict[str, Counter[str]] = {}
        self._classes: list[CompiledClass] = []
        self._given: dict[str, str] = {}  # account id -> owner this plan gave it to

    @property
    def rotation(self) -> dict[str, str]:
        """The rotation state for the next run: route id -> its state."""
        state = dict(self._rotation)
        state.update({route_id: w.state() for route_id, w in self._weighted.items()})
        return state

    def weighted(self, route: CompiledRoute) -> WeightedRotation:
        """The weighted route's members, weights and running scores (read by `explain`)."""
        rotation = self._weighted.get(route.id)
        if rotation is None:
            pool = self._pool(route)
            weights: dict[str, float] = {}
            for key, weight in (route.assign.weights or {}).items():
                owner = self._book.find_owner(key)
                if owner is not None:
                    weights[owner.id] = weight
            rotation = self._weighted[route.id] = WeightedRotation(
                [o.id for o in pool], weights, self._rotation.get(route.id)
            )
        return rotation

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
            self._turns[route.id] = {o.id: i for i, o in enumerate(self._pools[route.id])}
        return self._pools[route.id]

    def _index(self, route: CompiledRoute, pool: list[Owner]) -> PoolIndex:
        cap = route.assign.capacity
        max_accounts = None if cap is None else cap.max_accounts
        index = self._route_indexes.get((route.id, max_accounts))
        if index is None:
            shared = (tuple(o.id for o in pool), max_accounts)
            index = self._indexes.get(shared)
            if index is None:
                index = self._indexes[shared] = PoolIndex(pool, max_accounts, self._loads)
                for position, owner in enumerate(pool):
                    self._memberships.setdefault(owner.id, []).append((index, position))
            self._route_indexes[route.id, max_accounts] = index
        return index

    def _loads(self, owner_id: str) -> tuple[int, float]:
        return self.accounts.get(owner_id, 0), self.revenue.get(owner_id, 0.0)

    def _class_load(self, cls: CompiledClass) -> Counter[str]:
        loads = self._class_loads.get(cls.key)
        if loads is None:
            loads = self._class_loads[cls.key] = Counter(
                owner_id
                for a in self._book.accounts.values()
                if (owner_id := self._given.get(a.id, a.owner_id)) is not None and cls.matches(a)
            )
            self._classes.append(cls)
        return loads

    def _class_refusal(self, owner: Owner, route: CompiledRoute, account: Account) -> str | None:
        for cls in route.classes:
            if cls.matches(account) and self._class_load(cls)[owner.id] >= cls.max_accounts:
                return f"at capacity ({cls.max_accounts} {cls.id} accounts)"
        return None

    def _refusal(
        self,
        owner: Owner,
        route: CompiledRoute,
        account: Account,
        current_owner_id: str | None,
        away: bool = True,
    ) -> str | None:
        assign = route.assign
        if not owner.active:
            return "inactive"
        if owner.id == current_owner_id:
            return "current owner"
        if away and owner.id in self._away:
            return self._away[owner.id].describe()
        if route.territory is not None and (outside := route.territory.refusal(owner, account)):
            return outside
        cap = assign.capacity
        if (
            cap is not None
            and cap.max_accounts is not None
            and self.accounts.get(owner.id, 0) >= cap.max_accounts
        ):
            return accounts_cap(cap.max_accounts)
        if (
            cap is not None
            and cap.max_revenue is not None
            and (
                self.revenue.get(owner.id, 0.0) + self._revenue.get(account.id, 0.0)
                > cap.max_revenue
            )
        ):
            return revenue_cap(cap.max_revenue)
        return self._class_refusal(owner, route, account)

    def candidates(self, route: CompiledRoute, account: Account) -> list[tuple[Owner, str | None]]:
        """The route's pool in rotation order, each member with why they cannot take the
        account now (None: eligible). Read-only: `explain` shows it beside the pick."""
        return [(o, self._refusal(o, route, account, account.owner_id)) for o in self._pool(route)]

    def pick(self, route: CompiledRoute, account: Account) -> Pick:
        pool = self._pool(route)
        assign = route.assign
        if (
            self._scan
            or assign.strategy is Strategy.WEIGHTED
            or route.territory is not None
            or any(cls.matches(account) for cls in route.classes)
            or self._has_away(route, pool)
        ):
            # weighted adds to every member's score on each pick: linear anyway. Class
            # caps and territories are per account, windows per owner: the indexes know
            # none of them, so such accounts, and pools with someone away, take the scan.
            return self._pick_by_scan(route, pool, account)
        cap = assign.capacity
        max_revenue = None if cap is None else cap.max_revenue
        revenue = self._revenue.get(account.id, 0.0)
        query = self._index(route, pool).query(account.owner_id, revenue, max_revenue)
        if query.eligible == 0:
            inactive, current, at_accounts, at_revenue = query.refusals()
            counts = {"inactive": inactive, "current owner": current}
            if cap is not None and cap.max_accounts is not None:
                counts[accounts_cap(cap.max_accounts)] = at_accounts
            if cap is not None and cap.max_revenue is not None:
                counts[revenue_cap(cap.max_revenue)] = at_revenue
            return Pick(None, no_farmer_reason(route, len(pool), counts))
        if assign.strategy is Strategy.ROUND_ROBIN:
            start = self._turn_start(route.id)
            chosen, why = self._next_in_turn(route.id, pool, query.next_in_turn(start), start)
        else:
            chosen = pool[query.lowest(assign.balance_by)]
            why = self._least_loaded(assign.balance_by, chosen, query.eligible)
        self._take(chosen, account)
        return Pick(chosen, f"route {route.id}: {why}")

    def pick_overflowing(
        self, route: CompiledRoute, account: Account
    ) -> tuple[CompiledRoute, Pick]:
        """`pick`, then, while the route has no room and says `when_full: next_route`, the
        next route below it whose `when` matches. Returns the route that placed the account
        (or the last one tried) and a pick whose reason names every full route passed over.
        A refused pick changes no load or rotation, so trying on is side-effect free."""
        full: list[str] = []
        pick = self.pick(route, account)
        # A route waiting for an away member (`when_unavailable: wait`) is not full.
        while pick.owner is None and pick.back_on is None and route.overflow is not None:
            full.append(f"route {route.id} ({pick.reason.removeprefix(f'route {route.id}: ')})")
            later = route.overflow(account)
            if later is None:
                return route, Pick(
                    None,
                    f"every route tried is full (when_full: next_route): {'; '.join(full)}; "
                    "no later route matches the account",
                )
            route = later
            pick = self.pick(route, account)
        if not full:
            return route, pick
        if pick.owner is None and pick.back_on is None:
            full.append(f"route {route.id} ({pick.reason.removeprefix(f'route {route.id}: ')})")
            return route, Pick(
                None, f"every route tried is full (when_full: next_route): {'; '.join(full)}"
            )
        passed = "; ".join(full)
        reason = f"{pick.reason}; overflowed here past full {passed}"
        return route, Pick(pick.owner, reason, pick.back_on)

    def _pick_by_scan(self, route: CompiledRoute, pool: list[Owner], account: Account) -> Pick:
        """The linear pick: every member's refusal, then the next in turn, the lightest or
        the weighted turn of the eligible. For weighted routes, and for every route while
        revenue is not finite (see `_scan`)."""
        assign = route.assign
        # `wait`: an away member keeps their turn; the pick below holds the handoff.
        away = not route.wait
        refusals = [self._refusal(o, route, account, account.owner_id, away) for o in pool]
        eligible = [o for o, why in zip(pool, refusals, strict=True) if why is None]
        if not eligible:
            territory = route.territory
            counts = Counter(
                why if territory is None else territory.grouped(why, account)
                for why in refusals
                if why is not None
            )
            return Pick(None, no_farmer_reason(route, len(pool), counts))
        if assign.strategy is Strategy.ROUND_ROBIN:
            key = self.rotation_key(route, account)
            start = self._turn_start(route.id, key)
            turns = ((start + step) % len(pool) for step in range(len(pool)))
            position = next(p for p in turns if refusals[p] is None)
            if (held := self._held(route, pool[position], "the round robin turn")) is not None:
                return held
            chosen, why = self._next_in_turn(route.id, pool, position, start, key)
        elif assign.strategy is Strategy.WEIGHTED:
            turn = self.weighted(route).peek([p for p, w in enumerate(refusals) if w is None])
            if (held := self._held(route, pool[turn], "the weighted turn")) is not None:
                return held
            chosen, why = self._weighted_turn(route, pool, refusals)
        else:
            if assign.balance_by is BalanceBy.REVENUE:
                chosen = min(eligible, key=lambda o: (self.revenue.get(o.id, 0.0), o.email, o.id))
            else:
                chosen = min(eligible, key=lambda o: (self.accounts.get(o.id, 0), o.email, o.id))
            if (held := self._held(route, chosen, "the lightest book")) is not None:
                return held
            why = self._least_loaded(assign.balance_by, chosen, len(eligible))
        self._take(chosen, account)
        return Pick(chosen, f"route {route.id}: {why}")

    def _has_away(self, route: CompiledRoute, pool: list[Owner]) -> bool:
        known = self._away_routes.get(route.id)
        if known is None:
            known = self._away_routes[route.id] = any(o.id in self._away for o in pool)
        return known

    def _held(self, route: CompiledRoute, owner: Owner, turn: str) -> Pick | None:
        """`when_unavailable: wait` and the member the strategy picks is away: a pick with
        no owner, changing no load or rotation, so the turn is still theirs next run."""
        window = self._away.get(owner.id) if route.wait else None
        if window is None:
            return None
        return Pick(
            None, f"route {route.id}: {waiting_reason(owner, window, turn)}", window.back_on
        )

    def rotation_key(self, route: CompiledRoute, account: Account) -> str:
        """Where round robin keeps its place: the route id, or for a territory route the
        route id and the account's territory (`enterprise@emea`: one rotation each)."""
        if route.territory is None:
            return route.id
        return f"{route.id}@{route.territory.key(account)}"

    def _turn_start(self, route_id: str, key: str | None = None) -> int:
        """Where the rotation resumes: after the last pick, or at the top if there was
        none or that owner has left the pool. `key`: the rotation's, when not the route id."""
        last = self._rotation.get(key or route_id)
        at = None if last is None else self._turns[route_id].get(last)
        return 0 if at is None else at + 1

    def _next_in_turn(
        self, route_id: str, pool: list[Owner], position: int, start: int, key: str | None = None
    ) -> tuple[Owner, str]:
        chosen = self._book.owners[pool[position].id]
        self._rotation[key or route_id] = chosen.id
        step = (position - start) % len(pool)  # members passed over on the way
        skipped = f", {step} skipped as ineligible" if step else ""
        return chosen, f"round robin, turn {position + 1} of {len(pool)} in the pool{skipped}"

    def _weighted_turn(
        self, route: CompiledRoute, pool: list[Owner], refusals: list[str | None]
    ) -> tuple[Owner, str]:
        rotation = self.weighted(route)
        eligible = [p for p, why in enumerate(refusals) if why is None]
        position = rotation.pick(eligible)
        chosen = self._book.owners[pool[position].id]
        weight, total = rotation.weights[position], rotation.total
        return chosen, (
            f"weighted, weight {number(weight)} of {number(total)} in the pool "
            f"(a {weight / total:.0%} share); highest running score of {len(eligible)} eligible"
        )

    def _least_loaded(self, balance_by: BalanceBy, chosen: Owner, eligible: int) -> str:
        if balance_by is BalanceBy.REVENUE:
            load = f"managed revenue {money(self.revenue.get(chosen.id, 0.0))}"
        else:
            load = f"{self.accounts.get(chosen.id, 0)} accounts"
        return f"least loaded by {balance_by.value} ({load}, lowest of {eligible} eligible)"

    def _take(self, owner: Owner, account: Account) -> None:
        """Move the account's load from its current owner to the chosen farmer."""
        revenue = self._revenue.get(account.id, 0.0)
        if account.owner_id is not None:
            self.accounts[account.owner_id] = self.accounts.get(account.owner_id, 1) - 1
            self.revenue[account.owner_id] = self.revenue.get(account.owner_id, 0.0) - revenue
            self._moved(account.owner_id)
        self.accounts[owner.id] = self.accounts.get(owner.id, 0) + 1
        self.revenue[owner.id] = self.revenue.get(owner.id, 0.0) + revenue
        self._moved(owner.id)
        self._given[account.id] = owner.id
        for cls in self._classes:
            if cls.matches(account):
                loads = self._class_loads[cls.key]
                if account.owner_id is not None:
                    loads[account.owner_id] -= 1
                loads[owner.id] += 1

    def _moved(self, owner_id: str) -> None:
        """Re-file an owner whose load changed in every index that holds them."""
        revenue = self.revenue[owner_id]
        self._scan = self._scan or not _finite(revenue)
        if not self._scan:
            accounts = self.accounts[owner_id]
            for index, position in self._memberships.get(owner_id, ()):
                index.moved(position, accounts, revenue)


def _finite(value: float) -> bool:
    # Not math.isfinite: an int too large for a float is finite but would raise there.
    return value == value and abs(value) != math.inf
