"""Stable roles (roles.yaml `hysteresis`): move rule thresholds by a margin in favour of
the role an owner already has.

For a previous role P, every rule giving P is loosened and every other rule tightened:
each ordering comparison with a number moves by the margin (`gte 0.80` becomes `gte 0.75`
in a rule giving P, `gte 0.85` in the others). Under `not` the move is reversed, so the
negated rule still gets harder (or easier) to match. The shifted rules are ordinary rule
lists, compiled like the originals: an owner whose shifted first match still gives P
keeps P, and anyone else gets what the unshifted rules say.

The other form, `days`, counts the days the rules have given another role:
`roleSync.rules.hold_days`.
"""

from __future__ import annotations

from collections.abc import Collection

from roleSync.rules.schema import (
    ORDERING_OPS,
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    Hysteresis,
    NotOf,
    Op,
)

# Shifted thresholds are rounded so that 0.80 + 0.05 compares as 0.85, not 0.8500000000000001.
_DIGITS = 10


def shifted(condition: Condition | None, setting: Hysteresis, harder: bool) -> Condition | None:
    """`condition` with each comparison `moves` moved by the margin: harder to match
    (`harder`) or easier."""
    if condition is None:
        return None
    if isinstance(condition, AllOf):
        return AllOf(all=[_part(c, setting, harder) for c in condition.all])
    if isinstance(condition, AnyOf):
        return AnyOf(any=[_part(c, setting, harder) for c in condition.any])
    if isinstance(condition, NotOf):
        return NotOf(not_=_part(condition.not_, setting, not harder))
    return _moved(condition, setting, harder)


def _part(condition: Condition, setting: Hysteresis, harder: bool) -> Condition:
    result = shifted(condition, setting, harder)
    assert result is not None  # only a missing `when` shifts to None
    return result


def moves(cmp: Comparison, metrics: Collection[str] | None) -> bool:
    """Whether hysteresis moves this comparison: an ordering op with a number, on one of
    `metrics` when the setting names them."""
    return (
        cmp.op in ORDERING_OPS
        and isinstance(cmp.value, (int, float))
        and not isinstance(cmp.value, bool)
        and (metrics is None or cmp.metric in metrics)
    )


def _moved(cmp: Comparison, setting: Hysteresis, harder: bool) -> Comparison:
    if not moves(cmp, setting.metrics):
        return cmp
    margin = setting.margin
    assert margin is not None  # shifted rules are compiled only with a margin
    assert isinstance(cmp.value, (int, float))
    # A lower bound (gt, gte) gets harder upwards; an upper bound (lt, lte) downwards.
    up = cmp.op in (Op.GT, Op.GTE)
    value = round(cmp.value + (margin if up == harder else -margin), _DIGITS)
    return cmp.model_copy(update={"value": value})
