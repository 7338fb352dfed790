"""The `weighted` strategy: a smooth weighted round robin that continues across runs.

Each pick adds every eligible member's weight to their running score, gives the account
to the highest score (ties: earlier in the pool's email order) and takes the eligible
members' total weight off the winner. Over any stretch where the same members are
eligible, each one's count stays within one account of its share (weights 3/2/1 give
a, b, a, c, b, a, ...), and the picks interleave instead of coming in bursts.

The scores are the whole state: the plan's rotation keeps them per route, encoded as
a JSON object (owner id -> score), so the next run goes on where this one stopped.
A state that is missing or unreadable (hand-edited, or left by another strategy) starts
afresh with every score at 0, never an error. A pick is linear in the pool: weighted
pools are named, short lists in practice.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

Score = int | float


def _score(value: object) -> Score | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


def decode(state: str | None, ids: Sequence[str]) -> list[Score]:
    """The scores of `ids` from a stored state: 0 for members it does not name, all 0
    when it is not a readable state."""
    fresh: list[Score] = [0] * len(ids)
    if state is None:
        return fresh
    try:
        stored = json.loads(state)
    except ValueError:
        return fresh
    if not isinstance(stored, dict):
        return fresh
    scores = {key: _score(value) for key, value in stored.items()}
    if any(score is None for score in scores.values()):
        return fresh
    return [scores.get(owner_id) or 0 for owner_id in ids]


class WeightedRotation:
    """One route's pool (in rotation order), their weights and running scores."""

    __slots__ = ("ids", "scores", "total", "weights")

    def __init__(self, ids: Sequence[str], weights: Mapping[str, Score], state: str | None):
        self.ids = tuple(ids)
        self.weights: tuple[Score, ...] = tuple(weights.get(i, 1) for i in self.ids)
        self.total: Score = sum(self.weights)
        self.scores = decode(state, self.ids)

    def peek(self, eligible: Sequence[int]) -> int:
        """The position `pick` would choose, changing no score (a route waiting for an
        away member must leave the rotation as it stands)."""
        scores, weights = self.scores, self.weights
        return max(eligible, key=lambda p: (scores[p] + weights[p], -p))

    def pick(self, eligible: Sequence[int]) -> int:
        """The position that receives the next account, among the eligible positions.
        Members not eligible (away, at capacity) gain nothing: a member back from leave
        finds the score they left with, not a backlog of turns."""
        scores, weights = self.scores, self.weights
        chosen = self.peek(eligible)
        for position in eligible:
            scores[position] += weights[position]
        scores[chosen] -= sum(weights[p] for p in eligible)
        return chosen

    def state(self) -> str:
        """The scores, for the next run (members at 0 are left out: 0 is the default)."""
        kept = {i: s for i, s in zip(self.ids, self.scores, strict=True) if s != 0}
        return json.dumps(kept, sort_keys=True, separators=(",", ":"))
