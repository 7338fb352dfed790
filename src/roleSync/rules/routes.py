"""Routes compiled once: each route's `when` (one generated first-match function for the
file), its overflow target, its class caps, its territory and whether it waits for an
away member. `FarmerPicker` (routing.py) picks within the compiled routes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from roleSync.model import Account
from roleSync.rules.availability_schema import WhenUnavailable
from roleSync.rules.codegen import Attribute, Lookup, Read, first_match
from roleSync.rules.compile import Getter
from roleSync.rules.schema import (
    ACCOUNT_EXTRA_PREFIX,
    Assign,
    Comparison,
    Handoff,
    Route,
    RoutingFile,
    WhenFull,
)
from roleSync.rules.territory import Territory, compile_territory

_ACCOUNT_GETTERS: dict[str, Callable[[Account], Any]] = {
    "account.id": lambda a: a.id,
    "account.name": lambda a: a.name,
    "account.lifecycle": lambda a: a.lifecycle,
    "account.segment": lambda a: a.segment,
    "account.region": lambda a: a.region,
    "account.tier": lambda a: a.tier,
}


def resolve_account_subject(cmp: Comparison) -> Getter[Account]:
    name = cmp.field or ""
    if name.startswith(ACCOUNT_EXTRA_PREFIX):
        extra = name[len(ACCOUNT_EXTRA_PREFIX) :]
        return lambda account: account.fields.get(extra)
    getter = _ACCOUNT_GETTERS.get(name)
    if getter is None:
        # The rule-set loader rejects these with a position; this guards against bugs.
        raise ValueError(f"routes compare account fields only, not {name!r}")
    return getter


def _account_read(cmp: Comparison) -> Read:
    """Where generated code finds a comparison's value: `account.<field>` (text) or, for
    `account.fields.<name>`, `account.fields.get(<name>)` with the name held as data."""
    name = cmp.field or ""
    if name.startswith(ACCOUNT_EXTRA_PREFIX):
        return Lookup("account", "fields", name[len(ACCOUNT_EXTRA_PREFIX) :])
    if name not in _ACCOUNT_GETTERS:
        raise ValueError(f"routes compare account fields only, not {name!r}")
    return Attribute("account", name.partition(".")[2], text=True)


@dataclass(frozen=True, slots=True)
class CompiledClass:
    """A `capacity.per_class` cap: `matches(account)` is its compiled `when`."""

    key: str  # route id and class id: counts are kept per class of each route
    id: str
    max_accounts: int
    matches: Callable[[Account], bool]


@dataclass(frozen=True, slots=True)
class CompiledRoute:
    id: str
    assign: Assign
    # `when_full: next_route`: the first route after this one (in its list) whose `when`
    # holds for the account, None when none does. None here: `when_full: skip`, or the
    # last route (check warns: nothing to overflow to).
    overflow: Callable[[Account], CompiledRoute | None] | None = None
    classes: tuple[CompiledClass, ...] = ()
    wait: bool = False  # `when_unavailable: wait`
    territory: Territory | None = None  # `assign.match` (territory.py)


class CompiledRouting:
    """A routing file compiled once: `route_for` is one call of a generated function."""

    route_for: Callable[[Account], CompiledRoute | None]
    """`route_for(account)`: the first route whose condition holds, None when none does.
    The generated function itself, not a method calling it: one call saved per account."""

    def __init__(self, routing: RoutingFile) -> None:
        # The handoff blocks, tried in order (plan/triggers.py).
        self.blocks: tuple[Handoff, ...] = routing.blocks
        self.availability = tuple(routing.availability)
        self.routes, self.route_for, self.source = _compile(routing.routes)
        # Blocks with their own `routes` (owner_left): block id -> their first-match.
        self._block_routes = {b.id: _compile(b.routes) for b in self.blocks if b.routes is not None}
        # Every route by id, the blocks' own included (explain replays picks by id).
        self.by_id = {r.id: r for r in self.routes}
        for routes, _, _ in self._block_routes.values():
            self.by_id.update({r.id: r for r in routes})

    def routes_of(self, block: Handoff) -> tuple[CompiledRoute, ...]:
        """The routes the block's accounts take: its own, else the file's."""
        own = self._block_routes.get(block.id)
        return self.routes if own is None else own[0]

    def route_in(self, block: Handoff, account: Account) -> CompiledRoute | None:
        """`route_for`, on the block's own routes when it has them."""
        own = self._block_routes.get(block.id)
        return self.route_for(account) if own is None else own[1](account)


_RouteFor = Callable[[Account], CompiledRoute | None]


def _first_match(routes: list[Route], compiled: tuple[CompiledRoute, ...]) -> Any:
    return first_match([r.when for r in routes], compiled, None, ["account"], _account_read)


def _classes(route: Route) -> tuple[CompiledClass, ...]:
    cap = route.assign.capacity
    return tuple(
        CompiledClass(
            f"{route.id}/{c.id}",
            c.id,
            c.max_accounts,
            cast(
                Callable[[Account], bool],
                first_match([c.when], (True,), False, ["account"], _account_read).function(),
            ),
        )
        for c in (cap.per_class if cap is not None else ())
    )


def _compile(routes: list[Route]) -> tuple[tuple[CompiledRoute, ...], _RouteFor, str]:
    # Last route first: a route overflowing to the next matching one needs those compiled.
    later: tuple[CompiledRoute, ...] = ()
    for i in reversed(range(len(routes))):
        route = routes[i]
        overflow = None
        if route.when_full is WhenFull.NEXT_ROUTE and later:
            overflow = cast(_RouteFor, _first_match(routes[i + 1 :], later).function())
        wait = route.when_unavailable is WhenUnavailable.WAIT
        territory = compile_territory(route.assign.match)
        compiled = CompiledRoute(route.id, route.assign, overflow, _classes(route), wait, territory)
        later = (compiled, *later)
    generated = _first_match(routes, later)
    return later, cast(_RouteFor, generated.function()), generated.source
