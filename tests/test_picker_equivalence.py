"""FarmerPicker (indexed) against the linear reference in picker_oracle.py.

Seeded random scenarios: pools by role and by owner lists (inactive owners, hunters,
unknown keys, duplicates), current owners in and out of the pool, accounts with no owner,
both strategies and balances, tight caps on accounts and revenue, rotation states, routes
sharing pools, and long pick sequences. Every pick must give the same owner and reason,
and the picker must end with the same rotation and loads. A second part checks that a pick
does not look at every member of a big pool.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

import pytest

from picker_oracle import ReferencePicker
from roleSync.model import Account, Book, Owner, Role
from roleSync.rules.classify import RoleDecision
from roleSync.rules.routes import CompiledRoute, CompiledRouting
from roleSync.rules.routing import FarmerPicker
from roleSync.rules.schema import RoutingFile

SCENARIOS = 600
# Amounts chosen so that sums land exactly on caps (refusal is `>`, not `>=`) and so that
# float rounding matters: 0.1 + 0.2 > 0.3, and 0.2 + 1.1 > 1.3 while 0.2 > 1.3 - 1.1 does
# not hold, so the cap test must be computed exactly as the reference does.
AMOUNTS = (0.0, 0.1, 0.2, 0.3, 0.6, 0.7, 1.0, 1.1, 2.2, 100.0, 250.0, 333.33, 1000.0, 2500.0)
REVENUE_CAPS = (0.3, 0.6, 0.9, 1, 1.3, 3.3, 250, 500.5, 1000, 2500.0, 5000, 1e9)
ROLES = (Role.FARMER, Role.FARMER, Role.HUNTER, Role.UNCLASSIFIED)


@dataclass
class Scenario:
    book: Book
    roles: dict[str, RoleDecision]
    revenue: dict[str, float]
    rotation: dict[str, str]
    routes: tuple[CompiledRoute, ...]
    picks: list[tuple[CompiledRoute, Account]]


def _owners(rng: random.Random) -> list[Owner]:
    count = rng.choice((0, 1, 2, 3, 5, 8, 13, 30, 60))
    # Few distinct emails, differing in case only at times: ties in both sort keys.
    emails = [f"{name}@example.com" for name in ("ann", "Ann", "bob", "cy", "Dee", "dee", "eve")]
    return [
        Owner(
            f"o{rng.randrange(1000):03d}-{i}",
            f"Owner {i}",
            rng.choice(emails) if rng.random() < 0.6 else f"u{i}@Example.com",
            "",
            rng.random() < 0.85,
        )
        for i in range(count)
    ]


def _capacity(rng: random.Random) -> dict[str, Any] | None:
    capacity: dict[str, Any] = {}
    if rng.random() < 0.7:
        capacity["max_accounts"] = rng.choice((1, 2, 3, 4, 6, 10, 400))
    if rng.random() < 0.45:
        capacity["max_revenue"] = rng.choice(REVENUE_CAPS)
    return capacity or None


def _pool(rng: random.Random, owners: Sequence[Owner]) -> Any:
    if not owners or rng.random() < 0.5:
        return {"role": rng.choice(("farmer", "farmer", "hunter"))}
    keys: list[str] = []
    for _ in range(rng.randint(1, 8)):
        o = rng.choice(owners)
        # By id, by email in any case (duplicates included), or naming nobody.
        keys.append(rng.choice((o.id, o.email, o.email.upper(), "nobody@example.com", "o-unknown")))
    return keys


def _routes(rng: random.Random, owners: Sequence[Owner]) -> tuple[CompiledRoute, ...]:
    shared = _pool(rng, owners)
    routes = []
    for i in range(rng.randint(1, 4)):
        assign: dict[str, Any] = {
            # Often the same pool object in several routes, as the shipped rules do.
            "pool": shared if rng.random() < 0.6 else _pool(rng, owners),
            "strategy": rng.choice(("round_robin", "least_loaded")),
            "balance_by": rng.choice(("accounts", "revenue")),
        }
        if (capacity := _capacity(rng)) is not None:
            assign["capacity"] = capacity
        routes.append({"id": f"r{i}", "assign": assign})
    doc = {"version": 1, "kind": "routing", "routes": routes}
    return CompiledRouting(RoutingFile.model_validate(doc)).routes


def _amount(rng: random.Random, odd: bool) -> float:
    if odd and rng.random() < 0.2:
        return rng.choice((float("nan"), float("inf"), -float("inf")))
    return rng.choice(AMOUNTS) if rng.random() < 0.8 else round(rng.uniform(0, 3000), 2)


def scenario(seed: int) -> Scenario:
    rng = random.Random(seed)
    owners = _owners(rng)
    ids = [o.id for o in owners]
    roles = {
        o.id: RoleDecision(o.id, rng.choice(ROLES), None, "") for o in owners if rng.random() < 0.9
    }

    def some_owner() -> str | None:
        roll = rng.random()
        return None if roll < 0.1 or not ids else "o-gone" if roll < 0.15 else rng.choice(ids)

    accounts = [Account(f"a{i}", f"A{i}", some_owner()) for i in range(rng.randint(0, 60))]
    # Revenue for some accounts only. NaN and infinities in one scenario in eight: half
    # the time on accounts outside the book only, so loads start finite.
    odd = rng.random() < 0.125
    odd_book = odd and rng.random() < 0.5
    revenue = {a.id: _amount(rng, odd_book) for a in accounts if rng.random() < 0.8}
    routes = _routes(rng, owners)
    rotation: dict[str, str] = {}
    for route in routes:
        roll = rng.random()
        if roll < 0.3 and ids:
            rotation[route.id] = rng.choice(ids)
        elif roll < 0.4:
            rotation[route.id] = "o-gone"
    strangers = [Account(f"x{i}", f"X{i}", some_owner()) for i in range(5)]
    revenue.update({a.id: _amount(rng, odd) for a in strangers})
    # Book accounts picked again and again (their owner never changes), and accounts the
    # book does not hold.
    pickable = accounts + strangers
    picks = [(rng.choice(routes), rng.choice(pickable)) for _ in range(rng.randint(1, 120))]
    book = Book(owners, accounts, [])
    return Scenario(book, roles, revenue, rotation, routes, picks)


def _state(picker: FarmerPicker | ReferencePicker) -> tuple[str, str, str]:
    # repr: exact floats, -0.0 apart from 0.0, and insertion order too.
    return repr(picker.rotation), repr(picker.accounts), repr(picker.revenue)


@pytest.mark.parametrize("block", range(10))
def test_indexed_picker_matches_the_reference(block: int) -> None:
    for seed in range(block, SCENARIOS, 10):
        s = scenario(seed)
        fast = FarmerPicker(s.book, s.roles, s.revenue, s.rotation)
        slow = ReferencePicker(s.book, s.roles, s.revenue, s.rotation)
        for n, (route, account) in enumerate(s.picks):
            got, want = fast.pick(route, account), slow.pick(route, account)
            where = f"seed {seed}, pick {n} ({route.id}, {account.id})"
            assert (got.owner and got.owner.id, got.reason) == (
                want.owner and want.owner.id,
                want.reason,
            ), where
            assert got.owner is want.owner, where
            if n % 17 == 0:
                assert fast.candidates(route, account) == slow.candidates(route, account), where
        assert _state(fast) == _state(slow), f"seed {seed}"


def test_scenarios_cover_the_cases_that_matter() -> None:
    """Guards the generator: the reasons above include every kind of outcome."""
    seen: set[str] = set()
    for seed in range(SCENARIOS):
        s = scenario(seed)
        picker = ReferencePicker(s.book, s.roles, s.revenue, s.rotation)
        for route, account in s.picks:
            reason = picker.pick(route, account).reason
            for marker in (
                "skipped as ineligible",
                "least loaded by revenue",
                "least loaded by accounts",
                "the pool is empty",
                "inactive",
                "current owner",
                "accounts)",
                "at capacity (revenue",
                "managed revenue nan",
            ):
                if marker in reason:
                    seen.add(marker)
    assert len(seen) == 9, seen


# --- picks stay sub-linear in the pool ----------------------------------------------


def _big_book(size: int) -> tuple[Book, dict[str, RoleDecision], dict[str, float]]:
    """`size` farmers owning 1 to 7 accounts, a hunter owning 2,000 accounts to hand off."""
    rng = random.Random(size)
    farmers = [Owner(f"f{i:05d}", f"F{i}", f"f{i}@example.com") for i in range(size)]
    hunter = Owner("hunter", "Hunter", "hunter@example.com")
    accounts = [Account(f"h{i:05d}", "", "hunter") for i in range(2000)]
    accounts += [
        Account(f"f{i}-{j}", "", f.id) for i, f in enumerate(farmers) for j in range(1 + i % 7)
    ]
    roles = {f.id: RoleDecision(f.id, Role.FARMER, None, "") for f in farmers}
    roles["hunter"] = RoleDecision("hunter", Role.HUNTER, None, "")
    revenue = {a.id: float(rng.randrange(0, 5000, 50)) for a in accounts}
    return Book([*farmers, hunter], accounts, []), roles, revenue


def _shipped_like(capacity: dict[str, Any]) -> tuple[CompiledRoute, ...]:
    pool = {"role": "farmer"}
    doc = {
        "version": 1,
        "kind": "routing",
        "routes": [
            {
                "id": "big",
                "when": {"field": "account.segment", "op": "eq", "value": "Enterprise"},
                "assign": {
                    "pool": pool,
                    "strategy": "least_loaded",
                    "balance_by": "revenue",
                    "capacity": capacity,
                },
            },
            {"id": "rest", "assign": {"pool": pool, "capacity": capacity}},
        ],
    }
    return CompiledRouting(RoutingFile.model_validate(doc)).routes


@contextmanager
def _counting_lines() -> Iterator[list[int]]:
    """Counts the Python lines run inside (loop iterations included): work done per
    member in Python shows up here whatever the code looks like."""
    count = [0]

    def trace(frame: FrameType, event: str, arg: object) -> Any:
        if event == "line":
            count[0] += 1
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        yield count
    finally:
        sys.settrace(previous)


def _lines_per_pick(
    make: Callable[..., FarmerPicker | ReferencePicker],
    size: int,
    capacity: dict[str, Any],
    picks: int = 400,
) -> float:
    book, roles, revenue = _big_book(size)
    routes = _shipped_like(capacity)
    picker = make(book, roles, revenue, {})
    accounts = [book.accounts[f"h{i:05d}"] for i in range(picks + 1)]
    for route in routes:  # builds the pools (and indexes) outside the count
        picker.pick(route, accounts[0])
    with _counting_lines() as lines:
        for i, account in enumerate(accounts[1:]):
            picker.pick(routes[i % 2], account)
    return lines[0] / (len(accounts) - 1)


@pytest.mark.parametrize(
    "capacity",
    [
        {"max_accounts": 6},  # as shipped: accounts caps only, some members full
        {"max_accounts": 1},  # every member full: each pick is refused
        {"max_accounts": 8, "max_revenue": 20_000},
    ],
    ids=["accounts-cap", "all-full", "revenue-cap"],
)
def test_a_pick_does_not_look_at_every_member(capacity: dict[str, Any]) -> None:
    # Pools big enough that neither fills up (refused picks cost less) in 400 picks.
    small = _lines_per_pick(FarmerPicker, 300, capacity)
    big = _lines_per_pick(FarmerPicker, 3000, capacity)
    # Ten times the members, about the same Python work per pick.
    assert big < 1.25 * small + 10, (small, big)
    # The measure does see a scan: the reference does ten lines per member and pick.
    assert _lines_per_pick(ReferencePicker, 300, capacity, picks=40) > 10 * big


def test_picks_skip_few_members_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    book, roles, revenue = _big_book(3000)
    routes = _shipped_like({"max_accounts": 6})
    picker = FarmerPicker(book, roles, revenue, {})
    refusals = 0
    original = picker._refusal

    def counted(*args: Any) -> str | None:
        nonlocal refusals
        refusals += 1
        return original(*args)

    monkeypatch.setattr(picker, "_refusal", counted)
    for i in range(1000):
        assert picker.pick(routes[i % 2], book.accounts[f"h{i:05d}"]).owner is not None
    indexes = set(picker._route_indexes.values())
    assert len(indexes) == 1  # both routes share one index over the same pool and cap
    (index,) = indexes
    assert refusals == 0
    assert index.probes <= 2 * 1000
