"""Compile condition trees into plain Python closures, once per rule file.

Semantics, chosen so that RevOps can predict them:
- a missing value (a metric with nothing to measure, a blank field) matches only
  `ne` and `not_in`: "share >= 0.6" is false for an owner who won nothing;
- text compares case-insensitively and with surrounding blanks ignored, because CRM
  picklists are edited by hand ("EMEA", "emea ");
- ordering ops on a text field holding a number ("500") compare it as a number;
  any other text never orders.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, TypeVar

from roleSync.rules.schema import AllOf, AnyOf, Comparison, Condition, NotOf, Op

Subject = TypeVar("Subject")
Predicate = Callable[[Subject], bool]
Getter = Callable[[Subject], Any]
Resolver = Callable[[Comparison], Getter[Subject]]

_ORDERING: dict[Op, Callable[[Any, Any], bool]] = {
    Op.LT: operator.lt,
    Op.LTE: operator.le,
    Op.GT: operator.gt,
    Op.GTE: operator.ge,
}


def _normal(value: Any) -> Any:
    """Comparable form: text trimmed and case-folded; bools kept apart from numbers."""
    if isinstance(value, str):
        return value.strip().casefold()
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _compile_comparison(cmp: Comparison, get: Getter[Subject]) -> Predicate[Subject]:
    op = cmp.op
    if op in _ORDERING:
        order = _ORDERING[op]
        bound = float(cmp.value)  # type: ignore[arg-type]  # the schema allows numbers only

        def ordered(subject: Subject) -> bool:
            number = _number(get(subject))
            return number is not None and order(number, bound)

        return ordered
    if op in (Op.IN, Op.NOT_IN):
        assert isinstance(cmp.value, list)
        members = frozenset(_normal(v) for v in cmp.value)
        negate = op is Op.NOT_IN

        def member(subject: Subject) -> bool:
            value = get(subject)
            if _is_missing(value):
                return negate
            return (_normal(value) in members) != negate

        return member
    if op is Op.CONTAINS:
        needle = _normal(cmp.value)

        def contains(subject: Subject) -> bool:
            value = get(subject)
            return isinstance(value, str) and needle in _normal(value)

        return contains
    expected = _normal(cmp.value)
    negate = op is Op.NE

    def equals(subject: Subject) -> bool:
        value = get(subject)
        if _is_missing(value):
            return negate
        return bool(_normal(value) == expected) != negate

    return equals


def compile_condition(
    condition: Condition | None, resolve: Resolver[Subject]
) -> Predicate[Subject]:
    """A predicate for `condition`; `resolve` turns each comparison's subject into a getter."""
    if condition is None:
        return lambda _subject: True
    if isinstance(condition, AllOf):
        parts = tuple(compile_condition(c, resolve) for c in condition.all)
        return lambda subject: all(p(subject) for p in parts)
    if isinstance(condition, AnyOf):
        parts = tuple(compile_condition(c, resolve) for c in condition.any)
        return lambda subject: any(p(subject) for p in parts)
    if isinstance(condition, NotOf):
        inner = compile_condition(condition.not_, resolve)
        return lambda subject: not inner(subject)
    return _compile_comparison(condition, resolve(condition))


def comparisons(condition: Condition | None) -> list[Comparison]:
    """Every comparison in a condition tree, in reading order (for explanations)."""
    if condition is None:
        return []
    if isinstance(condition, AllOf):
        return [c for part in condition.all for c in comparisons(part)]
    if isinstance(condition, AnyOf):
        return [c for part in condition.any for c in comparisons(part)]
    if isinstance(condition, NotOf):
        return comparisons(condition.not_)
    return [condition]
