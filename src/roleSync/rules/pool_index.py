"""Indexes over route pools, so `FarmerPicker` picks without looking at every member.

A plan makes one pick per handoff, and the linear way (every member's refusal, then a
scan for the next turn or the lightest book) costs handoffs x pool size: a minute on a
million-account book. A `PoolIndex` keeps, for one pool under one `max_accounts` cap:

- the positions (rotation order) of the members that can take accounts at all: active
  and under `max_accounts`. Membership changes only when a load crosses the cap.
- for least_loaded, a heap per `balance_by` keyed exactly like the linear `min`:
  (load, email, id). Entries are replaced, not updated: a stale one is dropped when it
  reaches the top.
- when some route caps revenue, the available members sorted by managed revenue, so how
  many a `max_revenue` refuses is one binary search (`r + x > cap` is monotone in r).

The refusals left are per account, and each excludes at most one member (the current
owner), so a pick costs O(log pool) Python steps. Two costs stay linear in the pool but
run in C: the memmove of `insort`/`del` on sorted lists (a few microseconds for
thousands of members), and compacting a heap (amortized over the pushes that grew it).

`max_revenue` has one slower path: a member it refuses is skipped one by one when it
comes before the pick (earlier in turn for round_robin; lighter by accounts for
least_loaded by accounts). Counting eligible members stays a binary search, so a pool
with nobody eligible is still answered without a walk.

Loads must be finite: with NaN or infinities the orderings above do not hold, and
`FarmerPicker` falls back to its linear pick.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Sequence
from heapq import heapify, heappop, heappush

from roleSync.model import Owner
from roleSync.rules.schema import BalanceBy

# (load, email, id, position): least_loaded's order, then where the member sits. Ids are
# unique in a pool, so comparisons never reach the position.
_Entry = tuple[float, str, str, int]


class _LoadHeap:
    """Available members in least_loaded order, one live entry per member."""

    __slots__ = ("_heap", "_live")

    def __init__(self, live: list[_Entry | None]) -> None:
        self._live = live
        self._heap = [entry for entry in live if entry is not None]
        heapify(self._heap)

    def set(self, position: int, entry: _Entry | None) -> None:
        """Replace the member's entry (None: not available). The old one goes stale."""
        self._live[position] = entry
        if entry is not None:
            heappush(self._heap, entry)
        if len(self._heap) > 2 * len(self._live) + 16:
            # Stale entries only leave from the top; without this a heap whose top rarely
            # changes would keep every load it has ever seen.
            self._heap = [live for live in self._live if live is not None]
            heapify(self._heap)

    def lowest(self, accepts: Callable[[int], bool]) -> tuple[int | None, int]:
        """The first accepted position in heap order, and how many entries were looked at.

        Rejected entries are popped to reach the next and pushed back afterwards."""
        heap, live = self._heap, self._live
        rejected: list[_Entry] = []
        found: int | None = None
        while heap:
            top = heap[0]
            if top is not live[top[3]]:
                heappop(heap)
            elif accepts(top[3]):
                found = top[3]
                break
            else:
                rejected.append(heappop(heap))
        for entry in rejected:
            heappush(heap, entry)
        return found, len(rejected) + 1


class PoolIndex:
    """One pool, in rotation order, under one `max_accounts` cap (None: uncapped).

    The owner of the loads (`FarmerPicker`) calls `moved` whenever a member's load
    changes; queries then never read the loads themselves."""

    def __init__(
        self,
        members: Sequence[Owner],
        max_accounts: int | None,
        loads: Callable[[str], tuple[int, float]],
    ) -> None:
        self.members = tuple(members)
        self.position = {o.id: i for i, o in enumerate(self.members)}
        self.max_accounts = max_accounts
        self.inactive = sum(1 for o in self.members if not o.active)
        # Members looked at one by one by queries: tests check it stays far below the pool.
        self.probes = 0
        first = [loads(o.id) for o in self.members]
        self._accounts = [a for a, _ in first]
        self._revenue = [r for _, r in first]
        self._available = [self._can_take(i) for i in range(len(self.members))]
        self.available = [i for i, ok in enumerate(self._available) if ok]
        self._by_revenue: list[tuple[float, int]] | None = None
        self._heaps: dict[BalanceBy, _LoadHeap] = {}

    def _can_take(self, position: int) -> bool:
        cap = self.max_accounts
        return self.members[position].active and (cap is None or self._accounts[position] < cap)

    def _entry(self, by: BalanceBy, position: int) -> _Entry:
        o = self.members[position]
        load = self._revenue if by is BalanceBy.REVENUE else self._accounts
        return (load[position], o.email, o.id, position)

    def moved(self, position: int, accounts: int, revenue: float) -> None:
        """A member's loads changed: re-file it everywhere it appears."""
        was = self._available[position]
        if was and self._by_revenue is not None:
            at = bisect_left(self._by_revenue, (self._revenue[position], position))
            del self._by_revenue[at]
        self._accounts[position] = accounts
        self._revenue[position] = revenue
        now = self._available[position] = self._can_take(position)
        if now != was:
            if now:
                insort(self.available, position)
            else:
                del self.available[bisect_left(self.available, position)]
        if now and self._by_revenue is not None:
            insort(self._by_revenue, (revenue, position))
        for by, heap in self._heaps.items():
            heap.set(position, self._entry(by, position) if now else None)

    def query(
        self, current_owner_id: str | None, revenue: float, max_revenue: float | None
    ) -> PoolQuery:
        return PoolQuery(self, current_owner_id, revenue, max_revenue)

    def revenue_over(self, revenue: float, max_revenue: float) -> int:
        """How many available members `max_revenue` refuses an account of `revenue`."""
        if self._by_revenue is None:
            self._by_revenue = sorted((self._revenue[i], i) for i in self.available)
        # Exactly the linear predicate: `r + revenue > cap` is monotone in r for finite
        # floats (rounding is monotone), so the refused members are a suffix.
        first = bisect_left(
            self._by_revenue, True, key=lambda entry: entry[0] + revenue > max_revenue
        )
        return len(self._by_revenue) - first

    def heap(self, by: BalanceBy) -> _LoadHeap:
        heap = self._heaps.get(by)
        if heap is None:
            live: list[_Entry | None] = [None] * len(self.members)
            for i in self.available:
                live[i] = self._entry(by, i)
            heap = self._heaps[by] = _LoadHeap(live)
        return heap


class PoolQuery:
    """One account asked of one index: who may take it, and how many may."""

    __slots__ = (
        "_current",
        "_index",
        "_max_revenue",
        "_over_revenue",
        "_revenue",
        "current_active",
        "eligible",
    )

    def __init__(
        self,
        index: PoolIndex,
        current_owner_id: str | None,
        revenue: float,
        max_revenue: float | None,
    ) -> None:
        self._index = index
        self._revenue = revenue
        self._max_revenue = max_revenue
        at = index.position.get(current_owner_id) if current_owner_id is not None else None
        self._current = -1 if at is None else at
        # The current owner is refused as such before any capacity check.
        self.current_active = at is not None and index.members[at].active
        current_available = at is not None and index._available[at]
        self._over_revenue = 0
        if max_revenue is not None:
            self._over_revenue = index.revenue_over(revenue, max_revenue) - (
                current_available and index._revenue[self._current] + revenue > max_revenue
            )
        self.eligible = len(index.available) - current_available - self._over_revenue

    def refusals(self) -> tuple[int, int, int, int]:
        """How many members are refused as: inactive, current owner, at the accounts cap,
        at the revenue cap (each member counted once, under its first refusal)."""
        index = self._index
        active = len(index.members) - index.inactive
        at_accounts = active - len(index.available)
        if self.current_active and not index._available[self._current]:
            at_accounts -= 1
        return index.inactive, int(self.current_active), at_accounts, self._over_revenue

    def _accepts(self, position: int) -> bool:
        """May this available member take the account?"""
        if position == self._current:
            return False
        cap = self._max_revenue
        return cap is None or not self._index._revenue[position] + self._revenue > cap

    def next_in_turn(self, start: int) -> int:
        """The first eligible position at or after `start`, going round the pool."""
        available = self._index.available
        first = bisect_left(available, start)
        count = len(available)
        for step in range(count):
            position = available[(first + step) % count]
            if self._accepts(position):
                self._index.probes += step + 1
                return position
        raise AssertionError("next_in_turn needs an eligible member")

    def lowest(self, by: BalanceBy) -> int:
        """The eligible position least_loaded picks: lowest (load, email, id)."""
        position, looked_at = self._index.heap(by).lowest(self._accepts)
        self._index.probes += looked_at
        if position is None:
            raise AssertionError("lowest needs an eligible member")
        return position
